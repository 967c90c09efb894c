"""Absolute URLs: from the request being answered when there is one, else SITE_URL.

A page or API answer links to the host and port the visitor actually used; an email sent by
the worker has no request, so it uses SITE_URL (`make run` sets it from its HOST and PORT).
The request_context middleware marks the request being answered.
"""

import contextlib
import contextvars

from django.conf import settings

_current_request = contextvars.ContextVar("current_request", default=None)


@contextlib.contextmanager
def answering(request):
    token = _current_request.set(request)
    try:
        yield
    finally:
        _current_request.reset(token)


def site_root(request=None) -> str:
    """The scheme and host links should start with, without a trailing slash."""
    request = request or _current_request.get()
    if request is not None:
        try:
            return request.build_absolute_uri("/").rstrip("/")
        except Exception:  # DisallowedHost and the like: fall back to the configured site.
            pass
    return settings.SITE_URL


def absolute_url(path: str, request=None) -> str:
    return site_root(request) + path
