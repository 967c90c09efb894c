"""Querysets of a fixed shape, compiled to SQL once per database.

Turning a queryset into SQL walks its whole expression tree: for a grouped query of a
dozen columns that is most of a millisecond, paid again on every request although only
the values change (a card's id, a moment). A CompiledQuery builds the queryset once per
database with stand-in values, keeps the SQL, and notes which of its parameters are
which stand-in; each call then only binds the request's values in their place.
"""

import datetime as dt
from collections.abc import Callable

from django.db import connections


class CompiledQuery:
    """`build(**values)` returns the queryset (or Query) for some values; it is called once per
    database with `stand_ins`, values no request ever sends, each of which must come out
    as a parameter of the SQL as it is (a datetime as the database's adapter writes it).
    The shape must not depend on the values: a different shape is a second
    CompiledQuery."""

    def __init__(self, build: Callable, **stand_ins):
        self.build = build
        self.stand_ins = stand_ins
        self._compiled: dict[str, tuple[str, list, dict]] = {}

    def sql(self, db: str, **values) -> tuple[str, list]:
        """The SQL and its parameters for these values, on the database `db`."""
        sql, slots, _ = self._compiled_for(db)
        adapt = connections[db].ops.adapt_datetimefield_value
        params = []
        for name, constant in slots:
            if name is None:
                params.append(constant)
            else:
                value = values[name]
                params.append(adapt(value) if isinstance(value, dt.datetime) else value)
        return sql, params

    def rows(self, db: str, **values) -> list:
        """The rows for these values, each value as the queryset would have read it: the
        database's and the fields' converters applied (a datetime from SQLite's text,
        say). Tuples where no column needs converting, else lists."""
        _, _, converters = self._compiled_for(db)
        connection = connections[db]
        with connection.cursor() as cursor:
            cursor.execute(*self.sql(db, **values))
            rows = cursor.fetchall()
        if converters:
            rows = [list(row) for row in rows]
            for position, (functions, expression) in converters.items():
                for row in rows:
                    value = row[position]
                    for function in functions:
                        value = function(value, expression, connection)
                    row[position] = value
        return rows

    def _compiled_for(self, db: str) -> tuple[str, list, dict]:
        compiled = self._compiled.get(db)
        if compiled is None:
            compiled = self._compiled[db] = self._compile(db)
        return compiled

    def _compile(self, db: str) -> tuple[str, list, dict]:
        built = self.build(**self.stand_ins)
        query = getattr(built, "query", built)  # a queryset, or a Query (query.exists())
        compiler = query.get_compiler(using=db)
        sql, params = compiler.as_sql()
        # As the compiler finds them for its own rows: the same for every connection to
        # the database.
        converters = compiler.get_converters(
            [column for column, *_ in compiler.select[: compiler.col_count]]
        )
        adapt = connections[db].ops.adapt_datetimefield_value
        written = {
            name: adapt(value) if isinstance(value, dt.datetime) else value
            for name, value in self.stand_ins.items()
        }
        slots = []
        for param in params:
            name = next(
                (
                    name
                    for name, value in written.items()
                    if type(param) is type(value) and param == value
                ),
                None,
            )
            slots.append((name, None if name else param))
        missing = set(written) - {name for name, _ in slots}
        if missing:
            raise ValueError(f"stand-ins missing from the SQL: {', '.join(sorted(missing))}")
        return sql, slots, converters
