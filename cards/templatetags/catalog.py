import functools

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def select_options(choices, selected, blank_label=""):
    """<option> tags for (value, label) pairs with one selected.

    The search page lists every set; building these in Python keeps that menu from
    costing more than the results themselves. The same menus come on every request: each
    list's options are escaped once per process (_escaped_options) and only marked
    selected per request.
    """
    selected = str(selected)
    choices = tuple(choices)  # read once: an iterator would be spent by a failed lookup
    try:
        escaped = _escaped_options(choices)
    except TypeError:  # a choice that is not a hashable pair
        escaped = _escaped_options.__wrapped__(choices)
    options = "".join(
        [
            f'<option value="{value_html}"{" selected" if value == selected else ""}>'
            f"{label_html}</option>"
            for value, value_html, label_html in escaped
        ]
    )
    if blank_label:
        options = f'<option value="">{conditional_escape(blank_label)}</option>{options}'
    return mark_safe(options)


@functools.lru_cache(maxsize=256)
def _escaped_options(choices) -> tuple[tuple[str, str, str], ...]:
    """(the value as compared with the selected one, the value escaped, the label
    escaped) of each (value, label) pair, as format_html would escape them."""
    return tuple(
        (str(value), conditional_escape(value), conditional_escape(label))
        for value, label in choices
    )
