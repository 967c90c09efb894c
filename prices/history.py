"""One card's prices as its page shows them: the current price table and the history chart.

Both read a fixed number of queries whatever the length of the history: the table reads
the summaries (one row per source and price key), the chart reads the series in one
query, grouped by day or week in the database for the long periods so that neither the
query nor the payload grows with the history.

The chart's moments are UTC wall-clock times without a zone: sources report prices per
UTC day (PriceCharting's at midnight), and a browser in New York would otherwise draw
30 November's price on the evening of the 29th.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Avg, DateField
from django.db.models.functions import Trunc
from django.utils import dateformat, timezone

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
# Sources whose sample size counts the sales of the whole product, whatever the grade
# (PriceCharting's `sales-volume`): shown once for the source, never as one grade's
# sample, and never added up. Every other source counts its sample per price key.
PRODUCT_WIDE_SAMPLES = frozenset({Source.PRICECHARTING})


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
MIDNIGHT = dt.time()
SHORTEST_SPAN = min(period.span for period in PERIODS.values() if period.span)

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
# More lines than this and the rest start hidden; the toggles show them. PriceCharting
# alone reports nine grades: all of them show.
VISIBLE_LINES = 9


def source_name(source: str) -> str:
    return SOURCE_NAMES.get(source, source)


def source_qualifier(source: str) -> str:
    return QUALIFIERS.get(source, "")


def series_label(source: str, price_key: str) -> str:
    """ "PriceCharting · PSA 10", "eBay · Ungraded (asks)", "Demo · Ungraded (simulated)"."""
    label = f"{source_name(source)} · {keys.label(price_key)}"
    qualifier = source_qualifier(source)
    return f"{label} ({qualifier})" if qualifier else label


def key_sample(price: PriceSummary | PricePoint) -> int | None:
    """The sales or listings behind this one figure; None where the source counts its
    sample for the whole product rather than per price key."""
    return None if price.source in PRODUCT_WIDE_SAMPLES else price.sample_size


def product_sample(price: PriceSummary | PricePoint) -> int | None:
    """The sales the source counts for the whole product (PriceCharting's sales volume);
    None for sources that count their sample per price key."""
    return price.sample_size if price.source in PRODUCT_WIDE_SAMPLES else None


@dataclass(frozen=True)
class SourcePrices:
    """One source's rows of the price table."""

    source: str
    prices: list[PriceSummary]

    @property
    def sample_is_product_wide(self) -> bool:
        return self.source in PRODUCT_WIDE_SAMPLES

    @property
    def product_sample(self) -> int | None:
        """The product-wide sample of the source's latest figure, shown once for the source."""
        latest = max(self.prices, key=lambda summary: summary.observed_at)
        return product_sample(latest)


def by_source(prices: list[PriceSummary]) -> list[SourcePrices]:
    """current_prices() grouped per source, in the same order."""
    groups: dict[str, list[PriceSummary]] = {}
    for summary in prices:
        groups.setdefault(summary.source, []).append(summary)
    return [SourcePrices(source, summaries) for source, summaries in groups.items()]


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
        # Truncated to a date, which the driver hands over as it is: a datetime would go
        # through Django's time-zone conversion per row, most of a year's chart's time.
        zone = timezone.get_current_timezone()
        rows = (
            (row_source, row_key, currency, dt.datetime.combine(day, MIDNIGHT, zone), market)
            for row_source, row_key, currency, day, market in (
                points.annotate(day=Trunc("observed_at", spec.bucket, output_field=DateField()))
                .values_list("source", "price_key", "currency", "day")
                .annotate(market=Avg("market"))
                .order_by("source", "price_key", "currency", "day")
            )
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
    """Chart.js-ready history of one card for a period: one dataset per (source, key) and
    the bounds of the x axis.

    The axis spans the period whatever the data holds, so a first day of prices is a day
    on a week, not a lone instant. A line with one point says which day it is. Real
    prices come first: while the period has any, simulated lines start hidden (one toggle
    away); each real source shows at least its first line.
    """
    spec = PERIODS[period]
    now = now or timezone.now()
    lines = history_lines(card.pk, period, now)
    currencies = {currency for _, _, currency in lines}
    has_real = any(source != Source.DEMO for source, _, _ in lines)
    datasets = []
    shown, shown_sources = 0, set()
    for index, ((source, price_key, currency), points) in enumerate(lines.items()):
        label = series_label(source, price_key)
        if len(currencies) > 1:
            label = f"{label} [{currency}]"
        if len(points) == 1:
            label = f"{label} — {_single_point(points[0][0], spec.bucket)}"
        simulated = source == Source.DEMO
        hidden = (simulated and has_real) or (source in shown_sources and shown >= VISIBLE_LINES)
        if not hidden:
            shown += 1
            shown_sources.add(source)
        color = PALETTE[index % len(PALETTE)]
        datasets.append(
            {
                "key": f"{source}|{price_key}|{currency}",
                "label": label,
                "source": source,
                "priceKey": price_key,
                "currency": currency,
                "simulated": simulated,
                "data": [
                    {"x": _moment(moment), "y": round(cents_to_float(cents), 2)}
                    for moment, cents in points
                ],
                "borderColor": color,
                "backgroundColor": color,
                "borderDash": [6, 4] if simulated else [],
                "hidden": hidden,
            }
        )
    start, end = _axis(spec, now, lines)
    return {
        "period": spec.value,
        "bucket": spec.bucket or "",
        "currency": next(iter(currencies)) if len(currencies) == 1 else "USD",
        "simulated": any(d["simulated"] for d in datasets),
        "axis": {"min": _moment(start), "max": _moment(end)},
        "datasets": datasets,
    }


def _axis(spec: Period, now: dt.datetime, lines: dict) -> tuple[dt.datetime, dt.datetime]:
    """The period up to now; "all" from the first point, and never shorter than the
    shortest period so that a first day does not fill the width. A day or week bucket
    may start before the period: the axis starts with it."""
    moments = [moment for points in lines.values() for moment, _ in points]
    first, last = min(moments, default=now), max(moments, default=now)
    if spec.span is None:
        return min(first, now - SHORTEST_SPAN), max(last, now)
    return min(first, now - spec.span), max(last, now)


def _single_point(moment: dt.datetime, bucket: str | None) -> str:
    day = dateformat.format(moment.astimezone(dt.UTC), "j M Y")
    if bucket == "week":
        return f"one week, from {day}"
    if bucket == "day":
        return f"one day, {day}"
    return f"one price, {day}"


def _moment(moment: dt.datetime) -> str:
    # UTC wall-clock without a zone: see the module docstring.
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
