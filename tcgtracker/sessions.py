"""Sessions in the database, kept as django.contrib.sessions.backends.db keeps them (the
same table and encoding: switching to this engine signs nobody out).

Every signed-in request reads its session: that lookup is compiled once per process
(tcgtracker.lib.sql.CompiledQuery) rather than built by the ORM on each request.

A cookie's key is looked up only if it could be one this store made: lowercase letters
and digits (Django's session keys). Anything else (a NUL byte, which PostgreSQL refuses in a
text parameter, would have been a server error on every page) is no session.
"""

import datetime as dt

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.models import Session
from django.utils import timezone

from tcgtracker.lib.sql import CompiledQuery

_CURRENT_SESSION = CompiledQuery(
    lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now),
    key=str,
    now=dt.datetime,
)


_KEY_CHARS = frozenset(VALID_KEY_CHARS)


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
