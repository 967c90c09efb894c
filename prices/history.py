"""One card's prices as its page shows them: the current price table and the history chart.

Both read a fixed number of queries whatever the length of the history: the table reads
the summaries (one row per source and price key), the chart reads the period in one
query (read_period) — grouped per day in the database for the long periods, so that
neither the query nor the payload grows with the history —, and the period's statistics
(prices.stats) come from the same rows.

The chart's moments are UTC wall-clock times without a zone: sources report prices per
UTC day (PriceCharting's at midnight), and a browser in New York would otherwise draw
30 November's price on the evening of the 29th.
"""

import datetime as dt
import functools
import itertools
import json
import operator
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Avg, Count, DateField, FloatField, Max, Min
from django.db.models.functions import Cast, Trunc
from django.utils import dateformat, timezone
from django.utils.safestring import SafeString, mark_safe

from prices import keys
from prices.models import PricePoint, PriceSummary, Source
from tcgtracker.lib.html import format_html
from tcgtracker.lib.money import cents_to_float
from tcgtracker.lib.sql import CompiledQuery

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
    words: str  # "the last 30 days", for sentences


PERIODS = {
    period.value: period
    for period in [
        Period("7d", "7D", dt.timedelta(days=7), None, "the last 7 days"),
        Period("30d", "30D", dt.timedelta(days=30), None, "the last 30 days"),
        Period("3m", "3M", dt.timedelta(days=91), "day", "the last 3 months"),
        Period("1y", "1Y", dt.timedelta(days=365), "day", "the last year"),
        Period("all", "All", None, "week", "all time"),
    ]
}
DEFAULT_PERIOD = "30d"
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


# Compiled once per process (tcgtracker.lib.sql): every card page reads it.
_SUMMARIES = CompiledQuery(
    lambda card_id: PriceSummary.objects.filter(card_id=card_id), card_id=int
)


def current_prices(card) -> list[PriceSummary]:
    """The card's summaries in table order: by source, then raw before graded. One query."""
    return sorted(
        _SUMMARIES.objects(card_id=card.pk),
        key=lambda s: (SOURCE_ORDER.get(s.source, len(SOURCE_ORDER)), keys.sort_key(s.price_key)),
    )


class HistoryPoint(NamedTuple):
    """One point of a line: an observation, or a day's or week's average. For an average,
    low and high are the lowest low and highest high of the bucket's observations and
    sample the largest sample behind any of them (samples of overlapping windows do not
    add up); each None where no observation had one."""

    moment: dt.datetime
    market: int  # cents
    low: int | None
    high: int | None
    sample_size: int | None


Line = tuple[str, str, str]  # (source, price key, currency)


class DailyPrice(NamedTuple):
    """One line's observations of one UTC day, summed up."""

    day: dt.datetime  # midnight UTC
    mean: float  # cents: the average market of the day
    observations: int
    lowest: int  # the lowest and highest market observed
    highest: int
    # The source's own range and sample: the lowest low, highest high and largest sample
    # of the day's observations; None where none had one.
    range_low: int | None = None
    range_high: int | None = None
    sample_size: int | None = None


class PeriodData:
    """A card's history for one period, read in one query: the chart's points and the
    daily prices the statistics (prices.stats) are computed from, per line, in display
    order. A long period reads the daily prices and makes the chart's points from them
    only when asked: the statistics alone need none."""

    def __init__(
        self,
        days: dict[Line, list[DailyPrice]],
        lines: dict[Line, list[HistoryPoint]] | None = None,
        bucket: str | None = None,
    ):
        self.days = days
        self.bucket = bucket
        if lines is not None:
            self.lines = lines

    @cached_property
    def lines(self) -> dict[Line, list[HistoryPoint]]:
        return {line: _buckets(line_days, self.bucket) for line, line_days in self.days.items()}


def read_period(
    card_id: int, period: str, now: dt.datetime, *, source: str = "", price_key: str = ""
) -> PeriodData:
    """One card's history for a period, optionally for one source or key, in one query
    whatever the history's length.

    Short periods (7d, 30d) read every point: the chart shows each, and Python sums them
    up per day. Long ones read one row per line and day, summed up by the database: the
    chart shows the days (3m, 1y) or weeks (all) — a week's average is its observations'
    average, whichever days they fall on.
    """
    spec = PERIODS[period]
    since = now - spec.span if spec.span is not None else None
    if spec.bucket:
        days = _daily_rows(card_id, since, source, price_key)
        order = sorted(days, key=_line_order)
        return PeriodData({line: days[line] for line in order}, bucket=spec.bucket)
    lines = _every_point(card_id, since, source, price_key)
    order = sorted(lines, key=_line_order)
    return PeriodData(
        {line: _days_of(lines[line]) for line in order}, {line: lines[line] for line in order}
    )


