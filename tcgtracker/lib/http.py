"""The one HTTP layer of every price and catalog source.

    http = SourceHttp(SourceConfig.from_settings("pricecharting"))
    data = http.get_json("/api/product", params={"t": token, "id": "630417"})

Each call goes: circuit breaker → shared rate budget → one `requests.Session` whose
adapter retries with urllib3's `Retry` → outcome mapped onto the error classes below.
Price sources (prices.sources) and the catalog sync (cards.catalog_sync) both use it.
Decisions worth knowing:

- Retries (urllib3): connection errors, read timeouts, 500/502/503/504 and (unless
  `retry_on_429=False`) 429, for GET and POST alike. Backoff is exponential from the
  first retry (`backoff_factor * 2**(n-1)`, plus up to `backoff_factor` of jitter,
  capped at `backoff_max`); a `Retry-After` header is honoured instead when present.
  A `Retry-After` longer than `backoff_max` is not slept through inside a request: the
  call gives up at once with `TransientError.retry_after`, so the caller can defer the
  work instead of holding a worker for an hour. Other 4xx are never retried.
- Rate budget: fixed windows (`calls` per `period` seconds, keyed by window index) in
  the Django cache, counted with `cache.add` + `cache.incr`, so every process and every
  thread shares one budget (atomic on Redis, and under locmem's lock). A budget call is
  taken per `request()`, not per urllib3 retry: retries are few and backed off. Fixed
  windows allow up to 2 × `calls` across a window boundary.
- Circuit breaker, state in the same cache: opens after `failure_threshold`
  consecutive transient failures (counted per `request()`, after its retries), refuses
  calls for `cooldown` seconds, then lets one probe through (half-open; the probe lock is
  a `cache.add`). A successful probe closes it; a failed one re-opens it for another
  cooldown. A permanent error (a 404 for one card, a 401, a malformed body) neither
  counts nor resets: it is no outage, and a 4xx in the middle of a 5xx storm must not
  hide the storm. When such an answer was the half-open probe, the probe lock is
  released and the circuit stays half-open, so the next call probes again.
- Errors raised by `request()` carry `status` (the HTTP status, None without one),
  `retry_after` (seconds from `Retry-After`, set for 429 only, else None) and `body` (a
  scrubbed excerpt of the error body, "" without one). CircuitOpen and BudgetExhausted
  come from the breaker and the budget and carry none of these.
- Secrets: every message and log line passes through `scrub()` with the source's
  credentials and the tokens it was handed (`remember_secret`), in every form
  (tcgtracker.lib.secrets). urllib3 logs request URLs itself (a WARNING on each
  connection retry), so its loggers get a filter that scrubs every credential known to
  this process. Exceptions are raised outside `except` blocks so no unscrubbed
  requests/urllib3 exception rides along as `__context__` into a traceback.
- Redirects are followed (at most MAX_REDIRECTS), but a credential never goes to
  another host: across hosts every header holding one is dropped, and a URL or body
  still holding one stops the call with a PermanentError.
"""

import contextlib
import json as jsonlib
import logging
import random
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
import urllib3
from django.conf import settings
from django.core.cache import cache
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from tcgtracker.lib.secrets import (
    ScrubSecretsFilter,
    basic_auth_form,
    contains_secret,
    remember,
    scrub,
)


class SourceError(Exception):
    """A source could not answer. Messages never contain credentials."""

    transient = False


class TransientError(SourceError):
    """Worth trying again later: timeouts, connection errors, 5xx, 429."""

    transient = True


class PermanentError(SourceError):
    """Trying again will not help: 4xx other than 429, malformed or error bodies."""


class QuotaExhausted(TransientError):
    """The source's quota is spent (eBay's daily 429): no calls until retry_at."""

    def __init__(self, message: str, retry_at=None):
        super().__init__(message)
        self.retry_at = retry_at


class CircuitOpen(TransientError):
    """Too many recent failures: the source is not called until its cool-down ends."""


class BudgetExhausted(TransientError):
    """The shared rate budget has no calls left in this window."""


class NotConfigured(PermanentError):
    """Credentials are missing: the source cannot be used."""


@dataclass(frozen=True)
class SourceConfig:
    name: str
    enabled: bool
    base_url: str
    credentials: dict[str, str]
    rate_limit: tuple[int, int] | None  # (calls, per seconds), shared by every process
    batch_size: int
    options: dict

    @classmethod
    def from_settings(cls, name: str) -> "SourceConfig":
        raw = dict(settings.PRICE_SOURCES[name])
        return cls(
            name=name,
            enabled=raw.pop("enabled"),
            base_url=raw.pop("base_url").rstrip("/"),
            credentials=raw.pop("credentials"),
            rate_limit=raw.pop("rate_limit"),
            batch_size=raw.pop("batch_size"),
            options=raw,
        )

    @property
    def has_credentials(self) -> bool:
        return all(self.credentials.values())

    @property
    def secrets(self) -> list[str]:
        return [value for value in self.credentials.values() if value]


