import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import time_machine
from django.test import Client

from api.models import ApiKey
from api.ratelimit import WINDOW_SECONDS

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
WINDOW_START = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def small_limit(settings):
    settings.API_RATE_LIMIT_PER_HOUR = 3


def test_every_response_counts_down_the_remaining_requests(api, small_limit):
    with time_machine.travel(WINDOW_START + dt.timedelta(minutes=20), tick=False):
        responses = [api.get("/api/v1/sets") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert [r["X-RateLimit-Remaining"] for r in responses] == ["2", "1", "0"]
    assert {r["X-RateLimit-Limit"] for r in responses} == {"3"}
    # Reset: the window's end in epoch seconds.
    end = int((WINDOW_START + dt.timedelta(hours=1)).timestamp())
    assert {r["X-RateLimit-Reset"] for r in responses} == {str(end)}


def test_past_the_limit_it_is_429_with_retry_after(api, small_limit):
    with time_machine.travel(WINDOW_START + dt.timedelta(minutes=20), tick=False):
        for _ in range(3):
            api.get("/api/v1/sets")
        response = api.get("/api/v1/cards/1")

    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "RATE_LIMITED"
    assert error["details"]["limit"] == 3
    assert response["Retry-After"] == str(40 * 60)
    assert response["X-RateLimit-Remaining"] == "0"
    assert response["X-RateLimit-Limit"] == "3"


def test_the_count_starts_again_in_the_next_window(api, small_limit):
    with time_machine.travel(WINDOW_START + dt.timedelta(minutes=59), tick=False):
        for _ in range(4):
            api.get("/api/v1/sets")
        assert api.get("/api/v1/sets").status_code == 429
    with time_machine.travel(WINDOW_START + dt.timedelta(hours=1, seconds=1), tick=False):
        response = api.get("/api/v1/sets")
    assert response.status_code == 200
    assert response["X-RateLimit-Remaining"] == "2"


def test_each_key_has_its_own_count(api, small_limit, user):
    for _ in range(4):
        api.get("/api/v1/sets")
    assert api.get("/api/v1/sets").status_code == 429
    _, other_secret = ApiKey.issue(user, "Another key")
    other = Client(headers={"X-API-Key": other_secret}).get("/api/v1/sets")
    assert other.status_code == 200
    assert other["X-RateLimit-Remaining"] == "2"


def test_the_limit_comes_from_the_setting(api, settings):
    settings.API_RATE_LIMIT_PER_HOUR = 1000
    assert api.get("/api/v1/sets")["X-RateLimit-Limit"] == "1000"


def test_a_refused_request_does_no_work(api, small_limit, django_assert_num_queries):
    for _ in range(3):
        api.get("/api/v1/cards")
    with django_assert_num_queries(1):  # the key
        assert api.get("/api/v1/cards").status_code == 429


def test_requests_without_a_valid_key_are_not_counted_against_anyone(api, small_limit):
    for _ in range(5):
        Client(headers={"X-API-Key": "tcg_wrong"}).get("/api/v1/sets")
    assert api.get("/api/v1/sets")["X-RateLimit-Remaining"] == "2"


# --- Across processes ------------------------------------------------------------------


def shared_redis_url() -> str:
    """The Redis that the processes share: REDIS_URL, or in CI the local one (a missing
    Redis is a failure there, never a skip)."""
    url = os.environ.get("REDIS_URL", "")
    if not url:
        if not os.environ.get("CI"):
            pytest.skip(
                "REDIS_URL is not set: counting across processes needs a Redis they share "
                "(the local-memory cache counts per process)."
            )
        url = "redis://127.0.0.1:6379/0"
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {url} is not reachable: {exc}")
    return url


def test_two_processes_share_one_count_through_redis():
    import redis

    url = shared_redis_url()
    prefix = f"ratelimit-test-{uuid.uuid4().hex}"
    per_process, limit = 150, 200
    # The middle of a window, so that every request counts in the same one.
    now = (time.time() // WINDOW_SECONDS) * WINDOW_SECONDS + WINDOW_SECONDS / 2
    start_at = time.time() + 3  # both processes have imported Django by then
    command = [sys.executable, "-m", "tests.api.rate_limit_worker", url, prefix, "7"]
    arguments = [str(per_process), str(limit), str(now), str(start_at)]
    workers = [
        subprocess.Popen(
            command + arguments, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    try:
        outputs = [worker.communicate(timeout=60) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)

    for worker, (_, stderr) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, stderr.decode()
    counts = [json.loads(stdout) for stdout, _ in outputs]
    # Every request got its own number: none was lost or counted twice between them...
    assert sorted(counts[0] + counts[1]) == list(range(1, 2 * per_process + 1))
    # ... so exactly `limit` requests were allowed in all, whichever process made them.
    allowed = sum(count <= limit for worker_counts in counts for count in worker_counts)
    assert allowed == limit
