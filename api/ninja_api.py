"""The API's one declaration: a django-ninja NinjaAPI whose operations (api.views,
api.account_views) declare their paths, parameters, request bodies and answers as
pydantic types. From that declaration come the parsing and validation of every request,
the checking of every answer (but the card search's, which api.views.cards writes as JSON
itself) and the OpenAPI document (api.openapi).

What django-ninja does not do our way is done around it: api.http checks the method, the
key and the rate limit before an operation runs (routes()), and the exception handlers
here answer in the API's one error format.
"""

import json

from django.http import Http404
from django.urls import path
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.renderers import JSONRenderer
from ninja.security import APIKeyHeader
from ninja.utils import normalize_path, replace_path_param_notation

from api.form_input import invalid_fields
from api.http import (
    API_KEY_HEADER,
    JSON_CONTENT_TYPE,
    ApiError,
    bad_parameter,
    error_response,
    keyed_endpoint,
)


class CompactJSONRenderer(JSONRenderer):
    """Answers as api.http.json_response writes them: compact, UTF-8 as is."""

    media_type = JSON_CONTENT_TYPE
    json_dumps_params = {"ensure_ascii": False, "separators": (",", ":")}


class ObjectParser(Parser):
    def parse_body(self, request):
        data = json.loads(request.body)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return data


class TrackerAPI(NinjaAPI):
    def get_content_type(self) -> str:
        return JSON_CONTENT_TYPE


class ApiKey(APIKeyHeader):
    """The X-API-Key header, as the document declares it. api.http has checked the key
    before any operation runs; this only adds the scope an operation needs."""

    param_name = API_KEY_HEADER

    def __init__(self, *, write: bool = False):
        super().__init__()
        self.write = write

    def __call__(self, request):
        return self.authenticate(request, None)

    def authenticate(self, request, key):
        api_key = request.api_key
        if self.write and not api_key.can_write:
            raise ApiError(
                403,
                "API_KEY_READ_ONLY",
                "This key can only read. Create a key with read and write access on your "
                "account's API keys page to change alerts, collections or the watchlist.",
            )
        return api_key


READ = ApiKey()
WRITE = ApiKey(write=True)

api = TrackerAPI(
    title="TCG Price Tracker API",
    version="1.1.0",
    openapi_url=None,  # served by api.views.openapi_document, with the shared parts added
    docs_url=None,
    urls_namespace="api",
    auth=READ,
    renderer=CompactJSONRenderer(),
    parser=ObjectParser(),
)


@api.exception_handler(ApiError)
def _api_error(request, error: ApiError):
    return error.response()


@api.exception_handler(NinjaValidationError)
def _invalid(request, error: NinjaValidationError):
    """A parameter (query, path, header) that does not validate is a 400 naming the first
    one, as before; a body that does not is a 422 naming each field."""
    fields: dict[str, list[str]] = {}
    for problem in error.errors:
        where, *location = problem["loc"]
        if where != "body":
            name = str(location[-1]) if location else where
            return bad_parameter(name, problem["msg"]).response()
        if len(location) < 2:  # no body at all
            return _http_error(request, HttpError(400, "no body"))
        # ("body", <the operation's argument>, field, ...)
        field = ".".join(str(part) for part in location[1:])
        fields.setdefault(field, []).append(_field_message(field, problem))
    return invalid_fields(fields).response()


def _field_message(field: str, problem: dict) -> str:
    kind = problem["type"]
    if kind == "missing":
        return f"{field}: this field is required."
    if kind == "extra_forbidden":
        return f"{field}: there is no such field here."
    return f"{field}: {problem['msg']}."


@api.exception_handler(HttpError)
def _http_error(request, error: HttpError):
    if error.status_code == 400:  # django-ninja could not read the body
        return error_response(
            400,
            "INVALID_JSON",
            "The body must be a JSON object, sent with Content-Type: application/json.",
        )
    return error_response(error.status_code, "ERROR", str(error))


@api.exception_handler(Http404)
def _not_found(request, error):
    return error_response(404, "NOT_FOUND", "Not found.")


@api.exception_handler(Exception)
def _bug(request, error):
    raise error  # api.http answers it as INTERNAL_ERROR, logged like any page's


def routes():
    """The Django URL patterns of the declared operations, one per path, each behind
    api.http's method, key and rate-limit checks."""
    methods: dict[str, set[str]] = {}
    for route_path, view in api.default_router.path_operations.items():
        route = normalize_path(replace_path_param_notation(route_path)).lstrip("/")
        methods[route] = {method for operation in view.operations for method in operation.methods}
    patterns, seen = [], set()
    for pattern in api.urls[0]:
        route = str(pattern.pattern)
        if route not in methods or route in seen:
            continue
        seen.add(route)
        patterns.append(
            path(route, keyed_endpoint(pattern.callback, methods[route]), name=pattern.name)
        )
    return patterns
