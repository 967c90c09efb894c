"""Reads from a read replica (DATABASE_REPLICA_URL) where a little lag cannot hurt.

The replica_reads middleware marks a request as read-only when it is a GET or HEAD outside
the admin, staff and account pages. While answering such a request, ReplicaRouter sends the
reads of the catalog and its prices (the `cards` and `prices` apps: written by jobs and
staff, never by the visitor) to the replica. Everything else reads the primary:

- sessions, users, API keys, alerts and collections, which the visitor has just written
  and must see at once (a login, then the redirect's GET);
- any read inside a transaction, and a request's reads of an app after it wrote to that
  app (the card page counts its view on the card, then reads cards from the primary,
  prices still from the replica);
- jobs, management commands and the task worker, which run outside a request.

Writes always go to the primary. Without DATABASE_REPLICA_URL no router is installed and
the middleware's mark is never looked at.
"""

from contextvars import ContextVar

from django.db import connections

REPLICA = "replica"
PRIMARY = "default"
REPLICA_APPS = frozenset({"cards", "prices"})
# Pages that read what their visitor (often staff) has just written.
PRIMARY_PATHS = ("/admin/", "/staff/", "/accounts/")
SAFE_METHODS = frozenset({"GET", "HEAD"})

# Per request (and thread): may reads use the replica; the apps the request has written to.
_read_only = ContextVar("replica_read_only", default=False)
_wrote = ContextVar("replica_wrote", default=frozenset())


def replica_reads(get_response):
    def middleware(request):
        allowed = request.method in SAFE_METHODS and not request.path.startswith(PRIMARY_PATHS)
        read_only, wrote = _read_only.set(allowed), _wrote.set(frozenset())
        try:
            return get_response(request)
        finally:
            _read_only.reset(read_only)
            _wrote.reset(wrote)

    return middleware


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        app = model._meta.app_label
        if (
            _read_only.get()
            and app in REPLICA_APPS
            and app not in _wrote.get()
            and not connections[PRIMARY].in_atomic_block
        ):
            return REPLICA
        return PRIMARY

    def db_for_write(self, model, **hints):
        if _read_only.get():
            _wrote.set(_wrote.get() | {model._meta.app_label})
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return {obj1._state.db, obj2._state.db} <= {PRIMARY, REPLICA}

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # The replica follows the primary's schema by replication.
        return db == PRIMARY
