"""One card's prices as its page shows them: the current price table and the history chart.

Both read a fixed number of queries whatever the length of the history: the table reads
the summaries (one row per source and price key), the chart reads the series in one
query, grouped by day or week in the database for the long periods so that neither the
query nor the payload grows with the history.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Avg
from django.db.models.functions import Trunc
from django.utils import timezone

from prices import keys
from prices.models import PricePoint, PriceSummary, Source
from tcgtracker.lib.money import cents_to_float

# Shown beside every figure from these sources; the same words as the clients'
# `qualifier` (prices/sources/), kept here so showing a price needs no HTTP client.
QUALIFIERS = {Source.EBAY: "asks", Source.DEMO: "simulated"}
SOURCE_NAMES = {
    Source.PRICECHARTING: "PriceCharting",
    Source.EBAY: "eBay",
    Source.JUSTTCG: "JustTCG",
    Source.TCGPLAYER: "TCGplayer",
    Source.DEMO: "Demo",
}
SOURCE_ORDER = {source: index for index, source in enumerate(Source.values)}


@dataclass(frozen=True)
class Period:
    value: str
    label: str
    span: dt.timedelta | None  # None: the whole history
    bucket: str | None  # None: every point; else a Trunc kind ("day", "week")


PERIODS = {
    period.value: period
    for period in [
        Period("7d", "7D", dt.timedelta(days=7), None),
        Period("30d", "30D", dt.timedelta(days=30), None),
        Period("3m", "3M", dt.timedelta(days=91), "day"),
        Period("1y", "1Y", dt.timedelta(days=365), "day"),
        Period("all", "All", None, "week"),
    ]
}
DEFAULT_PERIOD = "30d"

# Distinct on white and for the common colour-vision deficiencies, in order of use.
PALETTE = [
    "#1d4ed8",
    "#e07b00",
    "#15803d",
    "#b91c1c",
    "#7c3aed",
    "#0e7490",
    "#be185d",
    "#4d7c0f",
    "#92400e",
    "#475569",
]
# More lines than this and the rest start hidden; the toggles show them.
VISIBLE_LINES = 6


def source_name(source: str) -> str:
    return SOURCE_NAMES.get(source, source)


def source_qualifier(source: str) -> str:
    return QUALIFIERS.get(source, "")


def series_label(source: str, price_key: str) -> str:
    """ "PriceCharting · PSA 10", "eBay · Ungraded (asks)", "Demo · Ungraded (simulated)"."""
    label = f"{source_name(source)} · {keys.label(price_key)}"
    qualifier = source_qualifier(source)
    return f"{label} ({qualifier})" if qualifier else label


def current_prices(card) -> list[PriceSummary]:
    """The card's summaries in table order: by source, then raw before graded. One query."""
    summaries = PriceSummary.objects.filter(card=card)
    return sorted(
        summaries,
        key=lambda s: (SOURCE_ORDER.get(s.source, len(SOURCE_ORDER)), keys.sort_key(s.price_key)),
    )


def history_lines(
    card_id: int, period: str, now: dt.datetime, *, source: str = "", price_key: str = ""
) -> dict[tuple[str, str, str], list[tuple[dt.datetime, int]]]:
    """One card's history for a period: (moment, cents) per (source, price key, currency),
    in display order, optionally for one source or key.

    Short periods return every point; long ones one averaged point per day or week,
    computed by the database. One query whatever the history's length.
    """
    spec = PERIODS[period]
    points = PricePoint.objects.filter(card_id=card_id)
    if spec.span is not None:
        points = points.filter(observed_at__gte=now - spec.span)
    if source:
        points = points.filter(source=source)
    if price_key:
        points = points.filter(price_key=price_key)
    if spec.bucket:
        rows = (
            points.annotate(moment=Trunc("observed_at", spec.bucket))
            .values_list("source", "price_key", "currency", "moment")
            .annotate(market=Avg("market"))
            .order_by("source", "price_key", "currency", "moment")
        )
    else:
        rows = points.order_by("source", "price_key", "currency", "observed_at").values_list(
            "source", "price_key", "currency", "observed_at", "market"
        )
    lines: dict[tuple[str, str, str], list[tuple[dt.datetime, int]]] = {}
    for row_source, row_key, currency, moment, market in rows:
        lines.setdefault((row_source, row_key, currency), []).append((moment, round(market)))
    ordered = sorted(
        lines,
        key=lambda line: (
            SOURCE_ORDER.get(line[0], len(SOURCE_ORDER)),
            keys.sort_key(line[1]),
            line[2],
        ),
    )
    return {line: lines[line] for line in ordered}


def history_series(card, period: str, now: dt.datetime | None = None) -> dict:
    """Chart.js-ready history of one card for a period: one dataset per (source, key)."""
    spec = PERIODS[period]
    lines = history_lines(card.pk, period, now or timezone.now())
    by_line = {
        line: [
            {"x": _iso(moment), "y": round(cents_to_float(cents), 2)} for moment, cents in points
        ]
        for line, points in lines.items()
    }
    ordered = list(by_line)
    currencies = {currency for _, _, currency in ordered}
    datasets = []
    for index, (source, price_key, currency) in enumerate(ordered):
        label = series_label(source, price_key)
        if len(currencies) > 1:
            label = f"{label} [{currency}]"
        simulated = source == Source.DEMO
        color = PALETTE[index % len(PALETTE)]
        datasets.append(
            {
                "key": f"{source}|{price_key}|{currency}",
                "label": label,
                "source": source,
                "priceKey": price_key,
                "currency": currency,
                "simulated": simulated,
                "data": by_line[(source, price_key, currency)],
                "borderColor": color,
                "backgroundColor": color,
                "borderDash": [6, 4] if simulated else [],
                "hidden": index >= VISIBLE_LINES,
            }
        )
    return {
        "period": spec.value,
        "bucket": spec.bucket or "",
        "currency": next(iter(currencies)) if len(currencies) == 1 else "USD",
        "simulated": any(d["simulated"] for d in datasets),
        "datasets": datasets,
    }


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
