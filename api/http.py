"""What every /api/v1/ response has in common: JSON bodies, one error format, the key
check, the rate limit and its headers, idempotent POSTs, and ETags for the cacheable
endpoints.

Errors look the same everywhere:

    {"error": {"code": "CARD_NOT_FOUND", "message": "...", "details": {...}}}
"""

import functools
import hashlib
import json

import orjson
from django.core.handlers.exception import response_for_exception
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import parse_etags
from django.views.decorators.csrf import csrf_exempt

from api import idempotency, keys, ratelimit
from tcgtracker.lib.text import checks_control_characters

JSON_CONTENT_TYPE = "application/json"
# History and sets: a client may reuse them for a minute, and revalidate with its ETag.
CACHE_MAX_AGE = 60
ALLOWED_METHODS = ("GET", "HEAD")
API_KEY_HEADER = "X-API-Key"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class ApiError(Exception):
    """Raised anywhere in an endpoint to answer with the error format."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}

    def response(self) -> HttpResponse:
        return error_response(self.status, self.code, self.message, self.details)


def bad_parameter(parameter: str, message: str) -> ApiError:
    return ApiError(400, "INVALID_PARAMETER", message, {"parameter": parameter})


def json_response(data, status: int = 200) -> HttpResponse:
    """Compact JSON, UTF-8 as is: for what the API answers (text, integers within 64 bits,
    finite floats), what json.dumps(ensure_ascii=False, separators=(",", ":")) writes, byte
    for byte, in a tenth of the time (a card search's answer: 0.7-0.9 ms → 0.06-0.08 ms)."""
    body = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    return HttpResponse(body, status=status, content_type=JSON_CONTENT_TYPE)


def error_response(status: int, code: str, message: str, details: dict | None = None):
    error = {"code": code, "message": message, "details": details or {}}
    return json_response({"error": error}, status=status)


def method_not_allowed(request, allowed=ALLOWED_METHODS) -> HttpResponse:
    response = error_response(
        405,
        "METHOD_NOT_ALLOWED",
        f"{request.method} is not allowed here: use {', '.join(allowed)}.",
        {"allowed": list(allowed)},
    )
    response["Allow"] = ", ".join(allowed)
    return response


def unauthorized(code: str, message: str) -> HttpResponse:
    response = error_response(401, code, message)
    response["WWW-Authenticate"] = f'ApiKey header="{API_KEY_HEADER}"'
    return response


def authentication_error(token: str):
    """(key, None) for a usable key, else (None, the 401 response)."""
    if not token:
        return None, unauthorized(
            "API_KEY_MISSING",
            f"Send your API key in the {API_KEY_HEADER} header. "
            "Create one on your account's API keys page.",
        )
    key = keys.find_key(token)
    if key is None or not key.user.is_active:
        return None, unauthorized("API_KEY_INVALID", "This API key is not valid.")
    if not key.is_active:
        return None, unauthorized("API_KEY_REVOKED", "This API key has been revoked.")
    return key, None


def keyed_endpoint(view, methods):
    """A route of the API's declaration (api.ninja_api) that needs a key: checks the
    method and the key, counts the request against the key's hourly limit, then lets
    django-ninja read the parameters and answer. Every response after the key check
    carries the X-RateLimit-* headers, errors included. The request acts as the key's
    owner (request.user), whatever session cookie came with it.

    HEAD is GET without the body: django-ninja picks an operation by request.method, so
    the GET operation answers it and the server leaves the body out. A POST with an
    Idempotency-Key header goes through api.idempotency."""
    allowed = tuple(
        method
        for method in METHOD_ORDER
        if method in methods or (method == "HEAD" and "GET" in methods)
    )

    @checks_control_characters
    @csrf_exempt
    def endpoint(request, *args, **kwargs):
        try:
            return _keyed_response(request, view, allowed, kwargs)
        except Exception as exc:
            return unexpected_error(request, exc)

    return endpoint


METHOD_ORDER = ("GET", "HEAD", "POST", "PATCH", "DELETE")


def _keyed_response(request, view, allowed, kwargs) -> HttpResponse:
    if request.method not in allowed:
        return method_not_allowed(request, allowed)
    key, failure = authentication_error(request.headers.get(API_KEY_HEADER, "").strip())
    if failure is not None:
        return failure
    rate = ratelimit.hit(key.pk)
    if rate.exceeded:
        response = error_response(
            429,
            "RATE_LIMITED",
            f"This key has made its {rate.limit} requests for this hour. "
            f"Try again in {rate.retry_after} seconds.",
            {"limit": rate.limit, "reset": rate.reset_at},
        )
        response["Retry-After"] = str(rate.retry_after)
    else:
        key.record_use()
        request.api_key = key
        request.user = key.user
        try:
            if request.method == "HEAD":
                response = _as_get(request, view, kwargs)
            elif request.method == "POST" and IDEMPOTENCY_HEADER in request.headers:
                response = idempotency.answer(request, key, lambda: view(request, **kwargs))
            else:
                response = view(request, **kwargs)
        except ApiError as error:
            response = error.response()
        except Exception as exc:
            # Counted, so it says so like any other answer.
            response = unexpected_error(request, exc)
    for header, value in rate.headers().items():
        response[header] = value
    # A key holder's answer: for their own cache only, never a shared one.
    patch_cache_control(response, private=True)
    patch_vary_headers(response, [API_KEY_HEADER])
    return response


def _as_get(request, view, kwargs) -> HttpResponse:
    request.method = "GET"
    try:
        return view(request, **kwargs)
    finally:
        request.method = "HEAD"


def public_endpoint(methods=ALLOWED_METHODS):
    """An endpoint that needs no key (the OpenAPI document, unknown routes), answering
    `methods` (None: any)."""

    def decorator(view):
        @checks_control_characters
        @csrf_exempt
        @functools.wraps(view)
        def endpoint(request, *args, **kwargs):
            if methods is not None and request.method not in methods:
                return method_not_allowed(request, methods)
            try:
                return view(request, *args, **kwargs)
            except ApiError as error:
                return error.response()
            except Exception as exc:
                return unexpected_error(request, exc)

        return endpoint

    return decorator


UNEXPECTED_ERRORS = {
    400: ("BAD_REQUEST", "The request could not be read."),
    403: ("FORBIDDEN", "This request is not allowed."),
    404: ("NOT_FOUND", "Not found."),
}


def unexpected_error(request, exc: Exception) -> HttpResponse:
    """What Django does with an exception from a view — logged, signalled and reported
    like any page's, with the same status — answered in the API's error format rather
    than as an HTML page. (A query string of more than DATA_UPLOAD_MAX_NUMBER_FIELDS
    parameters, for one, is such an exception.)"""
    handled = response_for_exception(request, exc)
    code, message = UNEXPECTED_ERRORS.get(
        handled.status_code,
        ("INTERNAL_ERROR", "Something went wrong on our side. It has been logged."),
    )
    return error_response(handled.status_code, code, message)


def etagged(*, ignoring: tuple[str, ...] = ()):
    """For django-ninja's decorate_view: the operation's answer made cacheable (below);
    the ETag follows the body, or the body less the fields in `ignoring` (those that
    say when the answer was made)."""

    def decorator(run):
        @functools.wraps(run)
        def wrapper(request, *args, **kwargs):
            response = run(request, *args, **kwargs)
            if response.status_code != 200:
                return response
            etag_of = None
            if ignoring:
                data = json.loads(response.content)
                etag_of = {key: value for key, value in data.items() if key not in ignoring}
            return cacheable(request, response, etag_of=etag_of)

        return wrapper

    return decorator


def cacheable(request, response: HttpResponse, etag_of=None) -> HttpResponse:
    """Private caching for a minute with an ETag; a 304 when the client already has it
    (If-None-Match). The ETag is the body's, or — for a body that also says when it was
    made, such as history's from and to — a weak one of `etag_of`, the data alone, so it
    changes when the data does and not every second."""
    if etag_of is None:
        etag = f'"{hashlib.sha256(response.content).hexdigest()[:32]}"'
    else:
        basis = json.dumps(etag_of, sort_keys=True, separators=(",", ":")).encode()
        etag = f'W/"{hashlib.sha256(basis).hexdigest()[:32]}"'
    response["ETag"] = etag
    patch_cache_control(response, private=True, max_age=CACHE_MAX_AGE)
    # If-None-Match compares weakly: W/"x" and "x" are the same tag.
    wanted = {
        tag.removeprefix("W/") for tag in parse_etags(request.headers.get("If-None-Match", ""))
    }
    if "*" in wanted or etag.removeprefix("W/") in wanted:
        not_modified = HttpResponseNotModified()
        not_modified["ETag"] = etag
        not_modified["Cache-Control"] = response["Cache-Control"]
        return not_modified
    return response
