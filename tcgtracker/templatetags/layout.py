"""The layout's nav (templates/base.html), written in Python once per process for each
way it can look: the same few links on every page, marked for the page being shown, and
for a member the account links with the log-out form (the visitor's CSRF token set in
each time). In the template, its conditions and lookups were a tenth of a small page's
rendering."""

from django import template
from django.core.signals import setting_changed
from django.template.defaulttags import CsrfTokenNode
from django.utils.safestring import SafeString, mark_safe
from django_htmx.jinja import htmx_script

from tcgtracker.lib.html import format_html

register = template.Library()

_CURRENT = mark_safe(' aria-current="page"')
_main_navs: dict[tuple, SafeString] = {}
_account_navs: dict[tuple, tuple[SafeString, SafeString]] = {}
_htmx_scripts: dict[str, SafeString] = {}


@register.simple_tag(takes_context=True)
def htmx_script_once(context) -> SafeString:
    """django-htmx's {% htmx_script %}, written once per process (again after a settings
    change in tests): it looks its static file up in the manifest on every page. With a
    CSP nonce in the context it is written each time, carrying that nonce."""
    nonce = context.get("csp_nonce")
    if nonce is not None:
        return htmx_script(nonce=nonce)
    html = _htmx_scripts.get("")
    if html is None:
        html = _htmx_scripts[""] = htmx_script()
    return html


def _forget_htmx_script(**kwargs) -> None:
    _htmx_scripts.clear()


setting_changed.connect(_forget_htmx_script)


@register.simple_tag(takes_context=True)
def main_nav(context) -> SafeString:
    """Search, Sets and Movers."""
    urls = context.get("layout_urls") or {}
    current = context.get("nav_current") or {}
    key = (
        urls.get("search", ""),
        urls.get("set_list", ""),
        urls.get("movers", ""),
        bool(current.get("search")),
        bool(current.get("sets")),
        bool(current.get("movers")),
    )
    html = _main_navs.get(key)
    if html is None:
        search, set_list, movers, on_search, on_sets, on_movers = key
        html = _main_navs[key] = format_html(
            '<li><a href="{}"{}>Search</a></li>\n'
            '          <li><a href="{}"{}>Sets</a></li>\n'
            '          <li><a href="{}"{}>Movers</a></li>',
            search,
            _CURRENT if on_search else "",
            set_list,
            _CURRENT if on_sets else "",
            movers,
            _CURRENT if on_movers else "",
        )
    return html


@register.simple_tag(takes_context=True)
def account_nav(context) -> SafeString:
    """A member's Staff (for staff), My alerts, My collections, Account and Log out; a
    visitor's Log in and Sign up."""
    urls = context.get("layout_urls") or {}
    current = context.get("nav_current") or {}
    user = context.get("user")
    signed_in = bool(getattr(user, "is_authenticated", False))
    key = (
        signed_in,
        signed_in and bool(getattr(user, "is_staff", False)),
        bool(current.get("alerts")),
        bool(current.get("collections")),
        tuple(
            urls.get(name, "")
            for name in ("staff", "alerts", "collections", "account", "logout", "login", "signup")
        ),
    )
    parts = _account_navs.get(key)
    if parts is None:
        parts = _account_navs[key] = _account_nav_parts(*key)
    if not signed_in:
        return parts[0]
    before, after = parts
    return mark_safe(f"{before}{CsrfTokenNode().render(context)}{after}")


def _account_nav_parts(signed_in, staff, on_alerts, on_collections, urls):
    """The nav's account links, in two parts around the CSRF token (a visitor's in one)."""
    staff_url, alerts, collections, account, logout, login, signup = urls
    if not signed_in:
        return (
            format_html(
                '<li><a href="{}">Log in</a></li>\n'
                '            <li><a class="btn btn-small btn-primary" href="{}">Sign up</a></li>',
                login,
                signup,
            ),
            None,
        )
    before = format_html(
        "{}"
        '<li><a href="{}"{}>My alerts</a></li>\n'
        '            <li><a href="{}"{}>My collections</a></li>\n'
        '            <li><a href="{}">Account</a></li>\n'
        "            <li>\n"
        '              <form action="{}" method="post" class="inline-form">\n'
        "                ",
        format_html('<li><a href="{}">Staff</a></li>\n            ', staff_url) if staff else "",
        alerts,
        _CURRENT if on_alerts else "",
        collections,
        _CURRENT if on_collections else "",
        account,
        logout,
    )
    after = mark_safe(
        "\n"
        '                <button type="submit" class="link-button">Log out</button>\n'
        "              </form>\n"
        "            </li>"
    )
    return before, after
