"""Real processes for the tests that are about processes: a private redis-server, an empty
database of the kind the suite runs on, and manage.py / gunicorn / qcluster as an
operator runs them (production settings, configuration only through the environment).

Nothing here touches the shared Redis or the suite's own test database: each test that
needs a service starts its own and stops only that.
"""

import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SECRET_KEY = "ops-test-secret-key-" + "y" * 40


def require(what: str, present: bool) -> None:
    """Skip a test whose tool is missing; in CI a missing tool is a failure."""
    if not present:
        message = f"{what} is not available"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, *, timeout: float = 30.0, interval: float = 0.1, what: str = "it"):
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(interval)


class RedisServer:
    """redis-server on its own loopback port, with no persistence."""

    def __init__(self):
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        binary = shutil.which("redis-server")
        require("redis-server", binary is not None)
        self.process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
            + ["--appendonly", "no", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.answers, timeout=10, what="redis-server to answer")
        return self

    def answers(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


class ScratchDatabase:
    """An empty database of the suite's kind: a SQLite file, or a new PostgreSQL database
    on the suite's server (dropped afterwards)."""

    def __init__(self, directory: Path, label: str):
        config = settings.DATABASES["default"]
        self.vendor = "postgresql" if "postgresql" in config["ENGINE"] else "sqlite"
        if self.vendor == "sqlite":
            self.path = directory / f"{label}.sqlite3"
            self.url = f"sqlite:///{self.path}"
        else:
            # The suite's own database name is test_<name>; ours sits beside it.
            self.name = f"ops_{label}_{uuid.uuid4().hex[:8]}"
            self.server = {
                "host": config.get("HOST") or "127.0.0.1",
                "port": config.get("PORT") or 5432,
                "user": config.get("USER") or "postgres",
                "password": config.get("PASSWORD") or None,
            }
            credentials = self.server["user"]
            if self.server["password"]:
                credentials += f":{self.server['password']}"
            self.url = (
                f"postgres://{credentials}@{self.server['host']}:{self.server['port']}/{self.name}"
            )

    def _admin(self):
        import psycopg

        return psycopg.connect(dbname="postgres", autocommit=True, **self.server)

    def create(self) -> "ScratchDatabase":
        if self.vendor == "postgresql":
            with self._admin() as admin:
                admin.execute(f'CREATE DATABASE "{self.name}"')
        return self

    def drop(self) -> None:
        if self.vendor == "postgresql":
            with self._admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Rows of one statement (SQL with %s placeholders), committed at once."""
        if self.vendor == "sqlite":
            with contextlib.closing(sqlite3.connect(self.path, timeout=20)) as db, db:
                return db.execute(sql.replace("%s", "?"), params).fetchall()
        import psycopg

        with psycopg.connect(dbname=self.name, autocommit=True, **self.server) as db:
            cursor = db.execute(sql, params)
            return cursor.fetchall() if cursor.description else []


def production_env(database_url: str, **overrides) -> dict[str, str]:
    """The environment of a production process: settings from tcgtracker.settings, DEBUG
    off, configured only by variables (the suite's own test settings left out)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PYTEST_", "REDIS_URL", "DATABASE_URL"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="tcgtracker.settings",
        SECRET_KEY=SECRET_KEY,
        DEBUG="false",
        DATABASE_URL=database_url,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        PYTHONUNBUFFERED="1",
    )
    env.update({key: str(value) for key, value in overrides.items()})
    return env


def manage(*args: str, env: dict, timeout: float = 120, check: bool = True):
    """Run `python manage.py ARGS` to completion; its CompletedProcess (text output)."""
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"manage.py {' '.join(args)} exited {result.returncode}:\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def spawn(command: list[str], *, env: dict, log: Path) -> subprocess.Popen:
    """A long-running process in its own process group, its output in `log`."""
    handle = log.open("ab")
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(
    process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20, group=True
) -> int:
    """Signal a spawned process (with its whole group, or the leader alone) and wait for
    it; the group gets SIGKILL if it has not ended within `timeout` seconds.

    (django-q2's qcluster hangs when its whole group gets SIGTERM: its sentinel dies with
    its workers and the cluster waits for it. Stop it through the leader.)"""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(process.pid, sig)
            else:
                process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout)
    return process.returncode