def history_lines(
    card_id: int, period: str, now: dt.datetime, *, source: str = "", price_key: str = ""
) -> dict[Line, list[HistoryPoint]]:
    """One card's chart points for a period per (source, price key, currency), in display
    order: every point for the short periods, one average per day or week for the long
    ones. One query (read_period)."""
    return read_period(card_id, period, now, source=source, price_key=price_key).lines


def _line_order(line: Line):
    return (SOURCE_ORDER.get(line[0], len(SOURCE_ORDER)), keys.sort_key(line[1]), line[2])


def _points(card_id, since=None, source=None, price_key=None):
    """The card's points, optionally since a moment, of one source or price key."""
    points = PricePoint.objects.filter(card_id=card_id)
    if since is not None:
        points = points.filter(observed_at__gte=since)
    if source is not None:
        points = points.filter(source=source)
    if price_key is not None:
        points = points.filter(price_key=price_key)
    return points


def _every_point_query(card_id, since=None, source=None, price_key=None):
    points = _points(card_id, since, source, price_key)
    return points.order_by("source", "price_key", "currency", "observed_at").values_list(
        "source", "price_key", "currency", "observed_at", "market", "low", "high", "sample_size"
    )


def _every_point(
    card_id: int, since: dt.datetime | None, source: str, price_key: str
) -> dict[Line, list[HistoryPoint]]:
    values = {"card_id": card_id, "since": since, "source": source, "price_key": price_key}
    query = _compiled(_every_point_query, since is not None, bool(source), bool(price_key))
    # Converted as the queryset would (SQLite's datetimes are text), rows made into
    # HistoryPoint without its __new__, a Python call per row.
    make = tuple.__new__
    lines: dict[Line, list[HistoryPoint]] = {}
    for line, rows in itertools.groupby(
        query.objects(**{name: values[name] for name in query.params}), operator.itemgetter(0, 1, 2)
    ):
        lines.setdefault(line, []).extend([make(HistoryPoint, row[3:]) for row in rows])
    return lines


@functools.cache
def _compiled(build, since: bool, source: bool, price_key: bool) -> CompiledQuery:
    """`build`'s query of one shape: with or without a start, a source, a price key,
    compiled once (tcgtracker.lib.sql)."""
    params = {"card_id": int, "since": dt.datetime, "source": str, "price_key": str}
    wanted = {"since": since, "source": source, "price_key": price_key}
    return CompiledQuery(
        build, **{name: kind for name, kind in params.items() if wanted.get(name, True)}
    )


def _daily_query_build(card_id, since=None, source=None, price_key=None):
    # Truncated to a date, which the driver hands over as it is: a datetime would go
    # through Django's time-zone conversion per row. The mean cast to a float in the
    # database: PostgreSQL's numeric average would load as a Decimal and be converted
    # again; the cast rounds the same numeric to the same nearest float.
    day = Trunc("observed_at", "day", output_field=DateField(), tzinfo=dt.UTC)
    return (
        _points(card_id, since, source, price_key)
        .annotate(day=day)
        .values_list("source", "price_key", "currency", "day")
        .annotate(
            mean=Cast(Avg("market"), FloatField()),
            count=Count("pk"),
            lowest=Min("market"),
            highest=Max("market"),
            range_low=Min("low"),
            range_high=Max("high"),
            sample=Max("sample_size"),
        )
        .order_by("source", "price_key", "currency", "day")
    )


def _daily_query(since: bool, source: bool, price_key: bool) -> CompiledQuery:
    """The daily query of one shape, compiled once."""
    return _compiled(_daily_query_build, since, source, price_key)


