"""Query plumbing shared by the apps."""

import datetime as dt
import functools

from django.db import connection, connections
from django.db.models.expressions import RawSQL
from django.db.models.query import get_related_populators
from django.utils import timezone


def ids_in(ids: list[int]):
    """The right-hand side of an `__in` lookup on many ids. On PostgreSQL one array
    parameter: thousands of placeholders cost more to build, send and parse than the
    query takes to run."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (list(ids),))
    return list(ids)


def texts_in(texts: list[str]):
    """ids_in() for a lookup on many strings."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::text[])", (list(texts),))
    return list(texts)


# Stand-ins for a compiled query's parameters: in range of every integer field (a value
# out of a field's range compiles to no query at all), and unlike any real string.
_INT_STAND_IN = 2_147_480_000
_STR_STAND_IN = "\ue000compiled-query-parameter-{}\ue000"
_DATETIME_STAND_IN = dt.datetime(2999, 12, 31, 23, 59, 58, 123000, tzinfo=dt.UTC)


class CompiledQuery:
    """A queryset of fixed shape whose SQL is built once per process and database, then
    run with new parameter values.

    Turning a queryset into SQL (Django's compiler: joins, columns, quoting, converters)
    costs more than PostgreSQL takes to answer a lookup by primary key; a page that runs
    the same few lookups on every request pays it again each time. `build` writes the
    queryset once, taking each parameter as a keyword (`params` names them and their type:
    int, str, datetime compared with a DateTimeField, or list: integers the query sends as
    one array parameter, as ids_in() does on PostgreSQL); it is called with stand-in
    values, compiled, and each run puts the real values where the stand-ins were. A
    stand-in that does not come out as one SQL parameter (a LIKE pattern, a slice, a list
    written as one placeholder per item) is refused when the query is compiled. A slice
    is written at each run instead (fetch_slice()).

    Runs return what the queryset would: model instances (with select_related objects and
    annotations), or the rows of values_list(). Each run reads the database the queryset
    would (routers included) through a debug-aware cursor, so query-count tests count it.
    """

    def __init__(self, build, **params: type):
        if not params or any(kind not in _KINDS for kind in params.values()):
            raise TypeError("CompiledQuery parameters are int, str, datetime or list.")
        self._build = build
        self._params = params
        self._queryset = None
        self._compiled: dict[str, _Compiled] = {}

    @property
    def params(self) -> tuple[str, ...]:
        """The names of the values each run takes."""
        return tuple(self._params)

    def objects(self, **values) -> list:
        """What iterating the queryset would give, for these parameter values."""
        values = self._checked(values)
        if not _bindable(values):
            return list(self._build(**values))
        compiled, db = self._prepare()
        return compiled.objects(self._execute(compiled, db, values))

    def fetch(self, **values) -> list:
        """The rows as the database driver hands them over, no converter applied: for a
        caller reading many rows whose driver values serve as they are (integers, a
        float, a date — SQLite's as text), where a converter per row and column would be
        most of the time."""
        values = self._checked(values)
        if not _bindable(values):
            return list(self._build(**values))
        compiled, db = self._prepare()
        return self._execute(compiled, db, values)

    def fetch_slice(self, start: int, stop: int, /, **values) -> list:
        """fetch() of queryset[start:stop]. Django writes a slice's LIMIT and OFFSET into
        the SQL as numbers, not parameters: they are written after the compiled SQL at
        each run, as the queryset writes them, so that one compiled query serves every
        page of a list."""
        start, stop = int(start), int(stop)
        if start < 0 or stop < 0:
            raise ValueError("A slice of a compiled query starts and stops at 0 or after.")
        values = self._checked(values)
        if not _bindable(values):
            return list(self._build(**values)[start:stop])
        if stop <= start:
            return []  # as the queryset: an empty slice asks nothing
        compiled, db = self._prepare()
        if compiled.sliced:
            raise ValueError("A sliced queryset cannot be sliced again at each run.")
        limits = connections[db].ops.limit_offset_sql(start, stop)
        return self._execute(compiled, db, values, f"{compiled.sql} {limits}")

    def exists(self, **values) -> bool:
        """Whether the queryset finds anything, as queryset.exists() asks it."""
        values = self._checked(values)
        if not _bindable(values):
            return self._build(**values).exists()
        compiled, db = self._prepare(exists=True)
        return bool(self._execute(compiled, db, values))

    def _checked(self, values: dict) -> dict:
        if values.keys() != self._params.keys():
            raise TypeError(f"Expected the parameters {sorted(self._params)}.")
        checked = {}
        for name, value in values.items():
            kind = self._params[name]
            if kind is dt.datetime:
                if not isinstance(value, dt.datetime) or timezone.is_naive(value):
                    raise TypeError(f"{name!r} must be an aware datetime.")
                checked[name] = value
            elif kind is list:
                checked[name] = [int(item) for item in value]
            else:
                checked[name] = kind(value)
        return checked

    def _prepare(self, exists: bool = False):
        if self._queryset is None:
            self._queryset = self._build(**self._stand_ins())
        db = self._queryset.db
        key = f"{db}:exists" if exists else db
        compiled = self._compiled.get(key)
        if compiled is None:
            query = self._queryset.query
            if exists:
                query = query.exists()
            compiled = _Compiled(query.get_compiler(using=db), db, self._stand_ins())
            self._compiled[key] = compiled
        return compiled, db

    def _stand_ins(self) -> dict:
        stand_ins = {}
        for index, (name, kind) in enumerate(self._params.items()):
            if kind is int:
                stand_ins[name] = _INT_STAND_IN + index
            elif kind is str:
                stand_ins[name] = _STR_STAND_IN.format(index)
            elif kind is list:
                stand_ins[name] = [_INT_STAND_IN + index]
            else:
                stand_ins[name] = _DATETIME_STAND_IN + dt.timedelta(microseconds=index)
        return stand_ins

    def _execute(self, compiled, db: str, values: dict, sql: str | None = None) -> list:
        params = list(compiled.params)
        ops = connections[db].ops
        for name, position in compiled.positions.items():
            value = values[name]
            # As a DateTimeField sends it (SQLite: text in the database's time zone).
            params[position] = (
                ops.adapt_datetimefield_value(value) if isinstance(value, dt.datetime) else value
            )
        with connections[db].cursor() as cursor:
            cursor.execute(compiled.sql if sql is None else sql, params)
            return cursor.fetchall()