def count_source_call(source: str, outcome: str) -> None:
    """One call to a source, in the shared cache (no expiry): every process adds to it, and
    /metrics reads it (tcgtracker.metrics)."""
    key = source_call_key(source, outcome)
    cache.add(key, 0, timeout=None)
    # Evicted between add and incr: this one call goes uncounted.
    with contextlib.suppress(ValueError):
        cache.incr(key)


def source_call_key(source: str, outcome: str) -> str:
    return f"metrics:source-calls:{source}:{outcome}"


logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({500, 502, 503, 504})
ERROR_BODY_BYTES = 4096
MESSAGE_BODY_CHARS = 200
MAX_REDIRECTS = 5
MAX_REMEMBERED_TOKENS = 4


def _install_log_filter() -> None:
    # urllib3 logs request URLs itself (a WARNING on each connection retry), before any
    # of our code sees them. Logger filters only see records logged on that very logger,
    # hence each module. (settings.LOGGING also scrubs at its handlers; this keeps a
    # process that logs elsewhere — a test's caplog, another handler — just as clean.)
    for name in (
        "urllib3.connectionpool",
        "urllib3.connection",
        "urllib3.poolmanager",
        "urllib3.response",
        "urllib3.util.retry",
        "urllib3.contrib.pyopenssl",
        logger.name,
    ):
        target = logging.getLogger(name)
        if not any(isinstance(existing, ScrubSecretsFilter) for existing in target.filters):
            target.addFilter(ScrubSecretsFilter())


_install_log_filter()


class CredentialsRedirect(requests.exceptions.RequestException):
    """A redirect to another host would have carried a credential there."""


class _SourceSession(requests.Session):
    """A session that sends a source's credentials to the host they were sent to only.

    requests drops Authorization on a redirect to another host, but not a key in a
    header of the API's own (JustTCG's x-api-key followed a 307 across), and a 307/308
    resends the body (TCGplayer's token request carries client_secret). Across hosts,
    every header holding a credential is dropped; a URL or body still holding one stops
    the call instead.
    """

    def __init__(self, secrets: list[str]):
        super().__init__()
        self.max_redirects = MAX_REDIRECTS
        self.secrets = secrets  # the SourceHttp's own list: tokens join it as minted

    def rebuild_auth(self, prepared_request, response):
        super().rebuild_auth(prepared_request, response)
        if not self.should_strip_auth(response.request.url, prepared_request.url):
            return
        for name, value in list(prepared_request.headers.items()):
            if name.lower() in CREDENTIAL_HEADERS or contains_secret(value, self.secrets):
                del prepared_request.headers[name]
        if contains_secret(prepared_request.url, self.secrets) or contains_secret(
            prepared_request.body, self.secrets
        ):
            raise CredentialsRedirect(
                f"redirected to {urlsplit(prepared_request.url).netloc}, another host, with "
                "a credential in the address or the body: not followed"
            )


CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})


def _incr(key: str, timeout: float | None) -> int:
    """Atomically count one on key, creating it (with timeout) if missing."""
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 0, timeout=timeout)
        return cache.incr(key)


