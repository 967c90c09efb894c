"""What every page's layout (templates/base.html) needs.

The layout links to the same dozen addresses on every page, and its nav marks the page
being shown. Reversing each address and resolving each comparison in the template were
a tenth of a small page's time: the addresses are reversed once per process (per URL
configuration and script prefix, and again after a settings change in tests) and the
nav's current item is worked out here, once, in Python.
"""

from django.conf import settings
from django.core.signals import setting_changed
from django.urls import get_script_prefix, get_urlconf

from tcgtracker.lib.urls import reversed_once, static_once

# The layout's fixed addresses: name in the template -> URL name.
LAYOUT_URLS = {
    "home": "cards:home",
    "search": "cards:search",
    "set_list": "cards:set_list",
    "movers": "prices:movers",
    "staff": "staff:sources",
    "alerts": "alerts:list",
    "collections": "collections:list",
    "account": "account_email",
    "logout": "account_logout",
    "login": "account_login",
    "signup": "account_signup",
    "health": "health",
}
# The layout's static files: name in the template -> path.
LAYOUT_STATIC = {
    "favicon": "img/favicon.svg",
    "site_css": "css/site.css",
    "site_js": "js/site.js",
}

_layout_urls: dict[tuple, dict[str, str]] = {}


def site(request):
    urls = layout_urls()
    return {
        "SITE_NAME": settings.SITE_NAME,
        "layout_urls": urls,
        "nav_current": nav_current(request, urls["alerts"]),
    }


def layout_urls() -> dict[str, str]:
    """The layout's addresses and static files, as {% url %} and {% static %} give them."""
    key = (get_urlconf(), get_script_prefix())
    urls = _layout_urls.get(key)
    if urls is None:
        urls = {name: reversed_once(url_name) for name, url_name in LAYOUT_URLS.items()}
        urls.update({name: static_once(path) for name, path in LAYOUT_STATIC.items()})
        _layout_urls[key] = urls
    return urls


def forget_layout_urls(**kwargs) -> None:
    _layout_urls.clear()


setting_changed.connect(forget_layout_urls)


def nav_current(request, alerts_url: str) -> dict[str, bool]:
    """Which of the nav's items is the page being shown (aria-current)."""
    match = getattr(request, "resolver_match", None)
    url_name = match.url_name if match is not None else None
    namespace = match.namespace if match is not None else None
    return {
        "search": url_name == "search",
        "sets": url_name in ("set_list", "set_detail"),
        "movers": url_name == "movers",
        "alerts": request.path == alerts_url,
        "collections": namespace == "collections" and url_name != "shared",
    }
