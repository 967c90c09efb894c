import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from tcgtracker.lib.env import (
    check_redis_url,
    database_config,
    env_bool,
    env_int,
    env_list,
    with_redis_timeouts,
)

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "k3y-for-the-deploy-check-" + "abcdefghijklmnopqrstuvwxyz0123456789",
    "ALLOWED_HOSTS": "cards.example.com",
}


def run_manage(*args, env):
    """manage.py in a fresh process with only the given configuration.

    The test process's own environment is not passed on: tests/settings.py and the
    browser tests relax settings that a deployment must not have.
    """
    base = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_debug_off_with_the_development_secret_key_refuses_to_start():
    result = run_manage("check", env={"DEBUG": "false"})
    assert result.returncode != 0
    assert "SECRET_KEY is the development key" in result.stderr


def test_migrations_can_be_checked_without_configuration():
    result = run_manage("makemigrations", "--check", "--dry-run", env={})
    assert result.returncode == 0, result.stderr


def test_development_mode_starts_without_configuration():
    result = run_manage("check", env={"DEBUG": "true"})
    assert result.returncode == 0, result.stderr


def test_deploy_check_passes_with_production_environment():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_boolean_typo_is_an_error_not_a_default(monkeypatch):
    monkeypatch.setenv("DEBUG", "yes")
    with pytest.raises(ImproperlyConfigured, match="DEBUG='yes' is not a boolean"):
        env_bool("DEBUG", False)


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("On", True), ("false", False), ("OFF", False)]
)
def test_booleans_accept_true_false_on_off(monkeypatch, raw, expected):
    monkeypatch.setenv("SOME_FLAG", raw)
    assert env_bool("SOME_FLAG", not expected) is expected


def test_unset_values_take_their_defaults(monkeypatch):
    monkeypatch.delenv("SOME_FLAG", raising=False)
    assert env_bool("SOME_FLAG", True) is True
    assert env_int("SOME_FLAG", 7) == 7
    assert env_list("SOME_FLAG", ["a"]) == ["a"]


def test_integers_and_lists_are_parsed_strictly(monkeypatch):
    monkeypatch.setenv("WORKERS", "four")
    with pytest.raises(ImproperlyConfigured, match="not a whole number"):
        env_int("WORKERS", 2)
    monkeypatch.setenv("HOSTS", " a.example.com, b.example.com ,")
    assert env_list("HOSTS", []) == ["a.example.com", "b.example.com"]


def test_database_url_unset_means_a_sqlite_file():
    config = database_config("", ROOT)
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert str(config["NAME"]).endswith("db.sqlite3")


def test_a_sqlite_database_url_gets_the_options_web_and_worker_need_to_share_it():
    config = database_config("sqlite:////srv/tracker/db.sqlite3", ROOT)
    assert config["NAME"] == "/srv/tracker/db.sqlite3"
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]


def test_database_url_selects_postgresql():
    config = database_config("postgres://tracker:secret@db.internal:5433/prices", ROOT)
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.internal", 5433, "prices")


def test_a_database_url_with_an_unknown_scheme_is_rejected():
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_config("mongodb://localhost/prices", ROOT)


def test_a_redis_url_must_look_like_one():
    assert check_redis_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        check_redis_url("127.0.0.1:6379")


def test_the_task_brokers_redis_url_gives_up_on_a_silent_server():
    assert with_redis_timeouts("redis://cache:6379/0") == (
        "redis://cache:6379/0?socket_connect_timeout=2&socket_timeout=5"
    )
    assert with_redis_timeouts("rediss://:pw@cache:6380/1?socket_timeout=9") == (
        "rediss://:pw@cache:6380/1?socket_timeout=9&socket_connect_timeout=2"
    )


def test_postgresql_connections_come_from_a_pool_of_the_configured_size():
    config = database_config("postgres://tracker:secret@db.internal/prices", ROOT, pool_max=8)
    assert config["OPTIONS"]["pool"]["max_size"] == 8
    # Django refuses a persistent connection beside a pool; the pool checks its connections.
    assert (config["CONN_MAX_AGE"], config["CONN_HEALTH_CHECKS"]) == (0, True)


def test_a_pool_size_of_zero_keeps_one_persistent_connection_per_thread():
    config = database_config("postgres://tracker:secret@db.internal/prices", ROOT, pool_max=0)
    assert "pool" not in config.get("OPTIONS", {})
    assert config["CONN_MAX_AGE"] == 60


def test_sqlite_has_no_pool_and_a_negative_pool_size_is_an_error():
    assert "pool" not in database_config("", ROOT, pool_max=8)["OPTIONS"]
    with pytest.raises(ImproperlyConfigured, match="DATABASE_POOL_MAX"):
        database_config("postgres://db.internal/prices", ROOT, pool_max=-1)


def test_a_replica_url_adds_the_replica_and_its_router():
    script = (
        "from django.conf import settings as s; "
        "print(s.DATABASES['replica']['HOST'], s.DATABASES['replica']['OPTIONS']['pool']"
        "['max_size'], s.DATABASE_ROUTERS)"
    )
    result = run_manage(
        "shell",
        "-c",
        script,
        env={
            "DEBUG": "true",
            "DATABASE_URL": "postgres://tracker@primary.internal/prices",
            "DATABASE_REPLICA_URL": "postgres://tracker@replica.internal/prices",
            "DATABASE_POOL_MAX": "6",
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-3:] == [
        "replica.internal",
        "6",
        "['tcgtracker.lib.replica.ReplicaRouter']",
    ]
