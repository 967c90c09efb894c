"""Rows as the API shows them. Money is a decimal string in the row's currency ("12.34"),
times are ISO 8601 in UTC with a "Z", dates are YYYY-MM-DD."""

import datetime as dt
import functools

from django.utils import timezone

from alerts.models import Alert
from cards.models import Card, CardSet, card_urls
from collections_app.models import Collection, Watch
from collections_app.valuation import CollectionValuation, ItemValuation
from prices import history, keys, stats
from prices.models import PriceSummary, Source
from prices.templatetags.prices import STALE_AFTER
from tcgtracker.lib.urls import absolute_url, site_root


def money(cents: int | None) -> str | None:
    """12345 → "123.45", -5 → "-0.05": the decimal amount to the cent, written from the
    integer (a card search writes some 200 of them)."""
    if cents is None:
        return None
    cents = int(cents)
    if cents >= 0:
        return f"{cents // 100}.{cents % 100:02d}"
    whole, part = divmod(-cents, 100)
    return f"-{whole}.{part:02d}"


# A price key's label, kept: a page of prices asks for the same few keys again and again.
key_label = functools.lru_cache(maxsize=1024)(keys.label)


def moment(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return _moment(value)


@functools.lru_cache(maxsize=8192)
def _moment(value: dt.datetime) -> str:
    # Kept: the prices of a page share their moments, and an aware isoformat() is slow.
    # To the second: ISO 8601's first 19 characters, which isoformat() writes faster than
    # strftime() (a list answers several per row).
    return value.astimezone(dt.UTC).isoformat()[:19] + "Z"


def percent(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def site_url(path: str) -> str:
    return absolute_url(path)


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


def card_summary(card: Card, url: str = "") -> dict:
    """A card's facts; its set must be loaded with it (select_related). `url`, its page's
    absolute address, where the caller has it (card_summaries)."""
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
        "url": url or site_url(card.get_absolute_url()),
    }


def card_summaries(cards: list[Card]) -> list[dict]:
    """card_summary() of each card, their addresses written from one reverse() and one
    site root for the list (cards.models.card_urls)."""
    root = site_root()
    return [
        card_summary(card, root + path) for card, path in zip(cards, card_urls(cards), strict=True)
    ]


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


@functools.lru_cache(maxsize=64)
def _source_facts(source: str) -> tuple[str, str | None, bool]:
    """A source's name, qualifier and whether it is the simulation: the same for every
    price of the source."""
    return (
        history.source_name(source),
        history.source_qualifier(source) or None,
        source == Source.DEMO,
    )


def price(summary: PriceSummary, now: dt.datetime | None = None) -> dict:
    """One current price (source × price key) with how fresh and how well sampled it is."""
    now = now or timezone.now()
    source, observed_at = summary.source, summary.observed_at
    name, qualifier, simulated = _source_facts(source)
    age = now - observed_at
    return {
        "source": source,
        "source_name": name,
        "key": summary.price_key,
        "key_label": key_label(summary.price_key),
        "currency": summary.currency,
        "market": money(summary.market),
        "low": money(summary.low),
        "high": money(summary.high),
        "sample_size": history.key_sample(summary),
        "product_sales_volume": history.product_sample(summary),
        "observed_at": moment(observed_at),
        "age_seconds": max(0, int(age.total_seconds())),
        "stale": age > STALE_AFTER,
        "change_percent": {
            "1d": percent(summary.change_1d),
            "7d": percent(summary.change_7d),
            "30d": percent(summary.change_30d),
        },
        "all_time_high": money(summary.all_time_high),
        "all_time_low": money(summary.all_time_low),
        "qualifier": qualifier,
        "simulated": simulated,
    }


def history_point(source: str, point: history.HistoryPoint) -> dict:
    """One point of a history series: its market, and its range and sample where the
    source reported them (a day's or week's average: the bucket's widest range and largest
    sample). PriceCharting counts its sales per card, not per grade: that is
    product_sales_volume, never the grade's sample_size."""
    product_wide = source in history.PRODUCT_WIDE_SAMPLES
    return {
        "t": moment(point.moment),
        "market": money(point.market),
        "low": money(point.low),
        "high": money(point.high),
        "sample_size": None if product_wide else point.sample_size,
        "product_sales_volume": point.sample_size if product_wide else None,
    }


def line_stats(line: stats.LineStats) -> dict:
    """One line's statistics over a period (prices.stats)."""
    low, high = line.trend.interval or (None, None)
    return {
        "source": line.source,
        "source_name": history.source_name(line.source),
        "key": line.price_key,
        "key_label": key_label(line.price_key),
        "currency": line.currency,
        "simulated": line.simulated,
        "observations": line.observations,
        "days": line.days,
        "first_day": line.first_day.date().isoformat(),
        "last_day": line.last_day.date().isoformat(),
        "average": money(line.average),
        "median": money(line.median),
        "low": money(line.low),
        "high": money(line.high),
        "volatility_percent": _rounded(line.volatility),
        "trend": {
            "direction": line.trend.direction,
            "percent_per_month": _rounded(line.trend.percent_per_month),
            "interval_low": _rounded(low),
            "interval_high": _rounded(high),
        },
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# --- The key holder's own ---------------------------------------------------------------------


def decimal_text(value) -> str | None:
    return None if value is None else f"{value:.2f}"


def alert(alert: Alert) -> dict:
    """One alert; its card and set must be loaded with it (and its channels, for many)."""
    return {
        "id": alert.pk,
        "card": card_summary(alert.card),
        "price_key": alert.price_key,
        "key_label": key_label(alert.price_key),
        "source": alert.source or None,
        "kind": alert.kind,
        "threshold": money(alert.threshold),
        "percent": decimal_text(alert.percent),
        "window": alert.window,
        "cooldown_hours": int(alert.cooldown.total_seconds() // 3600),
        "active": alert.active,
        "armed": alert.armed,
        "description": alert.describe(),
        "summary": alert.in_words(),
        "channels": (["email"] if alert.notify_email else [])
        + [str(channel.pk) for channel in alert.channels.all()],
        "last_triggered_at": moment(alert.last_triggered_at),
        "last_triggered_price": money(alert.last_triggered_price),
        "created_at": moment(alert.created_at),
        "updated_at": moment(alert.updated_at),
        "url": site_url(alert.get_absolute_url()),
    }


def collection(collection: Collection, valuation: CollectionValuation) -> dict:
    return {
        "id": collection.pk,
        "name": collection.name,
        "basis_source": collection.basis_source or None,
        "basis_key": collection.basis_key or None,
        "shared": collection.is_shared,
        "items": len(valuation.items),
        "copies": valuation.copies,
        "currency": valuation.currency,
        "value": money(valuation.value),
        "cost": money(valuation.cost),
        "gain": money(valuation.gain),
        "unpriced_items": len(valuation.unpriced),
        "simulated": valuation.simulated,
        "created_at": moment(collection.created_at),
        "updated_at": moment(collection.updated_at),
        "url": site_url(collection.get_absolute_url()),
    }


def item(row: ItemValuation) -> dict:
    """One lot as valued; its card and set must be loaded with it."""
    lot = row.item
    return {
        "id": lot.pk,
        "collection_id": lot.collection_id,
        "card": card_summary(lot.card),
        "quantity": lot.quantity,
        "condition": lot.condition or None,
        "grader": lot.grader or None,
        "grade": None if lot.grade is None else format(lot.grade.normalize(), "f"),
        "grade_label": lot.grade_label or None,
        "price_key": lot.price_key,
        "key_label": key_label(lot.price_key),
        "purchase_price": money(lot.purchase_price),
        "purchase_date": lot.purchase_date.isoformat() if lot.purchase_date else None,
        "acquired_from": lot.acquired_from,
        "notes": lot.notes,
        "value": money(row.value),
        "gain": money(row.gain),
        "created_at": moment(lot.created_at),
        "updated_at": moment(lot.updated_at),
    }


def watch(watch: Watch) -> dict:
    return {"card": card_summary(watch.card), "created_at": moment(watch.created_at)}
