"""Rows as the API shows them. Money is a decimal string in the row's currency ("12.34"),
times are ISO 8601 in UTC with a "Z", dates are YYYY-MM-DD."""

import datetime as dt

from django.conf import settings
from django.utils import timezone

from cards.models import Card, CardSet
from prices import history, keys
from prices.models import PriceSummary, Source
from prices.templatetags.prices import STALE_AFTER
from tcgtracker.lib.money import cents_to_decimal


def money(cents: int | None) -> str | None:
    if cents is None:
        return None
    return f"{cents_to_decimal(cents):.2f}"


def moment(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def percent(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def site_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def set_facts(card_set: CardSet) -> dict:
    return {
        "code": card_set.code,
        "game": card_set.game,
        "name": card_set.name,
        "series": card_set.series,
        "release_date": card_set.release_date.isoformat() if card_set.release_date else None,
        "printed_total": card_set.printed_total,
        "total": card_set.total,
        "language": card_set.language,
    }


def card_summary(card: Card) -> dict:
    """A card's facts; its set must be loaded with it (select_related)."""
    return {
        "id": card.pk,
        "name": card.name,
        "game": card.card_set.game,
        "set": {"code": card.card_set.code, "name": card.card_set.name},
        "number": card.number,
        "display_number": card.display_number,
        "variant": card.variant,
        "rarity": card.rarity,
        "kind": card.kind,
        "image_url": card.image_url or None,
        "url": site_url(card.get_absolute_url()),
    }


def card_detail(card: Card, prices: list[PriceSummary], now: dt.datetime) -> dict:
    return {
        **card_summary(card),
        "set": set_facts(card.card_set),
        "variant_label": card.variant_label,
        "category": card.category,
        "color": card.color,
        "printed_in": card.printed_in,
        "external_ids": {
            "pricecharting": card.pricecharting_id or None,
            "tcgplayer": card.tcgplayer_id or None,
            "justtcg": card.justtcg_id or None,
        },
        "simulated": any(summary.is_simulated for summary in prices),
        "prices": [price(summary, now) for summary in prices],
    }


def price(summary: PriceSummary, now: dt.datetime | None = None) -> dict:
    """One current price (source × price key) with how fresh and how well sampled it is."""
    now = now or timezone.now()
    age = max(0, int((now - summary.observed_at).total_seconds()))
    return {
        "source": summary.source,
        "source_name": history.source_name(summary.source),
        "key": summary.price_key,
        "key_label": keys.label(summary.price_key),
        "currency": summary.currency,
        "market": money(summary.market),
        "low": money(summary.low),
        "high": money(summary.high),
        "sample_size": history.key_sample(summary),
        "product_sales_volume": history.product_sample(summary),
        "observed_at": moment(summary.observed_at),
        "age_seconds": age,
        "stale": now - summary.observed_at > STALE_AFTER,
        "change_percent": {
            "1d": percent(summary.change_1d),
            "7d": percent(summary.change_7d),
            "30d": percent(summary.change_30d),
        },
        "all_time_high": money(summary.all_time_high),
        "all_time_low": money(summary.all_time_low),
        "qualifier": history.source_qualifier(summary.source) or None,
        "simulated": summary.source == Source.DEMO,
    }
