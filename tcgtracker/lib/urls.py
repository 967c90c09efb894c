"""Absolute URLs: from the request being answered when there is one, else SITE_URL.

A page or API answer links to the host and port the visitor actually used; an email sent by
the worker has no request, so it uses SITE_URL (`make run` sets it from its HOST and PORT).
The request_context middleware marks the request being answered.
"""

import contextlib
import contextvars

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.templatetags.static import static
from django.urls import get_script_prefix, get_urlconf, reverse

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


# Addresses reversed once per process: (URL configuration, script prefix) -> name -> URL.
_reversed: dict[tuple, dict[str, str]] = {}
# Stands for an integer argument in a route reversed once (reversed_with_id).
_STAND_IN_ID = 2147480000


def reversed_once(url_name: str, *args) -> str:
    """reverse(url_name, args=args), reversed once per process (per URL configuration and
    script prefix, and again after a settings change in tests): a reverse() costs its
    namespace, locale and prefix lookups on every call. For fixed arguments only."""
    key = (get_urlconf(), get_script_prefix())
    urls = _reversed.setdefault(key, {})
    url = urls.get((url_name, args))
    if url is None:
        url = urls[(url_name, args)] = reverse(url_name, args=args)
    return url


def reversed_with_id(url_name: str, id: int) -> str:
    """reverse(url_name, args=[id]) of a route whose one argument is an integer id,
    reversed once per process with a stand-in id that each call replaces."""
    template = reversed_once_with_stand_in(url_name)
    return template.replace(str(_STAND_IN_ID), str(int(id)), 1)


def reversed_once_with_stand_in(url_name: str) -> str:
    url = reversed_once(url_name, _STAND_IN_ID)
    if url.count(str(_STAND_IN_ID)) != 1:
        raise ImproperlyConfigured(f"{url_name} does not take one integer id.")
    return url


_static: dict[str, str] = {}


def static_once(path: str) -> str:
    """static(path), once per process (again after a settings change in tests): the
    static files storage looks each name up in its manifest and quotes it every time."""
    url = _static.get(path)
    if url is None:
        url = _static[path] = static(path)
    return url


def forget_reversed(**kwargs) -> None:
    _reversed.clear()
    _static.clear()


setting_changed.connect(forget_reversed)