class RateBudget:
    """`calls` per `period` seconds for one source, shared by every process via the cache."""

    def __init__(self, name: str, calls: int, period: int):
        if calls < 1 or period < 1:
            raise ValueError(f"{name}: a rate budget needs calls >= 1 and period >= 1")
        self.name = name
        self.calls = calls
        self.period = period

    def _window(self) -> int:
        return int(time.time() // self.period)

    def _key(self, window: int) -> str:
        return f"prices:budget:{self.name}:{self.period}:{window}"

    def acquire(self, max_wait: float = 30.0) -> None:
        """Take one call; wait for the next window if it starts within max_wait seconds."""
        # A monotonic deadline: wall-clock time may be frozen or travel in tests.
        deadline = time.monotonic() + max_wait
        while True:
            window = self._window()
            # Counts past `calls` once spent; used() caps it. The key outlives its window.
            if _incr(self._key(window), timeout=self.period + 60) <= self.calls:
                return
            wait = max((window + 1) * self.period - time.time(), 0.0)
            if time.monotonic() + wait > deadline:
                raise BudgetExhausted(
                    f"{self.name}: rate budget of {self.calls} calls per {self.period}s "
                    f"is spent; the next window starts in {wait:.0f}s"
                )
            logger.info(
                "%s: rate budget of %d calls per %ds is spent; waiting %.1fs",
                self.name,
                self.calls,
                self.period,
                wait,
            )
            time.sleep(wait + 0.001)

    def used(self) -> int:
        return min(cache.get(self._key(self._window()), 0), self.calls)

    def remaining(self) -> int:
        return self.calls - self.used()

    def resets_in(self) -> float:
        return (self._window() + 1) * self.period - time.time()


class CircuitBreaker:
    """Per-source breaker whose state lives in the cache, so every process sees it."""

    def __init__(self, name: str, failure_threshold: int = 5, cooldown: int = 300):
        if failure_threshold < 1:
            raise ValueError(f"{name}: failure_threshold must be at least 1")
        self.name = name
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        prefix = f"prices:breaker:{name}"
        self._failures_key = f"{prefix}:failures"
        self._opened_key = f"{prefix}:opened-at"
        self._probe_key = f"{prefix}:probe"
        # Which thread holds the probe lock, so only its holder releases it.
        self._local = threading.local()

    def _opened_at(self) -> float | None:
        return cache.get(self._opened_key)

    def _state(self, opened_at: float | None) -> str:
        if opened_at is None:
            return "closed"
        return "open" if time.time() < opened_at + self.cooldown else "half-open"

    def state(self) -> str:
        return self._state(self._opened_at())

    def before_call(self) -> None:
        self._local.probing = False
        opened_at = self._opened_at()
        state = self._state(opened_at)
        if state == "closed":
            return
        if state == "open":
            wait = opened_at + self.cooldown - time.time()
            raise CircuitOpen(
                f"{self.name}: circuit open after repeated failures; next attempt in {wait:.0f}s"
            )
        # Half-open: one probe at a time. The lock expires in case its holder dies.
        if not cache.add(self._probe_key, time.time(), timeout=max(self.cooldown, 60)):
            raise CircuitOpen(f"{self.name}: circuit half-open and a probe call is in flight")
        self._local.probing = True
        logger.info("%s: circuit half-open, probing", self.name)

    def record_success(self) -> None:
        self._local.probing = False
        keys = [self._failures_key, self._opened_key, self._probe_key]
        found = cache.get_many(keys)
        if not found:
            return  # the common case: one round trip
        cache.delete_many(keys)
        if self._opened_key in found:
            logger.info("%s: circuit closed", self.name)

    def record_failure(self) -> None:
        self._local.probing = False
        now = time.time()
        if self._state(self._opened_at()) == "half-open":
            cache.set(self._opened_key, now, timeout=None)
            cache.delete(self._probe_key)
            logger.warning(
                "%s: probe failed; circuit open for another %ds", self.name, self.cooldown
            )
            return
        failures = _incr(self._failures_key, timeout=None)
        # add, not set: of several processes failing at once, one opens the circuit.
        if failures >= self.failure_threshold and cache.add(self._opened_key, now, timeout=None):
            logger.warning(
                "%s: circuit open after %d consecutive failures; no calls for %ds",
                self.name,
                failures,
                self.cooldown,
            )

    def reset(self) -> None:
        self._local.probing = False
        cache.delete_many([self._failures_key, self._opened_key, self._probe_key])

    def record_neutral(self) -> None:
        """An answer that says nothing about an outage (a 404 for one thing, a 401)."""
        self._release_probe()

    def _release_probe(self) -> None:
        """The probe got an answer that says nothing about the outage: let another probe."""
        if getattr(self._local, "probing", False):
            self._local.probing = False
            cache.delete(self._probe_key)


class _SourceRetry(Retry):
    """urllib3's Retry with three changes, see the module docstring."""

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        # Only status_forcelist decides: with retry_on_429=False a 429 carrying
        # Retry-After must not be retried (urllib3 would, for 413/429/503).
        return super().is_retry(method, status_code, has_retry_after=False)

    def get_retry_after(self, response) -> float | None:
        try:
            return super().get_retry_after(response)
        except InvalidHeader:
            return None  # a garbled header: back off as if there were none

    def get_backoff_time(self) -> float:
        # urllib3 retries the first failure at once; a struggling server deserves a pause.
        consecutive = 0
        for entry in reversed(self.history):
            if entry.redirect_location is not None:
                break
            consecutive += 1
        if consecutive == 0:
            return 0.0
        backoff = self.backoff_factor * (2 ** (consecutive - 1))
        backoff += random.random() * self.backoff_jitter
        return float(max(0.0, min(self.backoff_max, backoff)))

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, **kw):
        if response is not None and error is None and self.respect_retry_after_header:
            retry_after = self.get_retry_after(response)
            if retry_after is not None and retry_after > self.backoff_max:
                # Give up now; with raise_on_status=False urllib3 returns this response.
                raise MaxRetryError(
                    _pool, url, ResponseError(f"Retry-After {retry_after:.0f}s is too long")
                )
        return super().increment(method, url, response, error, _pool, **kw)


