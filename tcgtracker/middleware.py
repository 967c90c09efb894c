"""Middleware of the site as a whole.

request_context: every request gets an id, carried by each log line logged while answering
it and sent back as X-Request-ID (a proxy's own id is kept when it looks like one); the
answer is logged in one line — the access log — and counted for /metrics.

ControlCharactersMiddleware: no control character reaches a view.

ContentSecurityPolicyMiddleware: django-csp's, the site's policy written once per process.
"""

import functools
import logging
import re
import time
import uuid

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.shortcuts import render

from tcgtracker import metrics
from tcgtracker.lib import logs
from tcgtracker.lib.text import has_control_characters
from tcgtracker.lib.urls import answering

logger = logging.getLogger("tcgtracker.requests")

REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{8,128}")


def request_context(get_response):
    def middleware(request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if REQUEST_ID_RE.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        started = time.perf_counter()
        with logs.context(request_id=request_id), answering(request):
            response = get_response(request)
            seconds = time.perf_counter() - started
            view = view_label(request)
            metrics.count_request(view, request.method, response.status_code, seconds)
            # The view's name, not the path: paths carry share tokens and reset keys.
            logger.info(
                "%s %s %s %.0f ms",
                request.method,
                view,
                response.status_code,
                seconds * 1000,
                extra={
                    "method": request.method,
                    "route": view,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 1),
                },
            )
        response["X-Request-ID"] = request_id
        return response

    return middleware


def view_label(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name
    if request.path.startswith(f"/{settings.STATIC_URL.lstrip('/')}"):
        return "static"
    return "unresolved"


class ControlCharactersMiddleware:
    """A control character in the path or a query parameter is a 400 naming where it was,
    before any view reads it: no page uses one, and PostgreSQL cannot even compare a NUL.
    The JSON API answers the same 400 in its own error format (api.params)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(view_func, "checks_control_characters", False):
            return None
        if has_control_characters(request.path_info):
            return bad_request(request, "The address")
        for name, values in request.GET.lists():
            if has_control_characters(name):
                return bad_request(request, "A parameter name")
            if any(map(has_control_characters, values)):
                return bad_request(request, f"The parameter “{name[:40]}”")
        return None


def bad_request(request, where: str):
    message = (
        f"{where} contains a control character (such as a NUL byte or a line break). "
        "No page here uses them: remove it and try again."
    )
    return render(request, "400.html", {"message": message}, status=400)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the site's policies (CONTENT_SECURITY_POLICY and
    CONTENT_SECURITY_POLICY_REPORT_ONLY) written once per process, again after a settings
    change in tests: django-csp builds them again for every response, copying each
    directive, a fiftieth of a signed-in card page's time. A response with a policy of its
    own (django-csp's decorators), or to a request whose nonce was used, gets what
    django-csp builds for it; every other response gets the same headers, under the same
    conditions, as django-csp would set."""

    def process_response(self, request, response):
        if getattr(request, "_csp_nonce", None) is not None or any(
            getattr(response, name, None) is not None for name in _RESPONSE_POLICY_ATTRIBUTES
        ):
            return super().process_response(request, response)
        if response.status_code in (500, 404) and settings.DEBUG:
            return response
        for header, exempt, policy, excluded in _site_policies():
            if (
                policy
                and header not in response
                and getattr(response, exempt, False) is False
                and not request.path_info.startswith(excluded)
            ):
                response[header] = policy
        # As django-csp: a nonce asked for after the header was written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


# What django-csp's decorators set on a response to give it a policy of its own.
_RESPONSE_POLICY_ATTRIBUTES = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)


@functools.cache
def _site_policies() -> tuple[tuple[str, str, str, tuple[str, ...]], ...]:
    """(header, the response attribute exempting from it, its policy, the path prefixes
    excluded from it) for the policy and the report-only one; an empty policy: none."""
    return tuple(
        (
            header,
            exempt,
            build_policy(report_only=report_only),
            tuple((getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()),
        )
        for header, exempt, setting, report_only in (
            (HEADER, "_csp_exempt", "CONTENT_SECURITY_POLICY", False),
            (HEADER_REPORT_ONLY, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY", True),
        )
    )


def _forget_site_policies(**kwargs) -> None:
    _site_policies.cache_clear()


setting_changed.connect(_forget_site_policies)
