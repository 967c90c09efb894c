"""The headline price a list shows and sorts by: the watchlist's choice, in Python and in
SQL alike."""

import datetime as dt
import itertools
import random

import pytest
from django.utils import timezone

from cards.models import Card
from cards.search import order_cards
from collections_app.valuation import raw_prices
from prices import headline
from prices.models import CardHeadline, PriceSummary
from prices.writing import Observation, record_observations
from tests.factories import make_card, make_set, record_prices

pytestmark = pytest.mark.django_db


def sql_headline(card):
    chosen = headline.chosen_summaries(Card.objects.filter(pk=card.pk))
    return PriceSummary.objects.filter(pk__in=chosen).values_list("market", "source").first()


def python_headline(card):
    price = headline.headline_prices([card.pk]).get(card.pk)
    return (price.market, price.source) if price else None


def test_ungraded_from_the_most_trusted_source_is_the_headline():
    card = make_card()
    record_prices(card, {"ungraded": 900, "PSA 10": 50000}, source="ebay")
    record_prices(card, {"ungraded": 1000, "NM": 1100}, source="pricecharting")
    record_prices(card, {"ungraded": 800}, source="demo")

    assert python_headline(card) == (1000, "pricecharting") == sql_headline(card)


def test_without_ungraded_the_best_raw_condition_is_the_headline_never_a_grade():
    card = make_card()
    record_prices(card, {"LP": 700, "NM": 1100, "PSA 10": 50000}, source="justtcg")
    assert python_headline(card) == (1100, "justtcg") == sql_headline(card)

    graded_only = make_card()
    record_prices(graded_only, {"PSA 10": 50000, "ANY 9": 9000})
    assert python_headline(graded_only) is None
    assert sql_headline(graded_only) is None


def test_the_demo_simulation_is_the_headline_only_where_nothing_else_prices_the_key():
    card = make_card()
    record_prices(card, {"ungraded": 800}, source="demo")
    assert python_headline(card) == (800, "demo") == sql_headline(card)
    record_prices(card, {"ungraded": 950}, source="ebay")
    assert python_headline(card) == (950, "ebay") == sql_headline(card)


def test_the_watchlist_values_a_card_at_its_headline_price():
    card = make_card()
    record_prices(card, {"NM": 1100, "LP": 900}, source="tcgplayer")
    assert raw_prices([card.pk])[card.pk].market == 1100


def test_other_currencies_are_not_headlines():
    card = make_card()
    record_observations(
        [
            Observation(
                card_id=card.pk,
                source="pricecharting",
                price_key="ungraded",
                market=500,
                currency="EUR",
                observed_at=timezone.now() - dt.timedelta(hours=1),
            )
        ]
    )
    assert python_headline(card) is None
    assert sql_headline(card) is None


def test_python_and_sql_choose_the_same_headline_for_any_mix_of_prices():
    rng = random.Random(14)
    sources = ["pricecharting", "tcgplayer", "justtcg", "ebay", "demo"]
    price_keys = ["ungraded", "NM", "LP", "MP", "HP", "DMG", "PSA 10", "ANY 9"]
    now = timezone.now().replace(microsecond=0)
    card_set = make_set(code="mix1")
    for number in range(40):
        card = make_card(card_set=card_set, number=str(number + 1))
        combos = rng.sample(list(itertools.product(sources, price_keys)), rng.randint(0, 6))
        record_observations(
            Observation(
                card_id=card.pk,
                source=source,
                price_key=key,
                market=rng.randint(10, 100_000),
                observed_at=now - dt.timedelta(hours=rng.randint(1, 200)),
            )
            for source, key in combos
        )
        assert python_headline(card) == sql_headline(card), combos

    figures = headline.headline_figures(Card.objects.values_list("pk", flat=True))
    summaries = headline.headline_prices(Card.objects.values_list("pk", flat=True))
    assert figures.keys() == summaries.keys()
    for card_id, summary in summaries.items():
        assert figures[card_id] == tuple(
            getattr(summary, field) for field in headline.HeadlineFigures._fields
        )