# requests/urllib3 failures worth trying again later; the rest of RequestException
# (bad URL, too many redirects, an invalid header) is a configuration problem.
_TRANSIENT_EXCEPTIONS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    requests.exceptions.RetryError,
    urllib3.exceptions.HTTPError,
)


def _describe(exc: Exception) -> str:
    """The useful part of a requests exception: urllib3's reason, not its wrapping."""
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError) and reason.reason is not None:
        reason = reason.reason
    if isinstance(reason, Exception):
        return f"{type(reason).__name__}: {reason}"
    return f"{type(exc).__name__}: {exc}"


class SourceHttp:
    """HTTP for one source: timeouts, retries, shared rate budget and breaker, scrubbing."""

    def __init__(
        self,
        config: SourceConfig,
        *,
        timeout=(5, 30),
        retries: int = 3,
        backoff_factor: float = 0.5,
        backoff_max: float = 30.0,
        retry_on_429: bool = True,
        failure_threshold: int = 5,
        cooldown: int = 300,
        budget_max_wait: float = 30.0,
    ):
        self.config = config
        self.name = config.name
        self.timeout = timeout
        self.budget_max_wait = budget_max_wait
        self.secrets = list(config.secrets)
        self._configured_secrets = len(self.secrets)
        remember(self.secrets)
        self.retry = _SourceRetry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            backoff_factor=backoff_factor,
            backoff_max=backoff_max,
            backoff_jitter=backoff_factor,
            status_forcelist=RETRY_STATUSES | ({429} if retry_on_429 else set()),
            allowed_methods=Retry.DEFAULT_ALLOWED_METHODS | {"POST"},
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        self.session = _SourceSession(self.secrets)
        adapter = HTTPAdapter(max_retries=self.retry)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.budget = RateBudget(config.name, *config.rate_limit) if config.rate_limit else None
        self.breaker = CircuitBreaker(
            config.name, failure_threshold=failure_threshold, cooldown=cooldown
        )

    def __enter__(self) -> "SourceHttp":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    def scrub(self, text: str) -> str:
        return scrub(text, self.secrets)

    def remember_secret(self, secret: str) -> None:
        """A credential the source handed out (a token): from now on masked wherever it
        appears, bare or not, and never sent to another host, like the configured ones."""
        if not secret or secret in self.secrets:
            return
        self.secrets.append(secret)
        # The configured secrets, and the latest few tokens (one is minted every hour or
        # two); the list is shared with the session, so it changes in place.
        del self.secrets[self._configured_secrets : -MAX_REMEMBERED_TOKENS]
        remember([secret])

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.config.base_url.rstrip('/')}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params=None,
        json=None,
        data=None,
        headers=None,
        auth=None,
        stream: bool = False,
    ) -> requests.Response:
        """A 2xx response, or TransientError / PermanentError (see the module docstring)."""
        if isinstance(auth, tuple):
            # Basic auth travels as base64 of "id:secret": a form of the secret too.
            self.remember_secret(basic_auth_form(*auth))
        try:
            self.breaker.before_call()
        except CircuitOpen:
            count_source_call(self.name, "circuit_open")
            raise
        outcome = "neutral"
        try:
            if self.budget is not None:
                self.budget.acquire(self.budget_max_wait)
            response = self._send(
                method.upper(),
                path,
                params=params,
                json=json,
                data=data,
                headers=headers,
                auth=auth,
                stream=stream,
            )
            outcome = "success"
            count_source_call(self.name, "ok")
            return response
        except BudgetExhausted:
            count_source_call(self.name, "budget_exhausted")
            raise  # no call was made: says nothing about the source
        except TransientError:
            outcome = "failure"
            count_source_call(self.name, "transient_error")
            raise
        except PermanentError:
            count_source_call(self.name, "permanent_error")
            raise
        finally:
            if outcome == "success":
                self.breaker.record_success()
            elif outcome == "failure":
                self.breaker.record_failure()
            else:
                self.breaker._release_probe()

    def get_json(self, path: str, *, params=None, headers=None) -> object:
        response = self.request("GET", path, params=params, headers=self._accept_json(headers))
        return self._parse_json(response)

    def post_json(self, path: str, *, json=None, data=None, headers=None, auth=None) -> object:
        response = self.request(
            "POST", path, json=json, data=data, headers=self._accept_json(headers), auth=auth
        )
        return self._parse_json(response)

    # Internals

    def _send(self, method, path, *, params, json, data, headers, auth, stream):
        target = self.url(path)
        started = time.monotonic()
        error: SourceError | None = None
        try:
            prepared = self.session.prepare_request(
                requests.Request(
                    method,
                    target,
                    params=params,
                    json=json,
                    data=data,
                    headers=headers,
                    auth=auth,
                )
            )
            target = prepared.url
            settings = self.session.merge_environment_settings(target, {}, stream, None, None)
            response = self.session.send(
                prepared, timeout=self.timeout, allow_redirects=True, **settings
            )
        except _TRANSIENT_EXCEPTIONS as exc:
            error = self._error(
                TransientError,
                f"{self.name}: {method} {target} failed: {_describe(exc)}",
                status=None,
            )
        except requests.RequestException as exc:
            error = self._error(
                PermanentError,
                f"{self.name}: {method} {target} failed: {_describe(exc)}",
                status=None,
            )
        if error is not None:
            # Raised here, outside the except block, so the unscrubbed requests exception
            # is not attached as __context__.
            self._log_error(error)
            raise error

        status = response.status_code
        target = response.url or target
        elapsed = time.monotonic() - started
        history = getattr(getattr(response.raw, "retries", None), "history", ()) or ()
        attempts = len(history) + 1
        if 200 <= status < 300:
            if history:
                logger.info(
                    "%s",
                    self.scrub(
                        f"{self.name}: {method} {target} -> {status} in {elapsed:.2f}s after "
                        f"{attempts - 1} retries ({_history_summary(history)})"
                    ),
                )
            else:
                logger.debug(
                    "%s",
                    self.scrub(f"{self.name}: {method} {target} -> {status} in {elapsed:.2f}s"),
                )
            return response

        body = self._error_body(response)
        response.close()
        tried = f" after {attempts} attempts" if attempts > 1 else ""
        summary = " ".join(body.split())[:MESSAGE_BODY_CHARS]
        message = f"{self.name}: {method} {target} returned HTTP {status}{tried}" + (
            f": {summary}" if summary else ""
        )
        if status == 429 or status >= 500:
            error = self._error(TransientError, message, status=status, body=body)
            if status == 429:
                error.retry_after = self._retry_after(response)
        else:
            error = self._error(PermanentError, message, status=status, body=body)
        self._log_error(error)
        raise error

    def _error(self, cls, message: str, *, status: int | None, body: str = "") -> SourceError:
        error = cls(self.scrub(message))
        error.status = status
        error.retry_after = None
        error.body = body
        return error

    def _log_error(self, error: SourceError) -> None:
        # Messages are scrubbed when the error is built.
        if error.transient:
            logger.warning("%s", error)
        else:
            logger.info("%s", error)

    def _error_body(self, response: requests.Response) -> str:
        try:
            raw = next(response.iter_content(ERROR_BODY_BYTES), b"")
        except (requests.RequestException, urllib3.exceptions.HTTPError):
            return ""
        return self.scrub(_decode(raw[:ERROR_BODY_BYTES], response.encoding))

    def _retry_after(self, response: requests.Response) -> float | None:
        value = response.headers.get("Retry-After")
        if not value:
            return None
        try:
            return float(self.retry.parse_retry_after(value))
        except InvalidHeader:
            return None

    @staticmethod
    def _accept_json(headers) -> dict:
        return {"Accept": "application/json", **(headers or {})}

    def _parse_json(self, response: requests.Response) -> object:
        content = response.content
        method = response.request.method if response.request else ""
        where = f"{method} {response.url}, HTTP {response.status_code}"
        error: SourceError | None = None
        if content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<":
            error = self._error(
                PermanentError,
                f"{self.name} returned HTML, not JSON ({where})",
                status=response.status_code,
            )
        else:
            try:
                return jsonlib.loads(content)
            except ValueError:
                error = self._error(
                    PermanentError,
                    f"{self.name} returned a body that is not valid JSON ({where})",
                    status=response.status_code,
                )
        error.body = self.scrub(_decode(content[:ERROR_BODY_BYTES], response.encoding))
        self._log_error(error)
        raise error


def _history_summary(history) -> str:
    return ", ".join(
        str(entry.status) if entry.status else type(entry.error).__name__ for entry in history
    )


def _decode(raw: bytes, encoding: str | None) -> str:
    try:
        return raw.decode(encoding or "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        return raw.decode("utf-8", "replace")
