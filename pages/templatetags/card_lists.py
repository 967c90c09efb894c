from django import template
from django.urls import reverse

from pages import tiles
from pages.mover_list import mover_list as write_mover_list

register = template.Library()


@register.simple_tag(takes_context=True)
def card_grid(context, rows):
    """pages.tiles.grid() for the visitor of the page being rendered: a signed-in one gets
    each tile's "Add to collection" link, back to this page."""
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return tiles.grid(rows)
    request = context.get("request")
    here = request.get_full_path() if request else ""
    return tiles.grid(rows, reverse("collections:add_card"), here)


@register.simple_tag
def mover_list(rows, pairs, empty):
    """pages.mover_list.mover_list(): `pairs` and `empty` as the include was given them."""
    return write_mover_list(rows, bool(pairs), empty)