def test_headline_figures_say_whether_the_price_is_simulated():
    real, demo = make_card(), make_card()
    record_prices(real, {"ungraded": 900})
    record_prices(demo, {"NM": 800}, source="demo")

    figures = headline.headline_figures([real.pk, demo.pk])

    assert not figures[real.pk].is_simulated
    assert figures[demo.pk].is_simulated


def test_a_set_is_worth_one_of_each_priced_card_and_counts_the_rest_as_unpriced():
    card_set = make_set(code="worth1")
    first, second, unpriced = (make_card(card_set=card_set, number=str(n)) for n in (1, 2, 3))
    record_prices(first, {"ungraded": 1000, "PSA 10": 90000})
    record_prices(second, {"NM": 250}, source="demo")
    record_prices(unpriced, {"PSA 10": 5000})

    value = headline.set_values([card_set.pk])[card_set.pk]

    assert (value.cards, value.priced, value.unpriced, value.total) == (3, 2, 1, 1250)
    assert value.simulated == 1


def test_the_most_valuable_cards_come_dearest_first_with_their_prices():
    card_set = make_set(code="worth2")
    cards = [make_card(card_set=card_set, number=str(n)) for n in range(1, 5)]
    for card, cents in zip(cards, [300, 5000, 40, 1200], strict=True):
        record_prices(card, {"ungraded": cents})

    top = headline.most_valuable(Card.objects.filter(card_set=card_set), 3)

    assert [(card.number, price.market) for card, price in top] == [
        ("2", 5000),
        ("4", 1200),
        ("1", 300),
    ]


def test_ungraded_and_near_mint_are_one_tier_where_the_more_trusted_source_decides():
    card = make_card()
    record_prices(card, {"ungraded": 900}, source="ebay")
    record_prices(card, {"NM": 1100, "LP": 800}, source="tcgplayer")
    assert python_headline(card) == (1100, "tcgplayer") == sql_headline(card)


def test_any_real_raw_price_beats_the_simulation():
    card = make_card()
    record_prices(card, {"ungraded": 800, "NM": 850}, source="demo")
    record_prices(card, {"HP": 300}, source="ebay")
    assert python_headline(card) == (300, "ebay") == sql_headline(card)


def test_the_movers_rank_a_card_by_its_headline_price():
    from prices.models import PriceSummary
    from prices.movers import representative_prices

    card = make_card()
    record_prices(card, {"ungraded": 900, "PSA 10": 9000}, source="ebay")
    record_prices(card, {"NM": 1100}, source="justtcg")
    record_prices(card, {"ungraded": 700}, source="demo")

    [chosen] = PriceSummary.objects.filter(pk__in=representative_prices(card.card_set.game))
    assert (chosen.market, chosen.source) == python_headline(card)


def test_a_page_of_many_cards_reads_each_ones_headline():
    card_set = make_set(code="many1")
    cards = [make_card(card_set=card_set, number=str(n)) for n in range(headline.MANY_IDS + 10)]
    for n, card in enumerate(cards):
        record_prices(card, {"ungraded": 100 + n, "NM": 5000})

    figures = headline.headline_figures(card.pk for card in cards)

    assert {card_id: price.market for card_id, price in figures.items()} == {
        card.pk: 100 + n for n, card in enumerate(cards)
    }


