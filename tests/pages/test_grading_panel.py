"""The grading helper's panel, written in Python (pages.grading_panel), shows what its
template showed before."""

import re
from pathlib import Path

import pytest
from django.template import engines

from pages.grading import outlook
from pages.grading_panel import grading_panel
from tests.factories import make_card
from tests.factories import unsaved_summary as summary

pytestmark = pytest.mark.django_db

# What templates/pages/_grading_panel.html was before pages.grading_panel.
TEMPLATE = (Path(__file__).parent / "grading_panel_before.html").read_text()
HOSTILE = "<script>alert('x')</script> & \"quoted\""


def as_before(card, grading, cost, error) -> str:
    context = {"card": card, "grading": grading, "grading_cost": cost, "grading_cost_error": error}
    return engines["django"].from_string(TEMPLATE).render(context)


def same_markup(html: str) -> str:
    """Line breaks and indentation aside."""
    return re.sub(r"[ \t]*\n\s*", "\n", html).strip()


PAYS_AT_TEN = [summary("ungraded", 10000), summary("PSA 9", 11000), summary("PSA 10", 40000)]
SIMULATED = [summary("NM", 2000, source="tcgplayer"), summary("BGS 9.5", 9000, source="demo")]
LOSES = [summary("ungraded", 1234, hours=80), summary("PSA 10", 999)]


@pytest.mark.parametrize(
    ("prices", "cost_cents", "typed", "error"),
    [
        (PAYS_AT_TEN, 2500, "25", ""),
        (SIMULATED, 50000, "500", ""),
        (LOSES, 1250, HOSTILE, "Enter a cost <b>"),
    ],
)
def test_the_panel_shows_what_the_template_showed(prices, cost_cents, typed, error):
    card = make_card(name=HOSTILE)
    grading = outlook(prices, cost_cents)
    assert grading is not None
    html = grading_panel(card, card.get_absolute_url(), grading, typed, error)
    assert same_markup(html) == same_markup(as_before(card, grading, typed, error))


def test_no_outlook_is_no_panel():
    card = make_card()
    assert grading_panel(card, card.get_absolute_url(), None, "25", "") == ""
    assert same_markup(as_before(card, None, "25", "")) == ""


def test_typed_costs_and_card_names_are_escaped():
    card = make_card(name=HOSTILE)
    grading = outlook([summary("ungraded", 1000), summary("PSA 10", 5000)], 2500)
    html = grading_panel(card, card.get_absolute_url(), grading, '"><script>x</script>', "bad")
    assert "<script>" not in html
    assert 'value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in html
    assert 'aria-invalid="true" aria-describedby="grading-cost-error"' in html
