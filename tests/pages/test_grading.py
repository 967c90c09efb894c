"""The card page's grading helper: raw against graded prices, less the cost of grading."""

import pytest

from pages.grading import format_cost, grade_prices, outlook, parse_cost
from tests.factories import make_card, record_prices
from tests.factories import unsaved_summary as summary

# The figures


def test_grading_pays_off_at_psa_10_only_when_a_9_does_not_cover_the_raw_price_and_the_cost():
    prices = [summary("ungraded", 10000), summary("PSA 9", 11000), summary("PSA 10", 40000)]

    result = outlook(prices, cost=2500)

    nine, ten = result.outcomes
    assert (nine.key, ten.key) == ("PSA 9", "PSA 10")
    assert (nine.multiple, ten.multiple) == (1.1, 4.0)
    assert (nine.net, ten.net) == (-1500, 27500)
    assert result.break_even_price == 12500
    assert result.break_even_grade is ten
    assert result.verdict == "Grading pays off at PSA 10 only"


def test_a_cheaper_grading_makes_both_grades_pay_and_a_dear_one_neither():
    prices = [summary("ungraded", 10000), summary("PSA 9", 11000), summary("PSA 10", 40000)]

    assert outlook(prices, cost=500).verdict == "Grading pays off at PSA 9 and PSA 10"
    assert outlook(prices, cost=50000).verdict == "Grading does not pay off at PSA 9 or PSA 10"
    assert outlook(prices, cost=50000).break_even_grade is None


def test_without_psa_prices_the_two_best_grades_known_are_compared():
    prices = [
        summary("NM", 2000, source="tcgplayer"),
        summary("ANY 9", 5000),
        summary("BGS 9.5", 9000),
        summary("CGC 8", 3000),
    ]

    result = outlook(prices, cost=2500)

    assert result.raw.price_key == "NM"
    assert [outcome.key for outcome in result.outcomes] == ["ANY 9", "BGS 9.5"]


def test_each_grade_is_priced_by_the_most_trusted_source_in_dollars():
    prices = [
        summary("ungraded", 1000),
        summary("PSA 10", 9000, source="ebay"),
        summary("PSA 10", 8000, source="pricecharting"),
        summary("PSA 10", 1, currency="EUR"),
        summary("PSA 10", 7000, source="demo"),
    ]
    [ten] = grade_prices(prices)
    assert (ten.source, ten.market) == ("pricecharting", 8000)


@pytest.mark.parametrize(
    "prices",
    [
        [],
        [summary("ungraded", 1000)],
        [summary("PSA 10", 50000), summary("PSA 9", 20000)],
        [summary("ungraded", 1000), summary("NM", 1100)],
    ],
)
def test_there_is_no_outlook_with_fewer_than_a_raw_and_a_graded_price(prices):
    assert outlook(prices, cost=2500) is None


@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        ("25", 2500),
        ("$12.50", 1250),
        ("12.5", 1250),
        ("0", 0),
        ("10000", 1_000_000),
        ("10000.01", None),
        ("-5", None),
        ("1e3", None),
        ("٢٥", None),
        ("", None),
        ("25.505", None),
        ("NaN", None),
    ],
)
def test_a_grading_cost_is_read_in_dollars(typed, cents):
    assert parse_cost(typed) == cents


def test_a_cost_is_shown_as_typed_dollars():
    assert (format_cost(2500), format_cost(1250), format_cost(5)) == ("25", "12.50", "0.05")


# The card page


@pytest.fixture
def graded_card(db):
    card = make_card(name="Charizard")
    record_prices(card, {"ungraded": 10000, "PSA 9": 11000, "PSA 10": 40000})
    return card


def grading_section(html: str) -> str:
    return html.split('id="grading"')[1].split("</section>")[0]


def test_the_card_page_shows_the_helper_with_the_default_cost(client, graded_card, settings):
    settings.GRADING_COST_DEFAULT = 25

    panel = grading_section(client.get(graded_card.get_absolute_url()).content.decode())

    assert "Grading pays off at PSA 10 only" in panel
    assert "$25.00" in panel and "$125.00" in panel
    assert "4.0×" in panel and "1.1×" in panel
    assert "+$275.00" in panel and "−$15.00" in panel
    assert "PriceCharting" in panel and "1 h ago" in panel
    assert 'value="25"' in panel


def test_editing_the_cost_recomputes_without_javascript(client, graded_card):
    response = client.get(graded_card.get_absolute_url(), {"grading_cost": "5"})

    panel = grading_section(response.content.decode())
    assert "Grading pays off at PSA 9 and PSA 10" in panel
    assert 'value="5"' in panel


def test_the_htmx_form_gets_the_panel_alone_and_a_plain_visit_the_card_page(client, graded_card):
    url = f"/cards/{graded_card.pk}/prices/grading/"

    partial = client.get(url, {"grading_cost": "600"}, headers={"HX-Request": "true"})
    assert partial.content.decode().lstrip().startswith('<section id="grading"')
    assert "Grading does not pay off at PSA 9 or PSA 10" in partial.content.decode()

    plain = client.get(url, {"grading_cost": "600"})
    assert plain.status_code == 302
    assert plain["Location"] == f"{graded_card.get_absolute_url()}?grading_cost=600#grading"


@pytest.mark.parametrize("typed", ["lots", "99999999", "-1", "<b>", "%"])
def test_a_cost_that_cannot_be_read_is_said_so_and_the_default_used(client, graded_card, typed):
    response = client.get(graded_card.get_absolute_url(), {"grading_cost": typed})

    assert response.status_code == 200
    panel = grading_section(response.content.decode())
    assert "Enter the grading cost in dollars" in panel
    assert 'aria-invalid="true"' in panel
    assert "Grading pays off at PSA 10 only" in panel
    assert "<b>" not in panel


def test_the_helper_is_hidden_where_fewer_than_two_keys_are_priced(client, db):
    raw_only = make_card()
    record_prices(raw_only, {"ungraded": 1000, "NM": 1100})
    assert 'id="grading"' not in client.get(raw_only.get_absolute_url()).content.decode()


def test_simulated_prices_are_marked_in_the_helper(client, db):
    card = make_card()
    record_prices(card, {"ungraded": 1000, "PSA 10": 9000}, source="demo")
    panel = grading_section(client.get(card.get_absolute_url()).content.decode())
    assert "Simulated" in panel
