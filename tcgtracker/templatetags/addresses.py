"""{{ "collections:add_card"|address }} and {{ "js/charts.js"|static_once }}: a fixed
address reversed, and a static file's address looked up, once per process
(tcgtracker.lib.urls), where {% url %} and {% static %} do it on every render."""

from django import template

from tcgtracker.lib import urls

register = template.Library()


@register.filter
def address(url_name: str) -> str:
    return urls.reversed_once(url_name)


@register.filter
def static_once(path: str) -> str:
    return urls.static_once(path)
