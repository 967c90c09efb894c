"""The site's layout (templates/base.html): its addresses and nav, worked out once, and
a page set in it without rendering it each time.

The layout links to the same dozen addresses on every page, and its nav marks the page
being shown. Reversing each address and resolving each comparison in the template were
a tenth of a small page's time: the addresses are reversed once per process (per URL
configuration and script prefix, and again after a settings change in tests) and the
nav's current item is worked out here, once, in Python (tcgtracker.context_processors
hands both to every template).

render_in_layout() is render() for the busiest page a signed-in visitor asks for, the
card page. Rendering base.html for each request (its blocks and tags, the context
processors it reads) was an eighth of that page's Python. All of the layout but the
page's title, its extra <head>, its content and the visitor's CSRF token depends only on
whether the visitor is signed in and staff, which nav item is current, the search words
shown (none on such a page) and the site's settings. So the layout is rendered once per
process for each such state, with a marker where each of those four goes, and cut at the
markers; a page is then its own parts (partials of its template: `layout_title`,
`layout_head` and `layout_content`, each inline in the block it fills) set between the
cuts. The layout is rendered for a stand-in visitor that carries nothing but those two
flags, so no visitor's own data can be kept in it. A page with messages waiting (the
layout shows them) is rendered through its template as any other page.
"""

from django.contrib.messages import get_messages
from django.core.signals import setting_changed
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template import engines
from django.template.loader import get_template
from django.urls import get_script_prefix, get_urlconf
from django.utils.safestring import mark_safe

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


# --- A page set in the layout made once ----------------------------------------------

PARTS = ("layout_title", "layout_head", "layout_content")
_MARKS = {name: f"\ue000{name}\ue000" for name in (*PARTS, "csrf_token")}
# base.html with a marker in each block a page fills.
_MARKED_PAGE = (
    '{% extends "base.html" %}'
    f"{{% block title %}}{_MARKS['layout_title']}{{% endblock %}}"
    f"{{% block extra_head %}}{_MARKS['layout_head']}{{% endblock %}}"
    f"{{% block content %}}{_MARKS['layout_content']}{{% endblock %}}"
)

# The state of the layout -> its text cut at the markers: [(text, the marker after it)].
_layouts: dict[tuple, list[tuple[str, str]]] = {}


class LayoutVisitor:
    """Who the layout is rendered for: signed in or not, staff or not, nothing else."""

    def __init__(self, signed_in: bool, staff: bool):
        self.is_authenticated = signed_in
        self.is_anonymous = not signed_in
        self.is_staff = staff
        self.pk = None


def render_in_layout(request, template_name: str, context: dict) -> HttpResponse:
    """render(request, template_name, context), the same text, with the layout made once
    per process for the visitor's state (see the module docstring)."""
    if get_messages(request):
        return render(request, template_name, context)
    token = get_token(request)
    values = {**context, "request": request, "csrf_token": token}
    parts = {name: get_template(f"{template_name}#{name}").render(values) for name in PARTS}
    parts["csrf_token"] = token
    text = "".join(piece + parts.get(mark, "") for piece, mark in _layout(request, context))
    return HttpResponse(text)


def _layout(request, context: dict) -> list[tuple[str, str]]:
    user = request.user
    signed_in = bool(user.is_authenticated)
    staff = signed_in and bool(user.is_staff)
    urls = layout_urls()
    current = nav_current(request, urls["alerts"])
    query = context.get("query")
    key = (get_urlconf(), get_script_prefix(), signed_in, staff, tuple(current.items()), query)
    cuts = _layouts.get(key)
    if cuts is None:
        cuts = _layouts[key] = _cut(_render_marked(request, signed_in, staff, query))
    return cuts


def _render_marked(request, signed_in: bool, staff: bool, query) -> str:
    """The layout with its markers, for the stand-in visitor and this request's page."""
    marked = engines["django"].from_string(_MARKED_PAGE)
    visitor = LayoutVisitor(signed_in, staff)
    # Above the context processors' values: the layout sees the stand-in, not the visitor.
    values = {"user": visitor, "csrf_token": mark_safe(_MARKS["csrf_token"])}
    if query is not None:
        values["query"] = query
    return marked.render(values, request)


def _cut(text: str) -> list[tuple[str, str]]:
    """The text as (piece, the marker that follows it, or "" after the last piece)."""
    cuts = []
    rest = text
    while True:
        found = [(rest.find(mark), name) for name, mark in _MARKS.items() if mark in rest]
        if not found:
            cuts.append((rest, ""))
            return cuts
        at, name = min(found)
        cuts.append((rest[:at], name))
        rest = rest[at + len(_MARKS[name]) :]


def forget_layouts(**kwargs) -> None:
    _layouts.clear()


setting_changed.connect(forget_layouts)
