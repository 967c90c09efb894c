"""tcgtracker.lib.html writes what django.utils.html writes."""

import pytest
from django import forms
from django.db import models
from django.utils import html as django_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy

from tcgtracker.lib import html

HOSTILE = "<script>alert('x')</script> & \"q\" `b`"


class Form(forms.Form):
    name = forms.CharField(initial=HOSTILE)


class Tagged(str):
    """Text that says it is markup already."""

    def __html__(self):
        return str(self)


class Plain(str):
    pass


class Color(models.TextChoices):
    RED = "<red>", "Red & <b>"


class Level(models.IntegerChoices):
    HIGH = 3, "High"


VALUES = [
    HOSTILE,
    mark_safe("<b>bold</b>"),
    gettext_lazy("Log in & <out>"),
    12_345,
    1.5,
    None,
    "",
    "café — ½",
    Form()["name"],
    -7,
    True,
    Tagged("<i>tagged</i>"),
    Plain("<plain & text>"),
    Color.RED,
    Level.HIGH,
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_a_value_is_written_as_django_writes_it(value):
    ours = html.format_html('<a title="{}">{}</a>', value, value)
    django = django_html.format_html('<a title="{}">{}</a>', value, value)
    assert ours == django and isinstance(ours, SafeString)


def test_named_values_are_escaped_too():
    ours = html.format_html("<p>{name}: {count}</p>", name=HOSTILE, count=3)
    assert ours == django_html.format_html("<p>{name}: {count}</p>", name=HOSTILE, count=3)


def test_a_join_is_written_as_django_writes_it():
    rows = [(value, HOSTILE) for value in VALUES]
    for sep in ["\n", "<br>", mark_safe("<br>")]:
        ours = html.format_html_join(sep, "<li>{} {}</li>", rows)
        assert ours == django_html.format_html_join(sep, "<li>{} {}</li>", rows)
        assert isinstance(ours, SafeString)


def test_a_format_without_values_is_refused():
    with pytest.raises(TypeError):
        html.format_html("<p>nothing to escape</p>")
