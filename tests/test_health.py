import datetime as dt

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import OperationalError, connection
from django.test import override_settings
from django.utils import timezone
from django_q.tasks import async_task

pytestmark = pytest.mark.django_db

# Nothing listens on port 1 on loopback: a real connection failure, not a mock.
UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "tcgtracker.lib.cache.FailOpenRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
    }
}


@pytest.fixture
def worker_ran_a_task():
    """The test cluster runs a task at once, and records it as a worker would."""
    async_task("math.floor", 1.5)


def test_health_reports_every_part_ok(client, worker_ran_a_task):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "task_queue": "ok", "workers": "ok"},
    }
    assert response["Cache-Control"].startswith("max-age=0")


def test_health_is_degraded_not_down_when_the_cache_is_down(client, worker_ran_a_task):
    with override_settings(CACHES=UNREACHABLE_REDIS):
        response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["cache"] == "unavailable"
    assert body["checks"]["database"] == "ok"


def test_health_names_no_host_port_or_error_text(client):
    with override_settings(CACHES=UNREACHABLE_REDIS):
        text = client.get("/health/").content.decode()
    for leak in ("127.0.0.1", "redis", "Error", "refused", "sqlite", "postgres", "Redis"):
        assert leak not in text


def test_health_is_degraded_when_no_worker_was_heard_for_ten_minutes(client, worker_ran_a_task):
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=11)):
        response = client.get("/health/")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["workers"] == "unavailable"


def test_health_counts_a_worker_heard_within_ten_minutes(client, worker_ran_a_task):
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=9)):
        assert client.get("/health/").json()["checks"]["workers"] == "ok"


def test_health_is_503_only_when_the_database_is_down(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["status"] == "down"
    assert response.json()["checks"]["database"] == "unavailable"
    assert "refused" not in response.content.decode()


def test_health_answers_head_like_get_without_a_body(client, worker_ran_a_task):
    response = client.head("/health/")
    assert response.status_code == 200
    assert response.content == b""
    assert client.post("/health/").status_code == 405


def test_staff_see_what_is_wrong_on_the_staff_page(client):
    staff = get_user_model().objects.create_user("ops", "ops@example.com", "pw", is_staff=True)
    client.force_login(staff)
    with override_settings(CACHES=UNREACHABLE_REDIS):
        html = client.get("/staff/").content.decode()
    assert "ConnectionError" in html  # the cache's error, with its host, for staff only
    assert "no task ever ran" in html
