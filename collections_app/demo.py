"""The demo login's collection and watchlist, so a fresh `make run` shows the portfolio.

What the demo collector "paid" is the simulated demo price of the day they bought (from
the same deterministic walk the demo source uses), so gain and loss are as simulated as
the prices themselves and labelled so. Made once: an existing collection of the demo
user is never touched again.
"""

import datetime as dt
import itertools

from django.db import transaction
from django.utils import timezone

from cards.models import Card
from collections_app.models import Collection, CollectionItem, Watch
from prices import keys
from prices.sources import demo

DEMO_COLLECTION = "Demo binder (simulated prices)"
# (days ago bought, quantity, condition or grade, where) for the most valuable demo cards.
PURCHASES = [
    (300, 1, "NM", "Local card shop"),
    (240, 2, "LP", "Trade night"),
    (180, 1, "PSA 10", "eBay"),
    (150, 1, "PSA 9", "Card show"),
    (120, 3, "NM", "Booster packs"),
    (90, 1, "MP", "Flea market"),
    (45, 1, "PSA 10", "Card show"),
    (20, 2, "NM", "TCGplayer"),
    (5, 1, "NM", "Friend"),
]
WATCHED = 6


def create_demo_collection(user, today: dt.date | None = None) -> Collection | None:
    """The demo user's collection and watches; None when they already have a collection."""
    today = today or timezone.localdate()
    if Collection.objects.filter(user=user).exists():
        return None
    singles = list(
        Card.objects.filter(kind=Card.Kind.SINGLE)
        .select_related("card_set")
        .order_by("card_set__game", "card_set__release_date", "sort_number", "pk")
    )
    if not singles:
        return None
    ranked = _dearest_of_each_set(singles)
    with transaction.atomic():
        collection = Collection.objects.create(user=user, name=DEMO_COLLECTION)
        items = []
        for card, (days_ago, quantity, grading, where) in zip(ranked, PURCHASES, strict=False):
            bought = today - dt.timedelta(days=days_ago)
            graded = grading not in keys.CONDITIONS
            price_key = grading if graded else keys.UNGRADED
            paid = _simulated_price(card, price_key, bought)
            items.append(
                CollectionItem(
                    collection=collection,
                    card=card,
                    quantity=quantity,
                    condition="" if graded else grading,
                    grader=grading.split()[0] if graded else "",
                    grade=grading.split()[1] if graded else None,
                    purchase_price=paid,
                    purchase_date=bought,
                    acquired_from=where,
                )
            )
        CollectionItem.objects.bulk_create(items)
        watched = ranked[len(PURCHASES) : len(PURCHASES) + WATCHED]
        Watch.objects.bulk_create(
            [Watch(user=user, card=card) for card in watched], ignore_conflicts=True
        )
    return collection


def _dearest_of_each_set(cards: list[Card]) -> list[Card]:
    """The dearest card of each set, then the second dearest of each, and so on: a demo
    binder with something from every game and set."""
    by_set: dict[int, list[Card]] = {}
    for card in cards:
        by_set.setdefault(card.card_set_id, []).append(card)
    for members in by_set.values():
        members.sort(key=lambda card: -demo.level_cents(card, keys.UNGRADED))
    rounds = itertools.zip_longest(*by_set.values())
    return [card for round_ in rounds for card in round_ if card is not None]


def _simulated_price(card: Card, price_key: str, day: dt.date) -> int | None:
    for _, market, *_ in demo.walk(card, price_key, [day]):
        return market
    return None
