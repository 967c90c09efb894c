"""A set page's breadcrumbs and header (pages.set_header), written in Python: the markup
templates/pages/set_detail.html wrote before, every value escaped."""

import datetime as dt

import pytest
from django.template import engines

from pages.set_header import set_header
from prices.headline import SetValue
from tests.factories import make_set

pytestmark = pytest.mark.django_db

HOSTILE = "<script>\"&'"

# templates/pages/set_detail.html's header as it was before pages.set_header wrote it.
TEMPLATE_HEADER = """{% load prices %}
<nav class="breadcrumbs" aria-label="Breadcrumbs"><a href="{% url 'cards:set_list' %}?game={{ card_set.game }}">{{ card_set.get_game_display }} sets</a> › {{ card_set.name }}</nav>
<header class="page-header">
  <h1>{{ card_set.name }} <code>{{ card_set.code }}</code></h1>
  <dl class="facts-inline">
    {% if card_set.series %}<div><dt>Series</dt><dd>{{ card_set.series }}</dd></div>{% endif %}
    {% if card_set.release_date %}<div><dt>Released</dt><dd>{{ card_set.release_date|date:"j M Y" }}</dd></div>{% endif %}
    {% if card_set.printed_total %}<div><dt>Printed total</dt><dd>{{ card_set.printed_total }}</dd></div>{% endif %}
    {% if card_set.total %}<div><dt>Cards in set</dt><dd>{{ card_set.total }}</dd></div>{% endif %}
    <div><dt>In catalog</dt><dd>{{ count }}</dd></div>
    {% if set_value.priced %}
      <div class="set-value"><dt>Set value</dt><dd><strong>{{ set_value.total|money }}</strong>{% if set_value.simulated %} <span class="tag tag-simulated">Simulated</span>{% endif %}
        <span class="set-value-note">one of each card{% if set_value.unpriced %}; {{ set_value.priced }} of {{ set_value.cards }} cards priced, the other {{ set_value.unpriced }} not counted{% endif %}</span></dd></div>
    {% endif %}
  </dl>
  <p><a href="{% url 'cards:search' %}?set={{ card_set.code|urlencode }}">Search within this set →</a></p>
</header>"""  # noqa: E501


def squeeze(html: str) -> str:
    return " ".join(html.split())


def from_template(card_set, count, set_value) -> str:
    template = engines["django"].from_string(TEMPLATE_HEADER)
    return template.render({"card_set": card_set, "count": count, "set_value": set_value})


@pytest.mark.parametrize(
    "set_value",
    [
        None,
        SetValue(cards=4, priced=0, total=0, simulated=0),
        SetValue(cards=4, priced=4, total=1234567, simulated=0),
        SetValue(cards=5, priced=3, total=99, simulated=2),
    ],
)
def test_the_header_reads_as_the_template_wrote_it(set_value):
    full = make_set(code="sv3pt5", release_date=dt.date(2023, 9, 22), printed_total=165)
    bare = make_set(code="OP01-x y", game="onepiece", series="", printed_total=0, total=0)
    for card_set in (full, bare):
        written = set_header(card_set, 7, set_value)
        assert squeeze(written) == squeeze(from_template(card_set, 7, set_value))
    assert "<dd>22 Sep 2023</dd>" in set_header(full, 7, set_value)


def test_every_value_of_the_header_is_escaped():
    card_set = make_set(code=HOSTILE, name=HOSTILE, series=HOSTILE)

    written = set_header(card_set, 1, None)

    assert "<script>" not in written
    assert squeeze(written) == squeeze(from_template(card_set, 1, None))
    assert "?set=%3Cscript%3E%22%26%27" in written
