"""tcgtracker.lib.http against a real HTTP server on 127.0.0.1 (tests/fakes/server.py).

Runs on locmem and, with REDIS_URL set, on Redis: the budget and the breaker live in the
Django cache either way.
"""

import base64
import io
import logging
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import time_machine

from tcgtracker.lib.http import (
    BudgetExhausted,
    CircuitBreaker,
    CircuitOpen,
    PermanentError,
    RateBudget,
    SourceConfig,
    SourceHttp,
    TransientError,
    scrub,
)
from tcgtracker.lib.secrets import ScrubSecretsFilter
from tests.fakes.server import FakeServer, Reply

TOKEN = "SECRET-TOKEN-123"
PRODUCT = {"status": "success", "id": "630417", "loose-price": 29662}


def make_config(base_url, *, name="pricecharting", rate_limit=(100, 60), credentials=None):
    return SourceConfig(
        name=name,
        enabled=True,
        base_url=base_url,
        credentials={"token": TOKEN} if credentials is None else credentials,
        rate_limit=rate_limit,
        batch_size=20,
        options={},
    )


@pytest.fixture
def make_http(fake_server):
    """SourceHttp instances pointed at the fake server, with fast backoff."""
    made = []

    def make(*, base_url=None, rate_limit=(100, 60), credentials=None, **options):
        options.setdefault("backoff_factor", 0.01)
        config = make_config(
            base_url or fake_server.url, rate_limit=rate_limit, credentials=credentials
        )
        http = SourceHttp(config, **options)
        made.append(http)
        return http

    yield make
    for http in made:
        http.close()


