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
processors it reads) was an eighth of a signed-in card page's Python. All of the layout
but the blocks a page fills, the visitor's CSRF token and the search words it shows
depends only on whether the visitor is signed in and staff, which nav item is current
and the site's settings. So the layout is rendered once per process for each page
template and such state, with a marker where each of those goes, and cut at the markers;
a page is then its own parts set between the cuts: each block its template fills, the
template's partial `layout_<block>` (inline in the block). The layout is the one the
page's template names in its {% extends %}: base.html for the card page. It is rendered
for a stand-in visitor that carries nothing but those two flags, so no visitor's own
data can be kept in it. A page with messages waiting (the layout shows them) is rendered
through its template as any other page. What was made is forgotten when a setting
changes and when a template file changes under runserver. (The test client's
response.context is empty for a page set in the layout: its parts are partials, rendered
on their own.)
"""

import re

from django.contrib.messages import get_messages
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template import engines
from django.template.loader import get_template
from django.template.loader_tags import BlockNode, ExtendsNode
from django.urls import get_script_prefix, get_urlconf
from django.utils.autoreload import file_changed
from django.utils.html import conditional_escape
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

# A page template's partial `layout_<block>` is what it fills that block with.
PART_PREFIX = "layout_"
# Where the layout shows the visitor's CSRF token and the search words (`query`).
TOKEN, QUERY = "\ue000csrf_token\ue000", "\ue000query\ue000"

# (template, the state of the layout) -> the layout cut at its markers: [(text, marker)].
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
    layout, blocks = page_layout(template_name)
    token = get_token(request)
    # As a RequestContext has them: the context processors' values under the page's own.
    values = {}
    for processor in engines["django"].engine.template_context_processors:
        values.update(processor(request))
    values.update(context)
    values["csrf_token"] = token
    query = values.get("query")
    filled = {
        _mark(block): get_template(f"{template_name}#{PART_PREFIX}{block}").render(values)
        for block in blocks
    }
    filled[TOKEN] = token
    filled[QUERY] = conditional_escape(query) if query else ""
    cuts = _layout(request, template_name, layout, blocks)
    return HttpResponse("".join(piece + filled.get(mark, "") for piece, mark in cuts))


def page_layout(template_name: str) -> tuple[str, list[str]]:
    """The layout a page template extends (named in it) and the blocks of it the page
    fills, each with its partial `layout_<block>`; ImproperlyConfigured otherwise."""
    template = get_template(template_name).template
    extends = next((node for node in template.nodelist if isinstance(node, ExtendsNode)), None)
    layout = None if extends is None else extends.parent_name.var
    if not isinstance(layout, str):
        raise ImproperlyConfigured(f"{template_name} extends no layout named in it.")
    blocks = [node.name for node in extends.nodelist if isinstance(node, BlockNode)]
    partials = template.extra_data.get("partials", {})
    missing = [block for block in blocks if f"{PART_PREFIX}{block}" not in partials]
    if missing:
        raise ImproperlyConfigured(
            f"{template_name} fills the layout's {', '.join(missing)} without a partial "
            f"{PART_PREFIX}<block> for each."
        )
    return layout, blocks


def _mark(block: str) -> str:
    return f"\ue000block:{block}\ue000"


def _layout(request, template_name: str, layout: str, blocks: list[str]) -> list[tuple[str, str]]:
    user = request.user
    signed_in = bool(user.is_authenticated)
    staff = signed_in and bool(user.is_staff)
    current = nav_current(request, layout_urls()["alerts"])
    key = (template_name, get_urlconf(), get_script_prefix(), signed_in, staff, *current.items())
    cuts = _layouts.get(key)
    if cuts is None:
        cuts = _layouts[key] = _cut(_render_marked(request, layout, blocks, signed_in, staff))
    return cuts


def _render_marked(request, layout: str, blocks: list[str], signed_in: bool, staff: bool) -> str:
    """The layout with a marker in each block the page fills and for the token and the
    search words, for the stand-in visitor and this request's page."""
    source = "{% extends layout_template %}" + "".join(
        f"{{% block {block} %}}{_mark(block)}{{% endblock %}}" for block in blocks
    )
    # Above the context processors' values: the layout sees the stand-in, not the visitor.
    values = {
        "user": LayoutVisitor(signed_in, staff),
        "csrf_token": mark_safe(TOKEN),
        "query": mark_safe(QUERY),
        "layout_template": layout,
    }
    return engines["django"].from_string(source).render(values, request)


def _cut(text: str) -> list[tuple[str, str]]:
    """The text as (piece, the marker that follows it, or "" after the last piece)."""
    split = _MARKER_RE.split(text)
    return list(zip(split[::2], [*split[1::2], ""], strict=True))


_MARKER_RE = re.compile("(\ue000[^\ue000]+\ue000)")


def forget_layouts(**kwargs) -> None:
    _layouts.clear()


setting_changed.connect(forget_layouts)
# Under runserver a template's change reloads the templates, not the process.
file_changed.connect(forget_layouts)
