"""Logs as JSON lines with request and job run ids; /metrics for staff or a bearer token."""

import io
import json
import logging

import pytest
from django.contrib.auth import get_user_model
from prometheus_client.parser import text_string_to_metric_families

from jobs.models import JobRun
from prices import sync
from tcgtracker.lib.http import PermanentError, SourceConfig, SourceHttp, TransientError
from tcgtracker.lib.logs import ContextFilter, JsonFormatter
from tests.factories import make_card
from tests.fakes.server import Reply
from tests.prices.test_sync import ScriptedClient
from tests.test_settings import run_manage

pytestmark = pytest.mark.django_db

TOKEN = "metrics-" + "t0ken" * 8


@pytest.fixture
def json_log():
    """JSON lines as LOG_FORMAT=json writes them, from every logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


# --- Logs ----------------------------------------------------------------------------------


def test_each_request_is_logged_as_one_json_line_with_its_request_id(client, json_log):
    response = client.get("/cards/")
    request_id = response["X-Request-ID"]
    (line,) = [entry for entry in json_log() if entry["logger"] == "tcgtracker.requests"]
    assert line["request_id"] == request_id
    assert (line["method"], line["route"], line["status"]) == ("GET", "cards:search", 200)
    assert line["level"] == "INFO" and "duration_ms" in line and line["time"].endswith("+00:00")


def test_a_proxys_request_id_is_kept_and_a_hostile_one_replaced(client):
    kept = client.get("/", headers={"X-Request-ID": "lb-7f3a9c2e-0001"})
    assert kept["X-Request-ID"] == "lb-7f3a9c2e-0001"
    replaced = client.get("/", headers={"X-Request-ID": 'x"\n{"level": "CRITICAL"}'})
    assert len(replaced["X-Request-ID"]) == 32 and replaced["X-Request-ID"].isalnum()


def test_lines_logged_by_a_job_carry_its_run_id(json_log):
    make_card()
    run = sync.sync_source(
        "pricecharting",
        client=ScriptedClient(fail_on_batch=1, error=TransientError("PriceCharting timed out")),
    )
    lines = [entry for entry in json_log() if "timed out" in entry["message"]]
    assert lines and {line["job_run_id"] for line in lines} == {run.pk}
    assert "request_id" not in lines[0]


def test_log_format_json_writes_every_line_as_json():
    script = "import logging; logging.getLogger('probe').warning('hello \"there\"')"
    result = run_manage(
        "shell", "--no-imports", "-c", script, env={"DEBUG": "true", "LOG_FORMAT": "json"}
    )
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert {"logger": "probe", "level": "WARNING", "message": 'hello "there"'}.items() <= (
        lines[-1].items()
    )


def test_an_unknown_log_format_is_an_error_not_a_default():
    result = run_manage("check", env={"DEBUG": "true", "LOG_FORMAT": "jsonl"})
    assert result.returncode != 0 and "LOG_FORMAT='jsonl' is not one of plain, json" in (
        result.stderr
    )


# --- /metrics ------------------------------------------------------------------------------


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def test_metrics_are_for_staff_or_the_bearer_token_only(client, metrics_token):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics")["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 401
    user = get_user_model().objects.create_user("u", "u@example.com", "pw")
    client.force_login(user)
    assert client.get("/metrics").status_code == 401
    client.logout()
    scraped = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert scraped.status_code == 200
    assert scraped["Content-Type"].startswith("text/plain; version=")


def test_without_a_token_setting_no_bearer_gets_in(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


def scrape(client) -> dict[tuple[str, tuple], float]:
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content.decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_requests_job_runs_points_source_calls_and_the_queue(
    client, metrics_token, fake_server
):
    requests = (
        "tcg_http_requests_total",
        (("method", "GET"), ("status", "200"), ("view", "cards:search")),
    )
    before = scrape(client).get(requests, 0)  # this process's count: other tests add to it
    for _ in range(3):
        client.get("/cards/")
    make_card()
    make_card()
    sync.sync_source("pricecharting", client=ScriptedClient())
    JobRun.objects.create(kind="retention", status="interrupted")
    JobRun.objects.create(kind="price_import", source="pricecharting", status="queued")
    fake_server.route("GET", "/fine", lambda request: Reply(json={}))
    fake_server.route("GET", "/broken", lambda request: Reply(status=503))
    fake_server.route("GET", "/gone", lambda request: Reply(status=404))
    config = SourceConfig("justtcg", True, fake_server.url, {}, None, 20, {})
    http = SourceHttp(config, retries=0, backoff_factor=0)
    http.get_json("/fine")
    for path, error in (("/broken", TransientError), ("/gone", PermanentError)):
        with pytest.raises(error):
            http.get_json(path)

    figures = scrape(client)
    assert figures[requests] - before == 3
    ended = (("kind", "price_sync"), ("outcome", "succeeded"), ("source", "pricecharting"))
    assert figures[("tcg_job_runs_total", ended)] == 1
    interrupted = (("kind", "retention"), ("outcome", "interrupted"), ("source", ""))
    assert figures[("tcg_job_runs_total", interrupted)] == 1
    queued = (("kind", "price_import"), ("status", "queued"))
    assert figures[("tcg_job_runs_active", queued)] == 1
    points = ("tcg_price_points_written_total", (("source", "pricecharting"),))
    assert figures[points] == 2
    for outcome in ("ok", "transient_error", "permanent_error"):
        labels = (("outcome", outcome), ("source", "justtcg"))
        assert figures[("tcg_source_calls_total", labels)] == 1
    assert figures[("tcg_task_queue_depth", ())] == 0
    assert figures[("tcg_task_broker_up", ())] == 1
