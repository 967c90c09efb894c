"""Collections on other pages: the card page's "In your collections" panel and Watch
button, and the pieces the collection pages share (gain/loss money, sortable headers)."""

from django import template
from django.template.defaulttags import CsrfTokenNode
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from collections_app.access import collection_choices_for_user, is_watching
from collections_app.forms import FIRST_COLLECTION_NAME, blank_add_fields
from collections_app.models import CollectionItem
from tcgtracker.lib.money import format_money
from tcgtracker.lib.urls import reversed_once, reversed_with_id

register = template.Library()


@register.filter
def signed_money(cents, currency="USD"):
    """A gain or loss: "+$12.00" in green, "−$5.00" in red, "—" when unknown."""
    if cents is None:
        return format_html('<span class="change change-none" title="{}">—</span>', "Not known")
    if cents > 0:
        css, sign = "change-up", "+"
    elif cents < 0:
        css, sign = "change-down", ""  # format_money writes the minus sign
    else:
        css, sign = "change-flat", "±"
    return format_html(
        '<span class="change {}">{}{}</span>', css, sign, format_money(cents, currency)
    )


@register.simple_tag
def sort_header(header, css=""):
    """A sortable column's <th>: a link that sorts by it, and aria-sort when it does."""
    arrow = {"ascending": "▲", "descending": "▼"}.get(header.aria_sort, "")
    return format_html(
        '<th scope="col" class="sortable {}"{}><a href="{}">{}{}</a></th>',
        css,
        format_html(' aria-sort="{}"', header.aria_sort) if header.aria_sort else "",
        header.url,
        header.label,
        format_html('<span class="sort-arrow" aria-hidden="true"> {}</span>', arrow)
        if arrow
        else "",
    )


@register.inclusion_tag("collections/_card_panel.html", takes_context=True)
def collection_panel(context, card):
    """The card page's panel: which of the user's collections hold the card, a form to
    add it, and the Watch button — three small queries, none for anonymous visitors.

    Anonymous visitors get the same output whoever they are: their card page is cached
    whole and shared between them.
    """
    request = context["request"]
    panel = {"card": card, "csrf_token": context.get("csrf_token"), "request": request}
    panel["next"] = request.get_full_path()
    panel["login_url"] = reversed_once("account_login")
    if not request.user.is_authenticated:
        return {**panel, "signed_in": False}
    collections = collection_choices_for_user(request)
    holdings = []
    if collections:  # else nothing holds the card, and there is no query to build
        holdings = list(
            CollectionItem.objects.filter(collection__in=[c.pk for c in collections], card=card)
            .select_related("collection")
            .order_by("collection__name", "pk")
        )
    return {
        **panel,
        "signed_in": True,
        "user": request.user,
        "holdings": holdings,
        "collections": collections,
        "first_collection_name": FIRST_COLLECTION_NAME,
        "item_fields": blank_add_fields(
            tuple((c.pk, c.name) for c in collections), "add-to-collection-%s"
        ),
        "watching": is_watching(request, card.pk),
        "collections_url": reversed_once("collections:list"),
        "watchlist_url": reversed_once("collections:watchlist"),
    }


@register.simple_tag(takes_context=True)
def watch_button(context):
    """The Watch button of `card` (on the card page, and as the toggle answers htmx):
    `watching` says which way it points, `next` where a plain POST returns.

    Written with format_html rather than as a template: it is on every signed-in card
    page, and its half-dozen conditionals cost more there than the rest of its panel."""
    watching = context.get("watching")
    next_url = context.get("next")
    toggle_url = reversed_with_id("collections:toggle_watch", context["card"].pk)
    return format_html(
        '<form method="post" action="{}" class="inline-form watch-form"\n'
        '      hx-post="{}" hx-target="this" hx-swap="outerHTML">\n'
        "  {}\n"
        '  <input type="hidden" name="watch" value="{}">\n'
        "  {}\n"
        "  {}</button>\n"
        "</form>",
        toggle_url,
        toggle_url,
        CsrfTokenNode().render(context),
        "0" if watching else "1",
        format_html('<input type="hidden" name="next" value="{}">', next_url) if next_url else "",
        WATCHING_BUTTON if watching else WATCH_BUTTON,
    )


WATCHING_BUTTON = mark_safe(
    '<button type="submit" class="btn btn-small watch-button is-watching" aria-pressed="true"\n'
    '          title="On your watchlist — press to stop watching">'
    '<span aria-hidden="true">★</span> Watching'
)
WATCH_BUTTON = mark_safe(
    '<button type="submit" class="btn btn-small watch-button" aria-pressed="false"\n'
    '          title="Follow this card\'s price on your watchlist">'
    '<span aria-hidden="true">☆</span> Watch'
)
