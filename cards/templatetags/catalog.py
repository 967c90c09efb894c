from django import template
from django.utils.html import format_html, format_html_join

register = template.Library()


@register.simple_tag
def select_options(choices, selected, blank_label=""):
    """<option> tags for (value, label) pairs with one selected.

    The search page lists every set; building these in Python keeps that menu from
    costing more than the results themselves.
    """
    selected = str(selected)
    options = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, " selected" if str(value) == selected else "", label) for value, label in choices),
    )
    if blank_label:
        return format_html('<option value="">{}</option>{}', blank_label, options)
    return options