def _daily_rows(
    card_id: int, since: dt.datetime | None, source: str, price_key: str
) -> dict[Line, list[DailyPrice]]:
    values = {"card_id": card_id, "since": since, "source": source, "price_key": price_key}
    query = _daily_query(since is not None, bool(source), bool(price_key))
    # The driver's rows: Django's converters, a call per row and column, would be most
    # of a year's time, and the driver's own values serve: integers, a float mean, a date
    # (SQLite's as text).
    fetched = query.fetch(**{name: values[name] for name in query.params})
    # Each day's midnight made once, whichever lines share the day; the rows, which come
    # line by line, made into DailyPrice without its __new__, a Python call per row.
    midnights = {}
    for day in {row[3] for row in fetched}:
        date = dt.date.fromisoformat(day) if isinstance(day, str) else day
        midnights[day] = dt.datetime.combine(date, dt.time.min, tzinfo=dt.UTC)
    make = tuple.__new__
    days: dict[Line, list[DailyPrice]] = {}
    for line, rows in itertools.groupby(fetched, operator.itemgetter(0, 1, 2)):
        days.setdefault(line, []).extend(
            [
                make(DailyPrice, (midnights[day], mean, count, low, high, r_low, r_high, sample))
                for _, _, _, day, mean, count, low, high, r_low, r_high, sample in rows
            ]
        )
    return days


@functools.lru_cache(maxsize=4096)
def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def _days_of(points: list[HistoryPoint]) -> list[DailyPrice]:
    """Points in time order, summed up per UTC day. A day of one observation, the usual
    case, is that observation as it is: no sums over one item."""
    by_day: dict[dt.date, list[HistoryPoint]] = {}
    utc = dt.UTC
    for point in points:
        moment = point[0]
        if moment.tzinfo is not utc:
            moment = moment.astimezone(utc)
        found = by_day.get(day := moment.date())
        if found is None:
            by_day[day] = [point]
        else:
            found.append(point)
    make = tuple.__new__
    days = []
    for day, found in by_day.items():
        midnight = _midnight(day)
        if len(found) == 1:
            _, market, low, high, sample = found[0]
            days.append(
                make(DailyPrice, (midnight, market / 1, 1, market, market, low, high, sample))
            )
            continue
        markets = [point.market for point in found]
        days.append(
            DailyPrice(
                midnight,
                sum(markets) / len(found),
                len(found),
                min(markets),
                max(markets),
                _least(point.low for point in found),
                _most(point.high for point in found),
                _most(point.sample_size for point in found),
            )
        )
    return days


def _buckets(days: list[DailyPrice], bucket: str) -> list[HistoryPoint]:
    """The chart's points of a long period: a day's average, or a week's (from Monday,
    as the database truncates weeks) of all its observations."""
    if bucket == "day":
        return [
            HistoryPoint(day.day, round(day.mean), day.range_low, day.range_high, day.sample_size)
            for day in days
        ]
    weeks: dict[dt.datetime, list[DailyPrice]] = {}
    for day in days:
        weeks.setdefault(day.day - dt.timedelta(days=day.day.weekday()), []).append(day)
    points = []
    for monday, group in weeks.items():
        observations = sum(day.observations for day in group)
        total = sum(day.mean * day.observations for day in group)
        points.append(
            HistoryPoint(
                monday,
                round(total / observations),
                _least(day.range_low for day in group),
                _most(day.range_high for day in group),
                _most(day.sample_size for day in group),
            )
        )
    return points


def _least(values):
    return min((value for value in values if value is not None), default=None)


def _most(values):
    return max((value for value in values if value is not None), default=None)


Columns = tuple[list[dt.datetime], list[int]]  # a line's moments and market prices (cents)


def _columns(data: PeriodData) -> dict[Line, Columns]:
    """Each line's moments and prices, all the chart draws. A day's point is its day and
    rounded average (as _buckets makes it), read from the daily prices without making
    the points."""
    if data.bucket == "day" and "lines" not in data.__dict__:
        return {
            line: ([day.day for day in days], [round(day.mean) for day in days])
            for line, days in data.days.items()
        }
    return {
        line: ([point.moment for point in points], [point.market for point in points])
        for line, points in data.lines.items()
    }


def history_series(
    card, period: str, now: dt.datetime | None = None, *, data: PeriodData | None = None
) -> dict:
    """Chart.js-ready history of one card for a period: one dataset per (source, key) and
    the bounds of the x axis.

    The axis spans the period whatever the data holds, so a first day of prices is a day
    on a week, not a lone instant. A line with one point says which day it is. Real
    prices come first: while the period has any, simulated lines start hidden (one toggle
    away); each real source shows at least its first line.
    """
    now = now or timezone.now()
    columns = _columns(data or read_period(card.pk, period, now))
    moments = _moments(columns)
    series = _series(PERIODS[period], now, columns)
    for dataset, (line_moments, prices) in zip(series["datasets"], columns.values(), strict=True):
        # cents_to_float() is already the nearest float to the dollars and cents.
        dataset["data"] = [
            {"x": moments[moment], "y": cents_to_float(cents)}
            for moment, cents in zip(line_moments, prices, strict=True)
        ]
    return series


