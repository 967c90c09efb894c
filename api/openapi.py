"""The OpenAPI document served at /api/v1/openapi.json.

django-ninja writes it from the declaration — each operation's path, parameters, request
body and answer (api.views, api.account_views, api.schemas) —, so the document and what
the endpoints check cannot drift apart. What every operation shares is added here, once:
the error answers and their format, the rate-limit headers, the Idempotency-Key header of
the POSTs, the document's own path. The suite runs schemathesis against the result.
"""

import copy
import functools

from django.conf import settings

from api import ratelimit

ERROR_STATUSES = {"400": "BadRequest", "401": "Unauthorized", "404": "NotFound"}
WRITE_ERROR_STATUSES = {"403": "Forbidden", "422": "Invalid"}
RATE_HEADER_NAMES = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
RATE_HEADERS = {name: {"$ref": f"#/components/headers/{name}"} for name in RATE_HEADER_NAMES}

IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "An ETag from an earlier response.",
    "schema": {"type": "string"},
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any unique string (a UUID): sent again with the same request, the "
    "first answer comes back instead of the work being done twice. 24 hours.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
}
# An operation whose answer may be cached and revalidated (api.http.etagged).
CACHEABLE = {
    "parameters": [IF_NONE_MATCH],
    "responses": {
        200: {
            "headers": {
                "ETag": {"$ref": "#/components/headers/ETag"},
                "Cache-Control": {"$ref": "#/components/headers/Cache-Control"},
            }
        },
        304: {"$ref": "#/components/responses/NotModified"},
    },
}

STRING = {"type": "string"}
INTEGER = {"type": "integer"}

DESCRIPTION = """\
JSON for cards, current prices, price history and its statistics, sets and movers, and —
for keys that may write — your own alerts, collections and watchlist.

**Authentication**: send your key in the `X-API-Key` header. Create keys on your
account's *API keys* page; a key is shown once, when it is created. A key reads, or
reads and writes (chosen when it is created); a read-only key gets 403
API_KEY_READ_ONLY from the operations that change something.

**Rate limit**: {limit} requests per key per hour, in fixed one-hour windows. Every
response after the key check carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
`X-RateLimit-Reset` (the window's end, in epoch seconds). Past the limit: 429 with
`Retry-After` in seconds.

**Writes** take a JSON object (`Content-Type: application/json`) and check it with the
same rules and messages as the site's forms: 422 VALIDATION_ERROR with each field's
messages in `details.fields`. A POST may carry an `Idempotency-Key` header: sent again
with the same body it answers the first answer again (`Idempotent-Replayed: true`); with
another body it is a 422 IDEMPOTENCY_KEY_REUSED.

**Formats**: money is a decimal string in the row's currency (`"12.34"` with
`"currency": "USD"`); times are ISO 8601 in UTC ending in `Z`. Prices from the `demo`
source are a simulated market and say `"simulated": true`.

**Errors**: always `{{"error": {{"code": ..., "message": ..., "details": {{...}}}}}}`:
400 INVALID_PARAMETER (details.parameter names it) or INVALID_JSON, 401 API_KEY_MISSING /
API_KEY_INVALID / API_KEY_REVOKED, 403 API_KEY_READ_ONLY, 404 CARD_NOT_FOUND /
ALERT_NOT_FOUND / COLLECTION_NOT_FOUND / ITEM_NOT_FOUND / NOT_WATCHED / NOT_FOUND, 405
METHOD_NOT_ALLOWED, 409 IDEMPOTENCY_KEY_IN_USE, 422 VALIDATION_ERROR /
IDEMPOTENCY_KEY_REUSED, 429 RATE_LIMITED.
"""


def _error_schema() -> dict:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "additionalProperties": False,
                "required": ["code", "message", "details"],
                "properties": {
                    "code": {
                        "type": "string",
                        "description": "Stable and machine-readable, e.g. CARD_NOT_FOUND.",
                    },
                    "message": {"type": "string", "description": "For people."},
                    "details": {
                        "type": "object",
                        "description": 'More about the error, e.g. {"parameter": "limit"} '
                        'or {"fields": {"threshold": ["Price line: ..."]}}.',
                    },
                },
            }
        },
    }


