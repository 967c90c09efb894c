"""Strict helpers for reading settings from environment variables.

A typo in a production setting should stop the process with a clear message, not
silently fall back to a default.
"""

import os

from django.core.exceptions import ImproperlyConfigured

TRUE_VALUES = {"true", "on"}
FALSE_VALUES = {"false", "off"}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use one of true, false, on, off.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None


def env_choice(name: str, choices: list[str], default: str) -> str:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={raw!r} is not one of {', '.join(choices)}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


# Every SQLite database is shared by the web process and the task worker. WAL lets one
# read while the other writes; IMMEDIATE transactions take the write lock when they
# begin, so two writers queue (up to `timeout` seconds) instead of deadlocking when both
# read first and then want to write.
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}


def database_config(url: str, base_dir, pool_max: int = 0, name: str = "DATABASE_URL") -> dict:
    """DATABASES["default"] from DATABASE_URL; unset means a SQLite file in the project.

    On PostgreSQL, pool_max > 0 gives each process a pool of up to that many connections
    (psycopg's pool through Django's "pool" option), checked before each use; 0 keeps
    Django's own persistent connection per thread instead."""
    import dj_database_url

    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": base_dir / "db.sqlite3",
            "OPTIONS": dict(SQLITE_OPTIONS),
        }
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not a database URL: {exc}") from None
    if not config.get("ENGINE"):
        raise ImproperlyConfigured(f"{name} has an unknown scheme.")
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {**SQLITE_OPTIONS, **config.get("OPTIONS", {})}
    if pool_max < 0:
        raise ImproperlyConfigured("DATABASE_POOL_MAX must be 0 (no pool) or more.")
    if pool_max and config["ENGINE"] == "django.db.backends.postgresql":
        # A pooled connection goes back to the pool after each request: Django refuses
        # persistent connections alongside a pool. With CONN_HEALTH_CHECKS the pool checks
        # a connection before handing it out, so one the server dropped (a restart, a
        # failover) is replaced rather than failing a request.
        config["CONN_MAX_AGE"] = 0
        config["CONN_HEALTH_CHECKS"] = True
        config["OPTIONS"] = {
            **config.get("OPTIONS", {}),
            "pool": {
                "min_size": 1,
                "max_size": pool_max,
                # A request waits this long for a free connection, then fails.
                "timeout": 10,
                "max_idle": 300,
            },
        }
    return config


def check_redis_url(url: str) -> str:
    if url and not url.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured("REDIS_URL must start with redis://, rediss:// or unix://.")
    return url


def with_redis_timeouts(url: str, connect: float = 2, read: float = 5) -> str:
    """A Redis URL that gives up on an unreachable server instead of hanging (redis-py
    reads these from the query string); timeouts already in the URL are kept."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("socket_connect_timeout", str(connect))
    query.setdefault("socket_timeout", str(read))
    return urlunsplit(parts._replace(query=urlencode(query)))