# What django.utils.html.json_script escapes, so that the JSON cannot end its <script>.
SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}
_NO_DATA = '"data": null'


class Chart(NamedTuple):
    """A period's chart as the page embeds it."""

    script: SafeString  # history_series(...)|json_script:"price-chart-data"
    datasets: list[dict]  # history_series()'s datasets, without their points


def chart(
    period: str, now: dt.datetime, data: PeriodData, element_id: str = "price-chart-data"
) -> Chart:
    """history_series() written as json_script writes it, the same characters, without a
    dict per point: the points, nearly all of the text, are written here as JSON (json's
    own separators and float repr) and set into the rest, which json writes."""
    columns = _columns(data)
    series = _series(PERIODS[period], now, columns)
    for dataset in series["datasets"]:
        dataset["data"] = None
    # Only the labels can hold characters to escape: moments and prices never do.
    text = json.dumps(series, cls=DjangoJSONEncoder).translate(SCRIPT_ESCAPES)
    pieces = text.split(_NO_DATA)
    prefixes = {moment: f'{{"x": "{iso}", "y": ' for moment, iso in _moments(columns).items()}
    written = [pieces[0]]
    for (moments, prices), piece in zip(columns.values(), pieces[1:], strict=True):
        points = ", ".join(
            [
                f"{prefixes[moment]}{cents / 100!r}}}"
                for moment, cents in zip(moments, prices, strict=True)
            ]
        )
        written.append(f'"data": [{points}]{piece}')
    script = format_html(
        '<script id="{}" type="application/json">{}</script>',
        element_id,
        mark_safe("".join(written)),
    )
    return Chart(script, series["datasets"])


def _moments(columns: dict[Line, Columns]) -> dict[dt.datetime, str]:
    """Each moment written once, however many lines share it (every key of a source does)."""
    unique = set().union(*(moments for moments, _ in columns.values()))
    return {moment: _moment(moment) for moment in unique}


def _series(spec: Period, now: dt.datetime, columns: dict[Line, Columns]) -> dict:
    """history_series() but the datasets' points."""
    currencies = {currency for _, _, currency in columns}
    has_real = any(source != Source.DEMO for source, _, _ in columns)
    datasets = []
    shown, shown_sources = 0, set()
    for index, ((source, price_key, currency), (moments, _)) in enumerate(columns.items()):
        label = series_label(source, price_key)
        if len(currencies) > 1:
            label = f"{label} [{currency}]"
        if len(moments) == 1:
            label = f"{label} — {_single_point(moments[0], spec.bucket)}"
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
                "data": [],
                "borderColor": color,
                "backgroundColor": color,
                "borderDash": [6, 4] if simulated else [],
                "hidden": hidden,
            }
        )
    start, end = _axis(spec, now, columns)
    return {
        "period": spec.value,
        "bucket": spec.bucket or "",
        "currency": next(iter(currencies)) if len(currencies) == 1 else "USD",
        "simulated": any(d["simulated"] for d in datasets),
        "axis": {"min": _moment(start), "max": _moment(end)},
        "datasets": datasets,
    }


def _axis(spec: Period, now: dt.datetime, columns: dict[Line, Columns]):
    """The period up to now; "all" from the first point, and never shorter than the
    shortest period so that a first day does not fill the width. A day or week bucket
    may start before the period: the axis starts with it."""
    # Each line's moments are in time order.
    first = min((moments[0] for moments, _ in columns.values() if moments), default=now)
    last = max((moments[-1] for moments, _ in columns.values() if moments), default=now)
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


@functools.lru_cache(maxsize=8192)
def _moment(moment: dt.datetime) -> str:
    # UTC wall-clock without a zone (see the module docstring), to the second: the first 19
    # characters of ISO 8601, which isoformat() writes faster than strftime(). Kept: the
    # same days come back request after request, and an aware isoformat() is slow.
    return moment.astimezone(dt.UTC).isoformat()[:19]
