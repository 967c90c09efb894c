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

    # A superuser's address is verified as it is saved (tcgtracker.accounts).
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


def make_collection(user=None, **overrides):
    from collections_app.models import Collection

    n = next(_sequence)
    fields = {"user": user or make_user(), "name": f"Collection {n}"}
    fields.update(overrides)
    return Collection.objects.create(**fields)


def make_item(collection=None, card=None, **overrides):
    """A raw Near Mint copy unless a condition or grade is given."""
    from collections_app.models import CollectionItem

    fields = {
        "collection": collection or make_collection(),
        "card": card or make_card(),
        "quantity": 1,
    }
    fields.update(overrides)
    if not fields.get("grader") and not fields.get("condition"):
        fields["condition"] = "NM"
    return CollectionItem.objects.create(**fields)


def record_prices(card, prices, *, source="pricecharting", observed_at=None):
    """Record current prices for a card through the real write path: {price key: cents}."""
    import datetime as dt

    from django.utils import timezone

    from prices.writing import Observation, record_observations

    observed_at = observed_at or timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)
    return record_observations(
        Observation(
            card_id=card.pk,
            source=source,
            price_key=key,
            market=cents,
            observed_at=observed_at,
        )
        for key, cents in prices.items()
    )


def unsaved_summary(price_key, market, *, source="pricecharting", hours=1, currency="USD"):
    """A price summary as the pages read it, observed `hours` ago; not saved."""
    import datetime as dt

    from django.utils import timezone

    from prices.models import PriceSummary

    return PriceSummary(
        source=source,
        price_key=price_key,
        market=market,
        currency=currency,
        observed_at=timezone.now() - dt.timedelta(hours=hours),
    )
