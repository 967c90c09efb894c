"""Query plumbing shared by the apps."""

from django.db import connection
from django.db.models.expressions import RawSQL


def ids_in(ids: list[int]):
    """The right-hand side of an `__in` lookup on many ids. On PostgreSQL one array
    parameter: thousands of placeholders cost more to build, send and parse than the
    query takes to run."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (list(ids),))
    return list(ids)
