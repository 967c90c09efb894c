"""Sessions in the database, kept as django.contrib.sessions.backends.db keeps them (the
same table and encoding: switching to this engine signs nobody out).

Every signed-in request reads its session: that lookup is compiled once per process
(tcgtracker.lib.sql.CompiledQuery) rather than built by the ORM on each request, and the
session's data, signed text, is verified and decoded once per process while it stays
the same (a signed-in visitor's, request after request): the signature check and the
decoding were a fortieth of a signed-in card page's time. What is kept is the verified
data serialized again, and each load deserializes its own values from it, so that
nothing a request does to its session reaches what is kept; a change of settings (a
secret key, in tests) forgets it all.

A cookie's key is looked up only if it could be one this store made: lowercase letters
and digits (Django's session keys). Anything else (a NUL byte, which PostgreSQL refuses in a
text parameter, would have been a server error on every page) is no session.
"""

import datetime as dt

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.models import Session
from django.core.signals import setting_changed
from django.utils import timezone

from tcgtracker.lib.sql import CompiledQuery

_CURRENT_SESSION = CompiledQuery(
    lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now),
    key=str,
    now=dt.datetime,
)


_KEY_CHARS = frozenset(VALID_KEY_CHARS)

# Signed session data -> its values, verified and serialized (see the module docstring).
_decoded: dict[str, bytes] = {}
DECODED_KEPT = 2000


class SessionStore(db.SessionStore):
    def _validate_session_key(self, key):
        return bool(super()._validate_session_key(key)) and _KEY_CHARS.issuperset(key)

    def _get_session_from_db(self):
        """The session of this key unless it expired, as the database backend finds it;
        None (and no key) otherwise."""
        found = _CURRENT_SESSION.objects(key=self.session_key, now=timezone.now())
        if found:
            return found[0]
        self._session_key = None
        return None

    def decode(self, session_data):
        found = _decoded.get(session_data)
        if found is not None:
            return self.serializer().loads(found)
        values = super().decode(session_data)
        # Data that does not verify decodes as no values, and is checked again next time.
        if values:
            if len(_decoded) >= DECODED_KEPT:
                _decoded.clear()
            _decoded[session_data] = self.serializer().dumps(values)
        return values


def forget_decoded(**kwargs) -> None:
    _decoded.clear()


setting_changed.connect(forget_decoded)
