"""The cache every process of the install shares: Redis (REDIS_URL), or without it a
table in the database (DatabaseCache below).

While Redis cannot be reached, FailOpenRedisCache behaves like an empty cache that forgets
what it is given: reads miss, writes are dropped, `add` reports success (so whatever uses
it as a short lock — allauth's rate limiter, the card-view dedupe — goes ahead instead of
waiting for a lock nobody can take) and `incr` counts as if the counter had just been
created. Pages render from the database, rate limits let requests through, and nothing
raises. One warning is logged when the outage starts and one line when Redis answers
again; in between, calls do not even try for RETRY_SECONDS at a time, so a page does not
wait out a connect timeout on every cache call. Recovery needs nothing: the next try
after Redis is back succeeds.

What the cache cannot do meanwhile is share: rate budgets of price sources, circuit
breakers, allauth's login limits and the API limit stop counting across processes until
Redis is back. (django-q2's Redis broker is down with it, so workers take no tasks.)
"""

import base64
import logging
import pickle
import threading
import time

from django.core.cache.backends import db
from django.db import connections, models, router, transaction
from django.utils.timezone import now as tz_now
from django_redis.cache import RedisCache
from django_redis.exceptions import ConnectionInterrupted

logger = logging.getLogger(__name__)

RETRY_SECONDS = 5.0


class Outage:
    """Whether one Redis is unreachable, as this process last found it."""

    def __init__(self):
        self._lock = threading.Lock()
        self.since: float | None = None  # time.time() when it started
        self.error = ""  # the exception's type and message, for staff only
        self._retry_at = 0.0

    @property
    def active(self) -> bool:
        return self.since is not None

    def should_skip(self) -> bool:
        return self.since is not None and time.monotonic() < self._retry_at

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            self._retry_at = time.monotonic() + RETRY_SECONDS
            self.error = f"{type(exc).__name__}: {exc}"[:300]
            if self.since is not None:
                return
            self.since = time.time()
        logger.warning(
            "The cache (Redis) is unreachable (%s): serving without it until it answers",
            type(exc).__name__,
        )

    def recovered(self) -> None:
        with self._lock:
            if self.since is None:
                return
            lasted = time.time() - self.since
            self.since, self.error = None, ""
        logger.warning("The cache (Redis) answers again after %.0f s", lasted)


# One per Redis location and process: Django builds a cache backend per thread.
_outages: dict[str, Outage] = {}
_outages_lock = threading.Lock()


def outage_for(location: str) -> Outage:
    with _outages_lock:
        return _outages.setdefault(location, Outage())


class FailOpenRedisCache(RedisCache):
    """django-redis's cache, failing open while Redis is unreachable (see the module)."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self.outage = outage_for(str(server))

    def _or(self, fallback, method, *args, **kwargs):
        if self.outage.should_skip():
            return fallback
        try:
            result = method(*args, **kwargs)
        except ConnectionInterrupted as exc:
            self.outage.failed(exc.__cause__ or exc)
            return fallback
        if self.outage.active:
            self.outage.recovered()
        return result

    def get(self, key, default=None, version=None, client=None):
        return self._or(
            default, self.client.get, key, default=default, version=version, client=client
        )

    def get_many(self, *args, **kwargs):
        return self._or({}, self.client.get_many, *args, **kwargs)

    def has_key(self, *args, **kwargs):
        return self._or(False, self.client.has_key, *args, **kwargs)

    def set(self, *args, **kwargs):
        return self._or(False, self.client.set, *args, **kwargs)

    def set_many(self, data, *args, **kwargs):
        return self._or(list(data), self.client.set_many, data, *args, **kwargs)

    def add(self, *args, **kwargs):
        return self._or(True, self.client.add, *args, **kwargs)

    def touch(self, *args, **kwargs):
        return self._or(False, self.client.touch, *args, **kwargs)

    def incr(self, key, delta=1, version=None, client=None, ignore_key_check=False):
        return self._or(
            delta,
            self.client.incr,
            key,
            delta=delta,
            version=version,
            client=client,
            ignore_key_check=ignore_key_check,
        )

    def decr(self, key, delta=1, version=None, client=None):
        return self._or(-delta, self.client.decr, key, delta=delta, version=version, client=client)

    def delete(self, *args, **kwargs):
        return bool(self._or(False, self.client.delete, *args, **kwargs))

    def delete_many(self, *args, **kwargs):
        return self._or(0, self.client.delete_many, *args, **kwargs)

    def delete_pattern(self, *args, **kwargs):
        kwargs.setdefault("itersize", self._default_scan_itersize)
        return self._or(0, self.client.delete_pattern, *args, **kwargs)

    def clear(self):
        """Delete this install's keys (its KEY_PREFIX) only: django-redis would FLUSHDB,
        taking with it whatever else shares the Redis database (another install, a task
        broker, another test process)."""
        self.delete_pattern("*")


class DatabaseCache(db.DatabaseCache):
    """Django's database cache, the zero-configuration cache shared by every process, with
    an `incr` fit for rate limits and counters.

    Django's generic `incr` reads the value and writes it back with the default timeout:
    two processes counting at once count once, and a counter meant to last an hour (an
    API window) or for ever (a metrics counter) is gone five minutes after its last hit.
    This one locks the row while it counts (FOR UPDATE; on SQLite the transaction holds the
    database's write lock from its start) and leaves the expiry alone.
    """

    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        alias = router.db_for_write(self.cache_model_class)
        connection = connections[alias]
        quote = connection.ops.quote_name
        table, value_column, key_column = quote(self._table), quote("value"), quote("cache_key")
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {value_column}, {quote('expires')} FROM {table} "
                f"WHERE {key_column} = %s{lock}",
                [key],
            )
            row = cursor.fetchone()
            if row is None or self._expired(connection, row[1]):
                raise ValueError(f"Key '{key}' not found")
            stored = connection.ops.process_clob(row[0])
            value = pickle.loads(base64.b64decode(stored.encode())) + delta
            encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            cursor.execute(
                f"UPDATE {table} SET {value_column} = %s WHERE {key_column} = %s", [encoded, key]
            )
        return value

    @staticmethod
    def _expired(connection, expires) -> bool:
        expression = models.Expression(output_field=models.DateTimeField())
        converters = connection.ops.get_db_converters(expression)
        for converter in converters + expression.get_db_converters(connection):
            expires = converter(expires, expression, connection)
        return expires < tz_now()