def _headers() -> dict:
    def header(description: str, schema: dict) -> dict:
        return {"description": description, "required": True, "schema": schema}

    return {
        "X-RateLimit-Limit": header("Requests allowed per key per hour.", INTEGER),
        "X-RateLimit-Remaining": header("Requests left in this hour's window.", INTEGER),
        "X-RateLimit-Reset": header(
            "When the window ends and the count starts again: epoch seconds (UTC).", INTEGER
        ),
        "Retry-After": header("Seconds until the window ends.", INTEGER),
        "ETag": header("Send it back in If-None-Match to get a 304 while unchanged.", STRING),
        "Cache-Control": header("private, max-age=60", STRING),
        "WWW-Authenticate": header('ApiKey header="X-API-Key"', STRING),
    }


def _error_response(description: str, headers: dict | None = None) -> dict:
    response = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if headers:
        response["headers"] = headers
    return response


def _responses() -> dict:
    # Only a request that got past the key check was counted.
    maybe_counted = {name: {**_headers()[name], "required": False} for name in RATE_HEADERS}
    return {
        "BadRequest": _error_response(
            "A parameter is not valid; details.parameter names it (INVALID_PARAMETER), or "
            "the body is not a JSON object (INVALID_JSON).",
            RATE_HEADERS,
        ),
        "Unauthorized": _error_response(
            "No key, an unknown key or a revoked key (API_KEY_MISSING, API_KEY_INVALID, "
            "API_KEY_REVOKED).",
            {"WWW-Authenticate": {"$ref": "#/components/headers/WWW-Authenticate"}},
        ),
        "Forbidden": _error_response("The key may only read (API_KEY_READ_ONLY).", RATE_HEADERS),
        "NotFound": _error_response(
            "No such card, alert, collection, item or watch, or no such route.",
            maybe_counted,
        ),
        "Conflict": _error_response(
            "A request with this Idempotency-Key is still being answered (IDEMPOTENCY_KEY_IN_USE).",
            RATE_HEADERS,
        ),
        "Invalid": _error_response(
            "The body breaks a rule; details.fields has each field's messages, as the "
            "site's form shows them (VALIDATION_ERROR); a copy of an active alert names "
            "that one in details.existing_alert. Or the Idempotency-Key was used "
            "for another request (IDEMPOTENCY_KEY_REUSED).",
            RATE_HEADERS,
        ),
        "TooManyRequests": _error_response(
            "This key has used this hour's requests (RATE_LIMITED).",
            {**RATE_HEADERS, "Retry-After": {"$ref": "#/components/headers/Retry-After"}},
        ),
        "NotModified": {
            "description": "The ETag sent in If-None-Match still matches.",
            "headers": {
                **RATE_HEADERS,
                "ETag": {"$ref": "#/components/headers/ETag"},
                "Cache-Control": {"$ref": "#/components/headers/Cache-Control"},
            },
        },
    }


def _complete(method: str, operation: dict) -> None:
    """What every operation of its kind answers besides its own success."""
    responses = {str(status): response for status, response in operation["responses"].items()}
    for status, response in responses.items():
        if status.startswith("2"):
            response["headers"] = {**RATE_HEADERS, **response.get("headers", {})}
    errors = dict(ERROR_STATUSES)
    if method != "get":
        errors.update(WRITE_ERROR_STATUSES)
    if method == "post":
        errors["409"] = "Conflict"
        operation["parameters"] = [*operation.get("parameters", []), IDEMPOTENCY_KEY]
    errors["429"] = "TooManyRequests"
    for status, name in errors.items():
        responses[status] = {"$ref": f"#/components/responses/{name}"}
    operation["responses"] = responses


@functools.cache
def _declared() -> dict:
    """The document less what depends on settings: built once per process."""
    from api.ninja_api import api

    document = dict(api.get_openapi_schema(path_prefix=""))
    for item in document["paths"].values():
        for method, operation in item.items():
            _complete(method, operation)
    document["paths"]["/openapi.json"] = {
        "get": {
            "operationId": "getOpenApiDocument",
            "summary": "This document",
            "security": [],
            "responses": {
                "200": {
                    "description": "OpenAPI document.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    }
    document["servers"] = [{"url": "/api/v1"}]
    document["security"] = [{"ApiKey": []}]
    components = document.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = _error_schema()
    components["headers"] = _headers()
    components["responses"] = _responses()
    return document


def document() -> dict:
    document = copy.deepcopy(_declared())
    document["info"]["title"] = f"{settings.SITE_NAME} API"
    document["info"]["description"] = DESCRIPTION.format(limit=ratelimit.limit_per_hour())
    return document
