"""Writing prices: validated, idempotent upserts of price points and their summaries.

Every source, the price-guide import and the demo simulation hand their observations to
record_observations(). It rejects what is not a price (negative, not integer cents, an
unknown price key) and counts it, writes only what is new or changed, and keeps the
latest-price summaries current in the same transaction. Writing the same observations
twice changes nothing.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from prices import keys
from prices.models import PricePoint, PriceSummary, Source

# A sanity bound, not a market opinion: $100 million in cents.
MAX_CENTS = 10_000_000_000
CHUNK_SIZE = 2000
CHANGE_WINDOWS = {
    "1d": dt.timedelta(days=1),
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
}
MAX_ERRORS = 20
SOURCES = frozenset(Source.values)

ComboKey = tuple[int, str, str]  # (card_id, source, price_key)


@dataclass(frozen=True)
class Observation:
    """One price for one card from one source at one time. Money in integer cents."""

    card_id: int
    source: str
    price_key: str
    market: int
    observed_at: dt.datetime
    currency: str = "USD"
    low: int | None = None
    high: int | None = None
    sample_size: int | None = None

    @property
    def key(self) -> tuple:
        return (self.card_id, self.source, self.price_key, self.observed_at)

    @property
    def combo(self) -> ComboKey:
        return (self.card_id, self.source, self.price_key)

    def problems(self) -> list[str]:
        found = []
        if self.source not in SOURCES:
            found.append(f"unknown source {self.source!r}")
        if not keys.is_valid(self.price_key):
            found.append(f"unknown price key {self.price_key!r}")
        for name in ("market", "low", "high"):
            value = getattr(self, name)
            if value is None and name != "market":
                continue
            if not isinstance(value, int) or isinstance(value, bool):
                found.append(f"{name} is not a whole number of cents: {value!r}")
            elif not 0 <= value <= MAX_CENTS:
                found.append(f"{name} out of range: {value}")
        if not found and self.low is not None and self.high is not None and self.low > self.high:
            found.append(f"low {self.low} is above high {self.high}")
        if self.sample_size is not None and (
            not isinstance(self.sample_size, int) or self.sample_size < 0
        ):
            found.append(f"sample size is not a count: {self.sample_size!r}")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            found.append(f"currency is not an ISO code: {self.currency!r}")
        if timezone.is_naive(self.observed_at):
            found.append("observed_at has no time zone")
        return found

    def describe(self) -> str:
        return f"card {self.card_id} {self.source} {self.price_key} at {self.observed_at:%Y-%m-%d}"


@dataclass
class WriteResult:
    fetched: int = 0
    written: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    changed_card_ids: set[int] = field(default_factory=set)

    def reject(self, message: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)

    def add(self, other: "WriteResult") -> None:
        self.fetched += other.fetched
        self.written += other.written
        self.unchanged += other.unchanged
        self.rejected += other.rejected
        self.errors.extend(other.errors[: MAX_ERRORS - len(self.errors)])
        self.changed_card_ids |= other.changed_card_ids


def record_observations(observations: Iterable[Observation]) -> WriteResult:
    """Validate, upsert and summarise. Each chunk is one transaction."""
    result = WriteResult()
    chunk: list[Observation] = []
    for observation in observations:
        result.fetched += 1
        problems = observation.problems()
        if problems:
            result.reject(f"{observation.describe()}: {'; '.join(problems)}")
            continue
        chunk.append(observation)
        if len(chunk) >= CHUNK_SIZE:
            _write_chunk(chunk, result)
            chunk = []
    if chunk:
        _write_chunk(chunk, result)
    return result


def _write_chunk(chunk: list[Observation], result: WriteResult) -> None:
    # The last of duplicate observations in one batch wins.
    by_key = {observation.key: observation for observation in chunk}
    result.unchanged += len(chunk) - len(by_key)
    with transaction.atomic():
        existing = _existing_points(by_key.values())
        to_write, corrected = [], False
        for key, observation in by_key.items():
            stored = existing.get(key)
            values = (
                observation.currency,
                observation.market,
                observation.low,
                observation.high,
                observation.sample_size,
            )
            if stored == values:
                result.unchanged += 1
                continue
            corrected |= stored is not None
            to_write.append(observation)
        if not to_write:
            return
        _upsert_points(to_write)
        result.written += len(to_write)
        result.changed_card_ids |= {o.card_id for o in to_write}
        refresh_summaries(to_write, full=corrected)


UPSERT_COLUMNS = (
    "card_id",
    "source",
    "price_key",
    "currency",
    "market",
    "low",
    "high",
    "sample_size",
    "observed_at",
)


def _upsert_points(observations: list[Observation]) -> None:
    """INSERT ... ON CONFLICT DO UPDATE, the same statement on PostgreSQL and SQLite.

    Plain executemany rather than bulk_create: building model instances and compiling
    them cost more than the database did for large imports and backfills.
    """
    table = connection.ops.quote_name(PricePoint._meta.db_table)
    columns = ", ".join(UPSERT_COLUMNS)
    placeholders = ", ".join(["%s"] * len(UPSERT_COLUMNS))
    updates = ", ".join(
        f"{column} = excluded.{column}"
        for column in ("currency", "market", "low", "high", "sample_size")
    )
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "
        f"ON CONFLICT (card_id, source, price_key, observed_at) DO UPDATE SET {updates}"
    )
    adapt = connection.ops.adapt_datetimefield_value
    rows = [
        (
            o.card_id,
            o.source,
            o.price_key,
            o.currency,
            o.market,
            o.low,
            o.high,
            o.sample_size,
            adapt(o.observed_at),
        )
        for o in observations
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _existing_points(observations: Iterable[Observation]) -> dict[tuple, tuple]:
    observations = list(observations)
    card_ids = {o.card_id for o in observations}
    sources = {o.source for o in observations}
    times = [o.observed_at for o in observations]
    rows = PricePoint.objects.filter(
        card_id__in=card_ids,
        source__in=sources,
        observed_at__gte=min(times),
        observed_at__lte=max(times),
    ).values_list(
        "card_id",
        "source",
        "price_key",
        "observed_at",
        "currency",
        "market",
        "low",
        "high",
        "sample_size",
    )
    return {tuple(row[:4]): tuple(row[4:]) for row in rows}


def refresh_summaries(written: Iterable[Observation], *, full: bool = False) -> None:
    """Bring the summaries of the written combos up to date.

    The latest price and the reference prices 1/7/30 days before it are read from the
    series; the all-time high and low are carried forward from the summary and the new
    points, unless `full` (after a correction or a fold) recomputes them from the series.
    """
    incoming: dict[ComboKey, list[Observation]] = defaultdict(list)
    for observation in written:
        incoming[observation.combo].append(observation)
    if not incoming:
        return
    combos = list(incoming)
    for start in range(0, len(combos), 500):
        _refresh_chunk(combos[start : start + 500], incoming, full)


def refresh_all_summaries(card_ids: Iterable[int] | None = None) -> int:
    """Recompute summaries from the series (after retention, or to repair); returns count."""
    points = PricePoint.objects.all()
    if card_ids is not None:
        points = points.filter(card_id__in=list(card_ids))
    combos = list(points.values_list("card_id", "source", "price_key").distinct())
    for start in range(0, len(combos), 500):
        _refresh_chunk(combos[start : start + 500], {}, full=True)
    return len(combos)


def _combo_filter(combos: list[ComboKey]) -> Q:
    card_ids = {card_id for card_id, _, _ in combos}
    sources = {source for _, source, _ in combos}
    price_keys = {price_key for _, _, price_key in combos}
    return Q(card_id__in=card_ids, source__in=sources, price_key__in=price_keys)


def _refresh_chunk(combos: list[ComboKey], incoming: dict, full: bool) -> None:
    wanted = set(combos)
    summaries = {
        (s.card_id, s.source, s.price_key): s
        for s in PriceSummary.objects.filter(_combo_filter(combos))
        if (s.card_id, s.source, s.price_key) in wanted
    }
    extremes: dict[ComboKey, tuple[int, int]] = {}
    latest_at: dict[ComboKey, dt.datetime] = {}
    if full or not incoming:
        rows = (
            PricePoint.objects.filter(_combo_filter(combos))
            .values("card_id", "source", "price_key")
            .annotate(latest=Max("observed_at"), high=Max("market"), low=Min("market"))
        )
        for row in rows:
            combo = (row["card_id"], row["source"], row["price_key"])
            if combo in wanted:
                extremes[combo] = (row["high"], row["low"])
                latest_at[combo] = row["latest"]
    else:
        for combo in combos:
            markets = [o.market for o in incoming[combo]]
            high, low = max(markets), min(markets)
            latest = max(o.observed_at for o in incoming[combo])
            summary = summaries.get(combo)
            if summary is not None:
                high = max(high, summary.all_time_high or high)
                low = min(low, summary.all_time_low if summary.all_time_low is not None else low)
                latest = max(latest, summary.observed_at)
            extremes[combo] = (high, low)
            latest_at[combo] = latest

    # Read only what the summary needs: the day of the latest price and the days around
    # 1, 7 and 30 days before it. Combos are bucketed by the day of their latest price so
    # one stale combo does not widen the read for all the others.
    buckets: dict[dt.date, list[ComboKey]] = defaultdict(list)
    for combo, latest in latest_at.items():
        buckets[latest.astimezone(dt.UTC).date()].append(combo)
    series: dict[ComboKey, list[tuple]] = defaultdict(list)
    for day, day_combos in buckets.items():
        start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        windows = Q(observed_at__gte=start, observed_at__lt=start + dt.timedelta(days=1))
        for window in CHANGE_WINDOWS.values():
            # A reference lies within a day before (latest - window); latest is on `day`.
            windows |= Q(
                observed_at__gte=start - window - dt.timedelta(days=1),
                observed_at__lt=start - window + dt.timedelta(days=1),
            )
        rows = (
            PricePoint.objects.filter(_combo_filter(day_combos))
            .filter(windows)
            .order_by("observed_at")
            .values_list(
                "card_id",
                "source",
                "price_key",
                "observed_at",
                "market",
                "low",
                "high",
                "sample_size",
                "currency",
            )
        )
        day_set = set(day_combos)
        for row in rows:
            combo = tuple(row[:3])
            if combo in day_set:
                series[combo].append(row[3:])

    now = timezone.now()
    updated = []
    for combo, points in series.items():
        latest = latest_at[combo]
        current = next((p for p in reversed(points) if p[0] <= latest), None)
        if current is None:
            continue
        observed_at, market, low, high, sample_size, currency = current
        summary = summaries.get(combo) or PriceSummary(
            card_id=combo[0], source=combo[1], price_key=combo[2]
        )
        summary.currency, summary.market, summary.low, summary.high = currency, market, low, high
        summary.sample_size, summary.observed_at = sample_size, observed_at
        for name, window in CHANGE_WINDOWS.items():
            reference = _price_at_or_before(points, observed_at - window)
            setattr(summary, f"market_{name}", reference)
            setattr(summary, f"change_{name}", _percent_change(reference, market))
        summary.all_time_high, summary.all_time_low = extremes[combo]
        summary.updated_at = now
        updated.append(summary)
    PriceSummary.objects.bulk_create(
        updated,
        update_conflicts=True,
        unique_fields=["card", "source", "price_key"],
        update_fields=[
            "currency",
            "market",
            "low",
            "high",
            "sample_size",
            "observed_at",
            "market_1d",
            "market_7d",
            "market_30d",
            "change_1d",
            "change_7d",
            "change_30d",
            "all_time_high",
            "all_time_low",
            "updated_at",
        ],
        batch_size=500,
    )


def _price_at_or_before(points: list[tuple], moment: dt.datetime) -> int | None:
    """Market of the last point at or before moment, within a day of it."""
    earliest = moment - dt.timedelta(days=1)
    for point in reversed(points):
        if point[0] <= moment:
            return point[1] if point[0] >= earliest else None
    return None


def _percent_change(before: int | None, now: int) -> float | None:
    if not before:
        return None
    return round((now - before) * 100 / before, 2)