def _bindable(values: dict) -> bool:
    """Whether every value can be sent as it is. An integer no column can hold (an address
    like /cards/99999999999999999999/) goes through the ORM, which answers it without
    sending it (an exact match finds nothing, an exclusion excludes nothing)."""
    return all(
        _BIGINT_MIN <= value <= _BIGINT_MAX
        if isinstance(value, int)
        else not isinstance(value, list)
        or all(_BIGINT_MIN <= item <= _BIGINT_MAX for item in value)
        for value in values.values()
    )


_BIGINT_MIN, _BIGINT_MAX = -(2**63), 2**63 - 1
_KINDS = (int, str, dt.datetime, list)


class _Compiled:
    """One database's SQL of a CompiledQuery, and how its rows become objects."""

    def __init__(self, compiler, db: str, stand_ins: dict):
        self.db = db
        self.sql, params = compiler.as_sql()
        self.params = tuple(params)
        self.sliced = compiler.query.is_sliced
        self.positions = {}
        for name, stand_in in stand_ins.items():
            if isinstance(stand_in, dt.datetime):
                stand_in = connections[db].ops.adapt_datetimefield_value(stand_in)
            found = [i for i, param in enumerate(self.params) if param == stand_in]
            if len(found) != 1:
                raise ValueError(
                    f"The parameter {name!r} is not one SQL parameter of the query "
                    f"(found {len(found)} times): it cannot be compiled once."
                )
            self.positions[name] = found[0]
        fields = [column[0] for column in compiler.select[: compiler.col_count]]
        self.converters = list(compiler.get_converters(fields).items())
        # Model instances are built as Django's ModelIterable builds them; values_list()
        # and exists() queries have no model and give their rows.
        self.model = None
        if compiler.klass_info is not None and not compiler.query.values_select:
            klass_info, select = compiler.klass_info, compiler.select
            self.model = klass_info["model"]
            start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
            self.model_columns = slice(start, end)
            self.init_list = [column[0].target.attname for column in select[start:end]]
            self.populators = get_related_populators(klass_info, select, db)
            self.annotations = list((compiler.annotation_col_map or {}).items())

    def objects(self, rows: list) -> list:
        if self.converters:
            rows = self._converted(rows, connections[self.db])
        if self.model is None:
            return [tuple(row) for row in rows]
        objects = []
        for row in rows:
            obj = self.model.from_db(self.db, self.init_list, row[self.model_columns])
            for populator in self.populators:
                populator.populate(row, obj)
            for name, position in self.annotations:
                setattr(obj, name, row[position])
            objects.append(obj)
        return objects

    def _converted(self, rows: list, connection) -> list:
        converted = []
        for row in rows:
            row = list(row)
            for position, (converters, expression) in self.converters:
                value = row[position]
                for converter in converters:
                    value = converter(value, expression, connection)
                row[position] = value
            converted.append(row)
        return converted


# --- Timestamps read by psycopg's C loader ------------------------------------------


@functools.cache
def _utc_timestamp_loader():
    """Django's loader of `timestamptz` values for a UTC connection, reading each value
    with psycopg's C loader when it is there; None when there is none to use (psycopg 2,
    or psycopg 3 without its C implementation).

    Django registers a loader of its own on every connection: psycopg's pure-Python one,
    which parses each value's text, followed by a change of its time zone. That is about
    3 µs a value, a sixth of a card page's Python. On a connection whose session time
    zone is UTC, psycopg's C loader gives the very same aware datetime, ten times faster.
    Django's cursors check the `timezone` of the loader registered, so the loader stays
    Django's class with the C loader's `load` in place of its own.
    """
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader, is_psycopg3

    if not is_psycopg3:
        return None
    import psycopg
    from psycopg.types.datetime import TimestamptzLoader as PythonLoader

    c_loader = psycopg.adapters.get_loader(
        psycopg.adapters.types["timestamptz"].oid, psycopg.pq.Format.TEXT
    )
    if issubclass(c_loader, PythonLoader):  # psycopg without its C implementation
        return None

    class UtcTimestampLoader(BaseTzLoader):
        timezone = dt.UTC

        def __init__(self, oid, context=None):
            super().__init__(oid, context)
            # Django sets each connection's session to its own time zone; should it be
            # set to another since, the values are read as Django reads them.
            if self.connection is not None and self.connection.info.timezone is dt.UTC:
                self.load = c_loader(oid, context).load

    return UtcTimestampLoader


def read_timestamps_in_c(sender, connection, **kwargs) -> None:
    """connection_created receiver: a PostgreSQL connection working in UTC (the project's
    settings) reads timestamps with psycopg's C loader (_utc_timestamp_loader)."""
    if connection.vendor != "postgresql" or connection.timezone is not dt.UTC:
        return
    loader = _utc_timestamp_loader()
    if loader is None:
        return
    from psycopg.pq import Format

    adapters = connection.connection.adapters  # a pooled connection may have it already
    if adapters.get_loader(adapters.types["timestamptz"].oid, Format.TEXT) is not loader:
        adapters.register_loader("timestamptz", loader)
