"""Sessions in the database, kept as django.contrib.sessions.backends.db keeps them (the
same table and encoding: switching to this engine signs nobody out).

Every signed-in request reads its session: that lookup is compiled once per process
(tcgtracker.lib.sql.CompiledQuery) rather than built by the ORM on each request.
"""

import datetime as dt

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from tcgtracker.lib.sql import CompiledQuery

_CURRENT_SESSION = CompiledQuery(
    lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now),
    key=str,
    now=dt.datetime,
)


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        """The session of this key unless it expired, as the database backend finds it;
        None (and no key) otherwise."""
        found = _CURRENT_SESSION.objects(key=self.session_key, now=timezone.now())
        if found:
            return found[0]
        self._session_key = None
        return None