def ok(request):
    return Reply(json=PRODUCT)


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def window_start(period: int) -> float:
    """The start of the next rate window, so a test never straddles a boundary."""
    return (int(time.time()) // period + 1) * period + 0.001


# Happy path and retries


def test_it_returns_parsed_json_and_sends_the_params(fake_server, make_http):
    fake_server.route("GET", "/api/product", ok)
    http = make_http()
    assert http.get_json("/api/product", params={"t": TOKEN, "id": "630417"}) == PRODUCT
    (request,) = fake_server.requests
    assert (request.param("t"), request.param("id")) == (TOKEN, "630417")
    assert request.headers["accept"] == "application/json"


def test_an_absolute_url_is_used_as_it_is(fake_server, make_http):
    fake_server.route("GET", "/elsewhere", ok)
    http = make_http(base_url="http://127.0.0.1:9/not-used")
    assert http.get_json(f"{fake_server.url}/elsewhere") == PRODUCT


def test_a_path_is_joined_to_a_base_url_with_a_path(fake_server, make_http):
    fake_server.route("GET", "/v1/cards", ok)
    http = make_http(base_url=f"{fake_server.url}/v1/")
    assert http.get_json("/cards") == PRODUCT


def test_post_json_sends_form_and_basic_auth(fake_server, make_http):
    fake_server.route("POST", "/token", lambda request: Reply(json={"access_token": "abc"}))
    http = make_http()
    data = http.post_json("/token", data={"grant_type": "client_credentials"}, auth=("id", "pw"))
    assert data == {"access_token": "abc"}
    (request,) = fake_server.requests
    assert request.form == {"grant_type": "client_credentials"}
    assert request.headers["authorization"].startswith("Basic ")


def test_a_streamed_response_is_returned_unread(fake_server, make_http):
    fake_server.route("GET", "/guide.csv", lambda request: Reply(body="id,name\n1,Charizard\n"))
    http = make_http()
    with http.request("GET", "/guide.csv", stream=True) as response:
        lines = list(response.iter_lines(decode_unicode=True))
    assert lines == ["id,name", "1,Charizard"]


def test_it_retries_5xx_then_succeeds(fake_server, make_http):
    fake_server.script("GET", "/api/product", Reply(status=503), Reply(status=502))
    fake_server.route("GET", "/api/product", ok)
    assert make_http().get_json("/api/product") == PRODUCT
    assert len(fake_server.requests) == 3


def test_a_post_is_retried_too(fake_server, make_http):
    fake_server.script("POST", "/cards", Reply(status=500))
    fake_server.route("POST", "/cards", lambda request: Reply(json=request.json))
    assert make_http().post_json("/cards", json=[{"tcgplayerId": "1"}]) == [{"tcgplayerId": "1"}]
    assert len(fake_server.requests) == 2


def test_5xx_that_outlasts_the_retries_is_transient(fake_server, make_http):
    fake_server.route("GET", "/api/product", lambda request: Reply(status=500, body="boom"))
    with pytest.raises(TransientError) as caught:
        make_http(retries=2).get_json("/api/product")
    assert len(fake_server.requests) == 3
    assert caught.value.status == 500
    assert caught.value.retry_after is None
    assert "HTTP 500 after 3 attempts: boom" in str(caught.value)


def test_it_honours_retry_after_on_429(fake_server, make_http):
    fake_server.script("GET", "/api/product", Reply(status=429, headers={"Retry-After": "1"}))
    fake_server.route("GET", "/api/product", ok)
    started = time.monotonic()
    assert make_http().get_json("/api/product") == PRODUCT
    assert len(fake_server.requests) == 2
    assert time.monotonic() - started >= 0.9  # slept Retry-After, not the 0.01s backoff


def test_429_that_outlasts_the_retries_is_transient_with_retry_after(fake_server, make_http):
    fake_server.route(
        "GET", "/api/product", lambda request: Reply(status=429, headers={"Retry-After": "1"})
    )
    with pytest.raises(TransientError) as caught:
        make_http(retries=1).get_json("/api/product")
    assert len(fake_server.requests) == 2
    assert (caught.value.status, caught.value.retry_after) == (429, 1.0)


def test_a_retry_after_longer_than_backoff_max_is_not_slept_through(fake_server, make_http):
    fake_server.route(
        "GET", "/api/product", lambda request: Reply(status=429, headers={"Retry-After": "3600"})
    )
    with pytest.raises(TransientError) as caught:
        make_http(backoff_max=30).get_json("/api/product")
    assert len(fake_server.requests) == 1
    assert caught.value.retry_after == 3600.0


def test_without_retry_on_429_a_429_is_raised_at_once(fake_server, make_http):
    # urllib3 alone would retry a 429 that carries Retry-After.
    fake_server.route(
        "GET", "/api/product", lambda request: Reply(status=429, headers={"Retry-After": "5"})
    )
    with pytest.raises(TransientError) as caught:
        make_http(retry_on_429=False).get_json("/api/product")
    assert len(fake_server.requests) == 1
    assert (caught.value.status, caught.value.retry_after) == (429, 5.0)


def test_a_429_without_retry_after_has_no_retry_after(fake_server, make_http):
    fake_server.route("GET", "/api/product", lambda request: Reply(status=429))
    with pytest.raises(TransientError) as caught:
        make_http(retry_on_429=False).get_json("/api/product")
    assert (caught.value.status, caught.value.retry_after) == (429, None)


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_other_4xx_are_permanent_and_not_retried(fake_server, make_http, status):
    fake_server.route(
        "GET", "/api/product", lambda request: Reply(status=status, json={"error": "nope"})
    )
    with pytest.raises(PermanentError) as caught:
        make_http().get_json("/api/product")
    assert len(fake_server.requests) == 1
    assert caught.value.status == status
    assert '"error": "nope"' in caught.value.body


def test_connection_refused_is_transient(make_http):
    http = make_http(base_url=f"http://127.0.0.1:{unused_port()}", retries=1)
    with pytest.raises(TransientError) as caught:
        http.get_json("/api/product")
    assert caught.value.status is None
    assert "refused" in str(caught.value).lower()


def test_a_read_timeout_is_transient(fake_server, make_http):
    fake_server.route("GET", "/api/product", lambda request: Reply(json=PRODUCT, delay=1.0))
    with pytest.raises(TransientError) as caught:
        make_http(timeout=(1, 0.2), retries=0).get_json("/api/product")
    assert "timed out" in str(caught.value).lower()


def test_a_read_timeout_is_retried(fake_server, make_http):
    fake_server.script("GET", "/api/product", Reply(json=PRODUCT, delay=1.0))
    fake_server.route("GET", "/api/product", ok)
    assert make_http(timeout=(1, 0.2), retries=1).get_json("/api/product") == PRODUCT
    assert len(fake_server.requests) == 2


# Bodies that are not JSON


def test_an_html_page_with_200_is_an_error_not_data(fake_server, make_http):
    page = "\n  <!DOCTYPE html><html><title>Just a moment...</title></html>"
    fake_server.route("GET", "/api/product", lambda request: Reply(body=page))
    with pytest.raises(PermanentError, match="pricecharting returned HTML, not JSON"):
        make_http().get_json("/api/product")


def test_a_cloudflare_403_page_is_permanent(fake_server, make_http):
    page = "<html><title>Attention Required! | Cloudflare</title></html>"
    fake_server.route("GET", "/api/product", lambda request: Reply(status=403, body=page))
    with pytest.raises(PermanentError) as caught:
        make_http().get_json("/api/product")
    assert caught.value.status == 403


@pytest.mark.parametrize("body", ['{"status": "succ', "", "null-ish"])
def test_invalid_json_is_an_error_not_data(fake_server, make_http, body):
    fake_server.route(
        "GET",
        "/api/product",
        lambda request: Reply(body=body, headers={"Content-Type": "application/json"}),
    )
    with pytest.raises(PermanentError, match="not valid JSON"):
        make_http().get_json("/api/product")


# Secrets


SCRUB_CASES = [
    ("GET https://x/api?t=SECRET-TOKEN-123&id=1", "GET https://x/api?t=***&id=1"),
    ("raw s^cr/t, quoted s%5Ecr%2Ft, s%5ecr/t, s%5Ecr/t", "raw ***, quoted ***, ***, ***"),
    ("/api?id=1&token=abc&key=xyz&api_key=k#top", "/api?id=1&token=***&key=***&api_key=***#top"),
    ("grant=x&client_secret=s3&access_token=v%5E1", "grant=x&client_secret=***&access_token=***"),
    ("u=https%3A%2F%2Fx%3Ft%3Dabc%26id%3D1", "u=https%3A%2F%2Fx%3Ft%3D***%26id%3D1"),
    ("Authorization: Bearer v^1.1#i^1#abcdef", "Authorization: Bearer ***"),
    ("format=json&at=5&monkey=1", "format=json&at=5&monkey=1"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), SCRUB_CASES)
def test_scrub_masks_secrets_and_secret_parameters(text, expected):
    assert scrub(text, ["SECRET-TOKEN-123", "s^cr/t", ""]) == expected


def assert_no_secret(exc, records, secret=TOKEN):
    assert secret not in str(exc)
    assert secret not in repr(exc)
    assert secret not in getattr(exc, "body", "")
    # No unscrubbed requests/urllib3 exception rides along into a traceback.
    assert exc.__cause__ is None and exc.__context__ is None
    for record in records:
        assert secret not in record.getMessage()


def test_the_token_never_reaches_an_error_or_a_log_line(fake_server, make_http, caplog):
    caplog.set_level(logging.DEBUG)
    fake_server.route(
        "GET", "/api/product", lambda request: Reply(status=500, body=f"bad t={TOKEN}")
    )
    with pytest.raises(TransientError) as caught:
        make_http(retries=1).get_json("/api/product", params={"t": TOKEN, "id": "1"})
    assert "t=***" in str(caught.value)
    assert_no_secret(caught.value, caplog.records)
    assert any(record.name == "tcgtracker.lib.http" for record in caplog.records)


def test_the_token_is_scrubbed_from_urllib3_retry_warnings(make_http, caplog):
    caplog.set_level(logging.DEBUG)
    http = make_http(base_url=f"http://127.0.0.1:{unused_port()}", retries=1)
    with pytest.raises(TransientError) as caught:
        http.get_json(f"/api/product?t={TOKEN}&id=1")
    assert_no_secret(caught.value, caplog.records)
    retry_warnings = [r for r in caplog.records if r.name == "urllib3.connectionpool"]
    assert any("t=***" in record.getMessage() for record in retry_warnings)


def test_a_secret_echoed_in_an_error_body_is_scrubbed(fake_server, make_http, caplog):
    caplog.set_level(logging.DEBUG)
    fake_server.route(
        "GET",
        "/cards",
        lambda request: Reply(
            status=401, json={"error": f"bad key {request.headers['x-api-key']}"}
        ),
    )
    http = make_http(credentials={"api_key": "KEY-abc/123"})
    with pytest.raises(PermanentError) as caught:
        http.get_json("/cards", headers={"x-api-key": "KEY-abc/123"})
    assert "bad key ***" in caught.value.body
    assert_no_secret(caught.value, caplog.records, secret="KEY-abc/123")


def test_a_secret_in_an_html_body_is_scrubbed(fake_server, make_http):
    fake_server.route("GET", "/api/product", lambda request: Reply(body=f"<p>{TOKEN}</p>"))
    with pytest.raises(PermanentError) as caught:
        make_http().get_json("/api/product", params={"t": TOKEN})
    assert_no_secret(caught.value, [])


# Circuit breaker


def failing(request):
    return Reply(status=503)


def test_the_breaker_opens_after_repeated_failures_and_refuses_calls(
    fake_server, make_http, caplog
):
    fake_server.route("GET", "/api/product", failing)
    http = make_http(retries=0, failure_threshold=3)
    for _ in range(3):
        with pytest.raises(TransientError):
            http.get_json("/api/product")
    assert http.breaker.state() == "open"
    assert any("circuit open" in record.getMessage() for record in caplog.records)
    with pytest.raises(CircuitOpen):
        http.get_json("/api/product")
    assert len(fake_server.requests) == 3


def test_failures_must_be_consecutive(fake_server, make_http):
    http = make_http(retries=0, failure_threshold=3)
    fake_server.script("GET", "/api/product", *[Reply(status=503)] * 2)
    fake_server.route("GET", "/api/product", ok)
    for _ in range(2):
        with pytest.raises(TransientError):
            http.get_json("/api/product")
    http.get_json("/api/product")
    fake_server.script("GET", "/api/product", *[Reply(status=503)] * 2)
    for _ in range(2):
        with pytest.raises(TransientError):
            http.get_json("/api/product")
    assert http.breaker.state() == "closed"


def test_permanent_errors_neither_count_nor_reset(fake_server, make_http):
    http = make_http(retries=0, failure_threshold=3)
    fake_server.script("GET", "/api/product", Reply(status=503), Reply(status=404))
    fake_server.script("GET", "/api/product", Reply(status=503), Reply(status=404))
    fake_server.route("GET", "/api/product", failing)
    for expected in (TransientError, PermanentError, TransientError, PermanentError):
        with pytest.raises(expected):
            http.get_json("/api/product")
    assert http.breaker.state() == "closed"
    with pytest.raises(TransientError):
        http.get_json("/api/product")  # the third transient failure in a row
    assert http.breaker.state() == "open"


def open_breaker(fake_server, http, threshold):
    fake_server.route("GET", "/api/product", failing)
    for _ in range(threshold):
        with pytest.raises(TransientError):
            http.get_json("/api/product")
    assert http.breaker.state() == "open"


def test_a_successful_probe_after_the_cooldown_closes_the_breaker(fake_server, make_http):
    http = make_http(retries=0, failure_threshold=2, cooldown=300)
    open_breaker(fake_server, http, 2)
    with time_machine.travel(time.time() + 299, tick=True):
        assert http.breaker.state() == "open"
    with time_machine.travel(time.time() + 301, tick=True):
        assert http.breaker.state() == "half-open"
        fake_server.route("GET", "/api/product", ok)
        assert http.get_json("/api/product") == PRODUCT
        assert http.breaker.state() == "closed"
        assert http.get_json("/api/product") == PRODUCT
    assert len(fake_server.requests) == 4


def test_a_failed_probe_reopens_the_breaker_for_another_cooldown(fake_server, make_http):
    http = make_http(retries=0, failure_threshold=2, cooldown=300)
    open_breaker(fake_server, http, 2)
    start = time.time()
    with time_machine.travel(start + 301, tick=True):
        with pytest.raises(TransientError):
            http.get_json("/api/product")  # the probe
        assert http.breaker.state() == "open"
        with pytest.raises(CircuitOpen):
            http.get_json("/api/product")
    assert len(fake_server.requests) == 3
    with time_machine.travel(start + 301 + 299, tick=True):
        assert http.breaker.state() == "open"
    with time_machine.travel(start + 301 + 301, tick=True):
        assert http.breaker.state() == "half-open"


def test_only_one_probe_passes_while_half_open(fake_server, make_http):
    http = make_http(retries=0, failure_threshold=1, cooldown=300)
    other = make_http(retries=0, failure_threshold=1, cooldown=300)
    open_breaker(fake_server, http, 1)
    fake_server.route("GET", "/api/product", lambda request: Reply(json=PRODUCT, delay=0.5))
    with time_machine.travel(time.time() + 301, tick=True):
        probe = threading.Thread(target=http.get_json, args=("/api/product",))
        probe.start()
        deadline = time.monotonic() + 5
        while len(fake_server.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)  # until the probe reaches the server
        with pytest.raises(CircuitOpen, match="probe"):
            other.get_json("/api/product")
        probe.join()
        assert http.breaker.state() == "closed"
        assert other.get_json("/api/product") == PRODUCT
    assert len(fake_server.requests) == 3


def test_concurrent_callers_get_exactly_one_probe():
    breaker = CircuitBreaker("pricecharting", failure_threshold=1, cooldown=300)
    breaker.record_failure()
    results = []
    with time_machine.travel(time.time() + 301, tick=True):
        barrier = threading.Barrier(8)

        def call():
            barrier.wait()
            try:
                breaker.before_call()
            except CircuitOpen:
                results.append("refused")
            else:
                results.append("probe")

        threads = [threading.Thread(target=call) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(results) == ["probe"] + ["refused"] * 7


def test_a_permanent_answer_to_the_probe_lets_the_next_call_probe(fake_server, make_http):
    http = make_http(retries=0, failure_threshold=1, cooldown=300)
    open_breaker(fake_server, http, 1)
    with time_machine.travel(time.time() + 301, tick=True):
        fake_server.script("GET", "/api/product", Reply(status=404))
        fake_server.route("GET", "/api/product", ok)
        with pytest.raises(PermanentError):
            http.get_json("/api/product")
        assert http.breaker.state() == "half-open"
        assert http.get_json("/api/product") == PRODUCT
        assert http.breaker.state() == "closed"


def test_breaker_state_is_shared_between_instances(fake_server, make_http):
    first = make_http(retries=0, failure_threshold=2)
    second = make_http(retries=0, failure_threshold=2)
    open_breaker(fake_server, first, 2)
    with pytest.raises(CircuitOpen):
        second.get_json("/api/product")
    assert len(fake_server.requests) == 2
    second.breaker.reset()
    assert first.breaker.state() == "closed"


# Rate budget


def test_the_budget_is_never_exceeded(fake_server, make_http):
    fake_server.route("GET", "/api/product", ok)
    with time_machine.travel(window_start(60), tick=True):
        http = make_http(rate_limit=(3, 60), budget_max_wait=0)
        for _ in range(3):
            http.get_json("/api/product")
        assert (http.budget.used(), http.budget.remaining()) == (3, 0)
        with pytest.raises(BudgetExhausted):
            http.get_json("/api/product")
        assert 0 < http.budget.resets_in() <= 60
    assert len(fake_server.requests) == 3
    assert http.breaker.state() == "closed"  # no call was made: not a failure


def test_the_budget_is_shared_between_instances(fake_server, make_http):
    fake_server.route("GET", "/api/product", ok)
    with time_machine.travel(window_start(60), tick=True):
        first = make_http(rate_limit=(3, 60), budget_max_wait=0)
        second = make_http(rate_limit=(3, 60), budget_max_wait=0)
        first.get_json("/api/product")
        second.get_json("/api/product")
        first.get_json("/api/product")
        with pytest.raises(BudgetExhausted):
            second.get_json("/api/product")
    assert len(fake_server.requests) == 3


def test_concurrent_callers_never_exceed_the_budget():
    budget = RateBudget("pricecharting", calls=5, period=60)
    granted = []
    with time_machine.travel(window_start(60), tick=True):
        barrier = threading.Barrier(12)

        def take():
            barrier.wait()
            try:
                budget.acquire(max_wait=0)
            except BudgetExhausted:
                granted.append(False)
            else:
                granted.append(True)

        threads = [threading.Thread(target=take) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert budget.used() == 5
    assert granted.count(True) == 5


def test_acquire_waits_for_the_next_window_within_max_wait():
    budget = RateBudget("pricecharting", calls=2, period=1)
    with time_machine.travel(window_start(1), tick=True):
        budget.acquire()
        budget.acquire()
        first_window = int(time.time())
        budget.acquire(max_wait=2)
        assert int(time.time()) > first_window
        assert budget.used() == 1


def test_acquire_gives_up_when_the_next_window_is_too_far():
    budget = RateBudget("pricecharting", calls=1, period=60)
    with time_machine.travel(window_start(60), tick=True):
        budget.acquire()
        with pytest.raises(BudgetExhausted, match="1 calls per 60s"):
            budget.acquire(max_wait=5)
        assert budget.remaining() == 0


def test_a_source_without_a_rate_limit_has_no_budget(fake_server, make_http):
    fake_server.route("GET", "/api/product", ok)
    http = make_http(rate_limit=None)
    assert http.budget is None
    assert http.get_json("/api/product") == PRODUCT


# Redirects: credentials stay with their host


@pytest.fixture
def other_host():
    """A second server, reached by another host name: where a redirect may point."""
    with FakeServer() as server:
        yield server


def address_on(server, path: str) -> str:
    return f"http://localhost:{urlsplit(server.url).port}{path}"


def sent_anywhere(request, secret: str) -> bool:
    return secret in f"{request.path} {request.query} {request.headers} {request.body!r}"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_host_carries_no_credential_header(
    fake_server, other_host, make_http, status
):
    key = "KEY-abc/123"
    fake_server.script(
        "GET",
        "/cards",
        Reply(status=status, headers={"Location": address_on(other_host, "/cards")}),
    )
    other_host.route("GET", "/cards", ok)
    http = make_http(credentials={"api_key": key})

    data = http.get_json(
        "/cards",
        headers={"x-api-key": key, "X-Partner-Key": key, "Authorization": f"Bearer {key}"},
    )

    assert data == PRODUCT
    (request,) = other_host.requests
    assert not sent_anywhere(request, key)
    assert "authorization" not in request.headers and "x-api-key" not in request.headers


def test_a_redirect_on_the_same_host_keeps_the_credentials(fake_server, make_http):
    key = "KEY-abc/123"
    fake_server.script("GET", "/cards", Reply(status=307, headers={"Location": "/v2/cards"}))
    fake_server.route("GET", "/v2/cards", ok)
    make_http(credentials={"api_key": key}).get_json("/cards", headers={"x-api-key": key})
    assert fake_server.calls("GET", "/v2/cards")[0].headers["x-api-key"] == key


def test_a_redirect_to_another_host_with_the_secret_in_its_address_is_not_followed(
    fake_server, other_host, make_http, caplog
):
    caplog.set_level(logging.DEBUG)
    location = address_on(other_host, f"/api/product?id=1&t={TOKEN}")
    fake_server.script("GET", "/api/product", Reply(status=302, headers={"Location": location}))
    with pytest.raises(PermanentError) as caught:
        make_http().get_json("/api/product", params={"t": TOKEN, "id": "1"})
    assert "another host" in str(caught.value)
    assert other_host.requests == []
    assert_no_secret(caught.value, caplog.records)


def test_a_307_to_another_host_does_not_resend_a_body_holding_a_secret(
    fake_server, other_host, make_http
):
    secret = "private-key-xyz"
    location = address_on(other_host, "/token")
    fake_server.script("POST", "/token", Reply(status=307, headers={"Location": location}))
    http = make_http(credentials={"private_key": secret})
    with pytest.raises(PermanentError):
        http.post_json("/token", data={"grant_type": "client_credentials", "client_secret": secret})
    assert other_host.requests == []


def test_too_many_redirects_are_a_permanent_error(fake_server, make_http):
    fake_server.route(
        "GET", "/loop", lambda request: Reply(status=302, headers={"Location": "/loop"})
    )
    with pytest.raises(PermanentError) as caught:
        make_http().get_json("/loop")
    assert "TooManyRedirects" in str(caught.value)


# Tokens handed out, in any form


def test_a_token_handed_out_is_masked_even_when_echoed_without_bearer(
    fake_server, make_http, caplog
):
    caplog.set_level(logging.DEBUG)
    token = "v^1.1#i^1#f^0#t^H4sIAAAAAAAA"
    fake_server.route(
        "GET", "/search", lambda request: Reply(status=400, json={"error": f"bad token {token}"})
    )
    http = make_http()
    http.remember_secret(token)
    with pytest.raises(PermanentError) as caught:
        http.get_json("/search", headers={"Authorization": f"Bearer {token}"})
    assert "bad token ***" in caught.value.body
    assert_no_secret(caught.value, caplog.records, secret=token)


def test_basic_auth_is_masked_in_its_base64_form_too(fake_server, make_http, caplog):
    caplog.set_level(logging.DEBUG)
    fake_server.route(
        "POST",
        "/token",
        lambda request: Reply(status=400, body=f"refused {request.headers['authorization']}"),
    )
    http = make_http(credentials={"client_id": "my-app", "client_secret": "s3cr3t-value"})
    with pytest.raises(PermanentError) as caught:
        http.post_json(
            "/token", data={"grant_type": "client_credentials"}, auth=("my-app", "s3cr3t-value")
        )
    encoded = base64.b64encode(b"my-app:s3cr3t-value").decode()
    assert_no_secret(caught.value, caplog.records, secret=encoded)


def test_every_log_line_is_scrubbed_of_known_secrets_whichever_logger_wrote_it(make_http):
    """settings.LOGGING puts the filter on its handler: a client's own warning, a task's
    traceback — not only the HTTP layer's lines — lose the credentials."""
    from django.conf import settings

    http = make_http()
    http.remember_secret("tok-1234567890")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ScrubSecretsFilter())
    assert "scrub_secrets" in settings.LOGGING["handlers"]["console"]["filters"]
    other = logging.getLogger("prices.sources.ebay.test")
    other.addHandler(handler)
    try:
        other.warning("eBay said %s", "no such token tok-1234567890")
        try:
            raise ValueError(f"token {TOKEN} expired")
        except ValueError:
            other.exception("the sync failed")
    finally:
        other.removeHandler(handler)
    output = stream.getvalue()
    assert "no such token ***" in output and "token *** expired" in output
    assert "tok-1234567890" not in output and TOKEN not in output