def test_a_page_of_many_cards_gets_the_figures_of_the_summaries_each_one_would_get():
    # On PostgreSQL the ids go as one array parameter, through a query compiled once:
    # the same choice, the same columns with the same types.
    rng = random.Random(3)
    now = timezone.now()
    card_set = make_set(code="many2")
    cards = [make_card(card_set=card_set, number=str(n)) for n in range(headline.MANY_IDS + 5)]
    for card in cards:
        combos = rng.sample(
            list(itertools.product(["pricecharting", "ebay", "demo"], ["ungraded", "NM", "LP"])),
            rng.randint(0, 3),
        )
        record_observations(
            Observation(
                card_id=card.pk,
                source=source,
                price_key=key,
                market=rng.randint(10, 100_000),
                observed_at=now - dt.timedelta(hours=rng.randint(1, 200), microseconds=7),
            )
            for source, key in combos
        )
    ids = [card.pk for card in cards]

    figures = headline.headline_figures(ids + ids[:3])

    summaries = headline.headline_prices(ids)
    assert 0 < len(figures) < len(cards)
    assert {
        card_id: [(getattr(price, field), type(getattr(price, field))) for field in price._fields]
        for card_id, price in figures.items()
    } == {
        card_id: [
            (getattr(summary, field), type(getattr(summary, field)))
            for field in headline.HeadlineFigures._fields
        ]
        for card_id, summary in summaries.items()
    }
    assert headline.headline_figures(ids[:2]) == {
        card_id: figures[card_id] for card_id in ids[:2] if card_id in figures
    }


def test_lists_sort_by_the_headline_kept_for_each_card_refreshed_after_writes():
    card_set = make_set(code="sorted")
    cheap, dear, unpriced = (make_card(card_set=card_set, number=str(n)) for n in (1, 2, 3))
    record_prices(cheap, {"ungraded": 300, "PSA 10": 90000})
    record_prices(dear, {"NM": 5000}, source="tcgplayer")

    def by_price():
        cards = order_cards(
            Card.objects.filter(card_set=card_set), "price-high", False, headline.annotate
        )
        return [card.number for card in cards]

    # The write's task (run at once in the tests) has chosen again: no price is chosen
    # per card when the list is read.
    assert by_price() == ["2", "1", "3"]
    assert set(CardHeadline.objects.values_list("card_id", "market")) == {
        (cheap.pk, 300),
        (dear.pk, 5000),
    }
    assert "prices_pricesummary" not in str(
        order_cards(Card.objects.all(), "price-high", False, headline.annotate).query
    )

    # Written past the write path (no task queued): the order waits for the next refresh.
    PriceSummary.objects.filter(card=cheap, price_key="ungraded").update(market=9000)
    PriceSummary.objects.create(
        card=unpriced, source="ebay", price_key="ungraded", market=100, observed_at=timezone.now()
    )
    assert by_price() == ["2", "1", "3"]
    headline.refresh_card_headlines()
    assert by_price() == ["1", "2", "3"]

    # A card left without a raw price leaves the sort; its graded prices never count.
    PriceSummary.objects.filter(card=cheap, price_key="ungraded").delete()
    headline.refresh_card_headlines()
    assert by_price() == ["2", "3", "1"]
    assert not CardHeadline.objects.filter(card=cheap).exists()


def test_the_kept_headlines_are_the_ones_chosen_in_python_for_any_mix_of_prices():
    rng = random.Random(13)
    cards = [make_card() for _ in range(30)]
    now = timezone.now().replace(microsecond=0)
    for card in cards:
        for source in rng.sample(["pricecharting", "tcgplayer", "justtcg", "ebay", "demo"], 3):
            keys = rng.sample(["ungraded", "NM", "LP", "DMG", "PSA 10"], 2)
            PriceSummary.objects.bulk_create(
                [
                    PriceSummary(
                        card=card,
                        source=source,
                        price_key=key,
                        market=rng.randrange(1, 10_000),
                        change_7d=rng.choice([None, rng.uniform(-50, 50)]),
                        observed_at=now - dt.timedelta(hours=rng.randrange(0, 100)),
                    )
                    for key in keys
                ]
            )
    headline.refresh_card_headlines()
    chosen = headline.headline_prices(card.pk for card in cards)
    kept = {row.card_id: (row.market, row.change_7d) for row in CardHeadline.objects.all()}
    assert kept == {pk: (price.market, price.change_7d) for pk, price in chosen.items()}
