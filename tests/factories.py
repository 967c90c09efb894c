"""Small factory helpers: explicit test data, no fixtures files."""

import itertools

from django.contrib.auth import get_user_model

from cards.models import Card, CardSet, Game

_sequence = itertools.count(1)


def make_set(**overrides) -> CardSet:
    n = next(_sequence)
    fields = {
        "game": Game.POKEMON,
        "code": f"set{n}",
        "name": f"Test Set {n}",
        "series": "Test",
        "printed_total": 100,
        "total": 110,
    }
    fields.update(overrides)
    return CardSet.objects.create(**fields)


def make_card(**overrides) -> Card:
    if "card_set" not in overrides:
        overrides["card_set"] = make_set()
    n = next(_sequence)
    fields = {"number": str(n), "name": f"Test Card {n}", "rarity": "Common"}
    fields.update(overrides)
    return Card.objects.create(**fields)


def make_user(email=None, password="correct horse battery staple", **overrides):
    n = next(_sequence)
    email = email or f"user{n}@example.com"
    user = get_user_model().objects.create_user(
        username=overrides.pop("username", f"user{n}"), email=email, password=password, **overrides
    )
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user
