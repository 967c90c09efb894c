"""Collections on other pages: the card page's "In your collections" panel and Watch
button, and the pieces the collection pages share (gain/loss money, sortable headers)."""

from urllib.parse import quote

from django import template
from django.template.defaulttags import CsrfTokenNode
from django.utils.safestring import mark_safe

from collections_app.access import collection_choices_for_user, is_watching
from collections_app.forms import FIRST_COLLECTION_NAME, blank_add_fields
from collections_app.models import CollectionItem
from tcgtracker.lib.html import format_html, format_html_join
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


@register.simple_tag(takes_context=True)
def collection_panel(context, card):
    """The card page's panel: which of the user's collections hold the card, a form to
    add it, and the Watch button — three small queries, none for anonymous visitors.

    Anonymous visitors get the same output whoever they are: their card page is cached
    whole and shared between them. Written with format_html rather than as a template
    (it was collections/_card_panel.html, with the add form's partial of
    collections/add_card.html): it is on every card page, and its conditions and
    included partial cost more there than its three queries' Python.
    """
    request = context["request"]
    if not request.user.is_authenticated:
        return format_html(
            "{}\n"
            '  <p><a href="{}?next={}">Log in to add this card to a collection or watch it'
            "</a>.</p>\n"
            "</section>",
            PANEL_HEADING_ANONYMOUS,
            reversed_once("account_login"),
            quote(card.get_absolute_url()),
        )
    next_url = request.get_full_path()
    collections = collection_choices_for_user(request)
    holdings = []
    if collections:  # else nothing holds the card, and there is no query to build
        holdings = list(
            CollectionItem.objects.filter(collection__in=[c.pk for c in collections], card=card)
            .select_related("collection")
            .order_by("collection__name", "pk")
        )
    csrf = CsrfTokenNode().render(context)
    button = watch_button_html(card.pk, is_watching(request, card.pk), next_url, csrf)
    if holdings:
        held = format_html(
            '<ul class="holdings">\n{}\n      </ul>',
            format_html_join("\n", "{}", ((_holding(item),) for item in holdings)),
        )
    else:
        held = NOT_HELD
    return format_html(
        '<section id="collection-panel" class="panel collection-panel"'
        ' aria-labelledby="collection-panel-heading">\n'
        '  <div class="panel-heading">\n'
        '    <h2 id="collection-panel-heading">In your collections</h2>\n'
        "    {}\n"
        "  </div>\n"
        "      {}\n"
        '    <h3 class="collection-panel-add">Add to collection</h3>\n'
        '<div class="add-card-wrap">\n'
        '  <form method="post" action="{}" class="item-form add-card-form"\n'
        '        hx-post="{}" hx-target="closest .add-card-wrap" hx-swap="outerHTML">\n'
        "    {}\n"
        '    <input type="hidden" name="card" value="{}">\n'
        "    {}\n"
        "    {}\n"
        "    {}\n"
        '    <div class="form-actions">\n'
        '      <button type="submit" class="btn btn-primary">Add to collection</button>\n'
        "    </div>\n"
        "  </form>\n"
        "</div>\n"
        '    <p class="panel-links"><a href="{}">My collections</a> · '
        '<a href="{}">My watchlist</a></p>\n'
        "</section>",
        button,
        held,
        reversed_once("collections:add_card"),
        reversed_once("collections:add_card"),
        csrf,
        card.pk,
        format_html('<input type="hidden" name="next" value="{}">', next_url) if next_url else "",
        ""
        if collections
        else format_html(
            '<p class="help">It goes into a new collection, “{}”: rename it any time.</p>',
            FIRST_COLLECTION_NAME,
        ),
        blank_add_fields(tuple((c.pk, c.name) for c in collections), "add-to-collection-%s"),
        reversed_once("collections:list"),
        reversed_once("collections:watchlist"),
    )


PANEL_HEADING_ANONYMOUS = mark_safe(
    '<section id="collection-panel" class="panel collection-panel"'
    ' aria-labelledby="collection-panel-heading">\n'
    '  <div class="panel-heading">\n'
    '    <h2 id="collection-panel-heading">In your collections</h2>\n'
    "  </div>"
)
NOT_HELD = mark_safe('<p class="help">Not in any of your collections yet.</p>')


def _holding(item: CollectionItem) -> str:
    return format_html(
        '          <li><a href="{}#item-{}">{}</a>: {} × {}{}</li>',
        reversed_with_id("collections:detail", item.collection_id),
        item.pk,
        item.collection.name,
        item.quantity,
        item.grading_label,
        format_html(", paid {} each", format_money(item.purchase_price))
        if item.purchase_price is not None
        else "",
    )


@register.simple_tag(takes_context=True)
def watch_button(context):
    """The Watch button of `card` (on the card page, and as the toggle answers htmx):
    `watching` says which way it points, `next` where a plain POST returns."""
    return watch_button_html(
        context["card"].pk,
        context.get("watching"),
        context.get("next"),
        CsrfTokenNode().render(context),
    )


def watch_button_html(card_id: int, watching: bool, next_url: str | None, csrf: str) -> str:
    """The Watch button. Written with format_html rather than as a template: it is on
    every signed-in card page, and its half-dozen conditionals cost more there than the
    rest of its panel."""
    toggle_url = reversed_with_id("collections:toggle_watch", card_id)
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
        csrf,
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
