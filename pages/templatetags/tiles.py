from django import template
from django.urls import reverse

from pages import tiles as card_tiles

register = template.Library()


@register.simple_tag(takes_context=True)
def card_grid(context, tiles):
    """pages.tiles.grid() for the visitor of the page being rendered: a signed-in one gets
    each tile's "Add to collection" link, back to this page."""
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return card_tiles.grid(tiles)
    request = context.get("request")
    here = request.get_full_path() if request else ""
    return card_tiles.grid(tiles, reverse("collections:add_card"), here)
