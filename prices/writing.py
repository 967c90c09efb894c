"""Writing prices: validated, idempotent upserts of price points and their summaries.

Every source, the price-guide import and the demo simulation hand their observations to
record_observations(). It rejects what is not a price (negative, not integer cents, an
unknown price key) and counts it, writes only what is new or changed, and keeps the
latest-price summaries current in the same transaction. Writing the same observations
twice changes nothing.

Two paths with one behaviour. On PostgreSQL a chunk is a fixed handful of statements
whatever its size (an import writes 150,000 points a day): the points are COPYed into a
session-local scratch table. A new day's prices (one point per combo) go from there
straight into the history, and one statement updates the summaries they follow (their
reference prices read from each summary's ring of recent markets); the few it leaves (no
summary yet, a backfill) are refreshed as below. Should a point of the chunk be stored
already, the unique key refuses that insert, and the general statements write the
chunk: one notes the combos with their stored summaries; a plain INSERT writes the points
of the combos whose points all come after their summary's latest (nothing to compare
with), an INSERT ... ON CONFLICT DO UPDATE the others, writing only what is new or
differs; then the summaries: for a combo whose new points all come after its summary, one
update from the summary and the chunk (a reference price the stored latest point answers
needs no lookup, the others one index lookup each), and for the rest one INSERT ... ON
CONFLICT that rebuilds them from the series. Elsewhere (SQLite in development and tests)
the same work is done by plain queries per chunk. Both round the percentage changes the
same way, in integers (_percent_change, _change_sql); tests run random batches and daily
feeds through both paths and compare every point, summary and count.
"""

import datetime as dt
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import repeat
from types import NoneType
from typing import NamedTuple

from django.db import IntegrityError, connection, connections, transaction
from django.db.models import Max, Min, Q
from django.dispatch import Signal
from django.utils import timezone

from prices import keys
from prices.models import PricePoint, PriceSummary, Source

# Sent after every write that changed prices, with the ids of the cards whose prices
# changed: the alerts app evaluates their rules (syncs, imports, staff matches alike).
prices_changed = Signal()

# A sanity bound, not a market opinion: $100 million in cents.
MAX_CENTS = 10_000_000_000
# Observations per transaction on the plain path: a commit is a disk flush on SQLite.
CHUNK_SIZE = 10_000
# Observations per transaction on the set-based (PostgreSQL) path.
SET_BASED_CHUNK_SIZE = 25_000
# Database vendors written to by set-based SQL (tests switch it off to compare the paths).
SET_BASED_VENDORS = frozenset({"postgresql"})
CHANGE_WINDOWS = {
    "1d": dt.timedelta(days=1),
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
}
MAX_ERRORS = 20
SOURCES = frozenset(Source.values)
# What a summary holds besides its key: written by both paths below.
SUMMARY_FIELDS = (
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
)

ComboKey = tuple[int, str, str]  # (card_id, source, price_key)


class Observation(NamedTuple):
    """One price for one card from one source at one time. Money in integer cents.

    A named tuple: an import makes 150,000 of them a day, at a third of the cost of a
    frozen dataclass."""

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
        if not _is_currency_code(self.currency):
            found.append(f"currency is not an ISO code: {self.currency!r}")
        if timezone.is_naive(self.observed_at):
            found.append("observed_at has no time zone")
        return found

    def describe(self) -> str:
        return f"card {self.card_id} {self.source} {self.price_key} at {self.observed_at:%Y-%m-%d}"


def _is_currency_code(currency) -> bool:
    """Three capital letters, as ISO 4217 writes a currency."""
    return (
        isinstance(currency, str)
        and len(currency) == 3
        and currency.isalpha()
        and currency.isupper()
    )


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


def record_observations(
    observations: Iterable[Observation], *, announce: bool = True
) -> WriteResult:
    """Validate, upsert and summarise. Each chunk is one transaction.

    Then prices_changed goes out with the cards whose prices changed, unless `announce`
    is off: a caller writing in many calls (an import, a backfill) announces once at the
    end with announce_changes(), so what reacts (alerts, movers, valuations) runs once."""
    if isinstance(observations, PreparedBatch):
        result = observations.result
        for chunk in observations.chunks:
            _write_prepared(chunk, result)
    else:
        result = WriteResult()
        set_based = _set_based()
        write = _write_chunk_set_based if set_based else _write_chunk
        chunk_size = SET_BASED_CHUNK_SIZE if set_based else CHUNK_SIZE
        for chunk in _valid_chunks(observations, result, chunk_size):
            write(chunk, result)
    if announce:
        announce_changes(result.changed_card_ids)
    return result


def _valid_chunks(
    observations: Iterable[Observation], result: WriteResult, size: int
) -> Iterator[list[Observation]]:
    """The valid observations in chunks of `size`; the others counted and rejected."""
    chunk: list[Observation] = []
    clean = _CleanCheck()
    for observation in observations:
        result.fetched += 1
        if not clean(observation):
            problems = observation.problems()
            if problems:
                result.reject(f"{observation.describe()}: {'; '.join(problems)}")
                continue
        chunk.append(observation)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class PreparedBatch:
    """Observations validated and made ready for the set-based statements: what
    record_observations() then has left to do is the database's work. The import's
    batches are prepared on its reading thread, which has time to spare, so that its
    writer threads, which have none, spend theirs waiting for the database, not for the
    interpreter lock. Iterated, the observations it was prepared from."""

    def __init__(self, observations: list[Observation]):
        self.observations = observations
        self.result = WriteResult()  # so far: the observations counted, the invalid rejected
        self.chunks = []
        for start in range(0, len(observations), SET_BASED_CHUNK_SIZE):
            part = observations[start : start + SET_BASED_CHUNK_SIZE]
            if _plainly_valid(part):
                self.result.fetched += len(part)
                self.chunks.append(_prepare_chunk(part))
            else:
                self.chunks.extend(
                    _prepare_chunk(chunk)
                    for chunk in _valid_chunks(part, self.result, SET_BASED_CHUNK_SIZE)
                )

    def __iter__(self) -> Iterator[Observation]:
        return iter(self.observations)


def announce_changes(card_ids: set[int]) -> None:
    """prices_changed for these cards, when there are any."""
    if card_ids:
        prices_changed.send(sender=record_observations, card_ids=card_ids)


# Threads (each with its own database connection) writing an import's batches at once.
BACKGROUND_WRITERS = 2
# Batches an import may have sent and not yet seen written (BatchWriter): about 200,000
# observations in memory at most.
BATCHES_IN_FLIGHT = 8


def _background_writers() -> int:
    """How many threads write an import's batches: none off PostgreSQL or inside a
    transaction of the caller's; else BACKGROUND_WRITERS, fewer when the process's
    connection pool (DATABASE_POOL_MAX) could not give each its own connection beside the
    caller's (a thread waiting for one would time out)."""
    if not _set_based() or connection.in_atomic_block:
        return 0
    pool = getattr(connection, "pool", None)
    if pool is None:
        return BACKGROUND_WRITERS
    return max(0, min(BACKGROUND_WRITERS, pool.max_size - 1))


class BatchWriter:
    """record_observations() for a caller writing in batches (an import), which announces
    the changed cards once at the end from `result`.

    In the background (`background=True`, on PostgreSQL, outside any transaction of the
    caller's), each batch is written by _background_writers() threads, each with a database
    connection of its own, while the caller reads on: the caller's reading and matching
    (Python) and whatever else it writes overlap the writing (mostly the database's time,
    during which the driver releases the GIL), and the database works on two cores. A
    batch is split by card (card id modulo the writers): every price of a card, and so
    every point and summary one statement writes, is only ever written by the same thread,
    one part after another, so the threads never wait for each other's rows. Each part is
    its own transaction. Up to `depth` batches are in flight: a caller whose rows come
    faster than they are written (a guide's matched rows first, its unmatched rows after)
    reads ahead instead of waiting, and waits for the oldest batch only beyond that.

    Otherwise, or when the caller's connection is in a transaction (the writers' own
    connections could neither see its rows nor be rolled back with it), each batch is
    written at once on the caller's connection, in one transaction per chunk as
    record_observations() writes.

    A batch's `then` runs on the caller's thread once the batch is written, in the order
    the batches were sent, and never for a batch of which a part failed. A failure raises
    from the next submit(), wait() or close(), once the batches sent before it are waited
    for and counted; close() always waits for every batch in flight (running the `then` of
    each written) and closes the threads' connections."""

    def __init__(self, *, background: bool = False, depth: int = BATCHES_IN_FLIGHT):
        self.result = WriteResult()
        self.depth = depth
        self._writers: list[ThreadPoolExecutor] = []
        self._in_flight: deque[tuple[list[Future], Callable[[], None] | None]] = deque()
        writers = _background_writers() if background else 0
        if writers:
            self._writers = [
                ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"prices-{n}")
                for n in range(writers)
            ]
        # Each thread's connection opened (its scratch tables made) while the caller reads
        # its first rows: the first batch finds it ready.
        self._opening = [writer.submit(_ready) for writer in self._writers]

    def submit(
        self, observations: list[Observation], then: Callable[[], None] | None = None
    ) -> None:
        if not self._writers:
            self.result.add(record_observations(observations, announce=False))
            if then is not None:
                then()
            return
        parts: list[list[Observation]] = [[] for _ in self._writers]
        count = len(parts)
        for observation in observations:
            parts[observation.card_id % count].append(observation)
        futures = [
            self._writers[n].submit(record_observations, PreparedBatch(part), announce=False)
            for n, part in enumerate(parts)
            if part
        ]
        self._in_flight.append((futures, then))
        while len(self._in_flight) > self.depth:
            self._finish_oldest()

    def starved(self) -> bool:
        """Whether the threads writing in the background have written everything sent to
        them: a caller with rows in hand may send them early rather than let the threads
        wait for a full batch."""
        if not self._writers:
            return False
        return all(future.done() for futures, _ in self._in_flight for future in futures)

    def _finish_opening(self) -> None:
        opening, self._opening = self._opening, []
        for future in opening:
            future.result()  # raises what failed

    def _finish_oldest(self) -> None:
        self._finish_opening()
        futures, then = self._in_flight.popleft()
        failure = None
        for future in futures:
            try:
                self.result.add(future.result())
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        if then is not None:
            then()

    def wait(self) -> None:
        """Until every batch sent so far is written. A part that failed raises, once every
        batch is waited for and counted all the same."""
        failure = None
        try:
            self._finish_opening()
        except Exception as exc:
            failure = exc
        while self._in_flight:
            try:
                self._finish_oldest()
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure

    def close(self) -> None:
        if not self._writers:
            return
        try:
            self.wait()
        finally:
            for writer in self._writers:
                # The connection opened on a writer's thread is that thread's to close.
                writer.submit(connections.close_all).result()
                writer.shutdown()
            self._writers = []


def _ready() -> None:
    """A writer thread's connection opened and its scratch tables made."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_SCRATCH_SQL)


class _CleanCheck:
    """A quick yes for the common, plainly valid observation; anything else (a no here)
    goes through Observation.problems(), which decides and explains. Remembers the
    sources, price keys and currencies it has seen valid."""

    def __init__(self):
        self.sources = set(SOURCES)
        self.keys: set[str] = set()
        self.currencies: set[str] = set()

    def __call__(self, o: Observation) -> bool:
        market, low, high, sample_size = o.market, o.low, o.high, o.sample_size
        if type(market) is not int or not 0 <= market <= MAX_CENTS:
            return False
        if low is not None and (type(low) is not int or not 0 <= low <= MAX_CENTS):
            return False
        if high is not None and (type(high) is not int or not 0 <= high <= MAX_CENTS):
            return False
        if low is not None and high is not None and low > high:
            return False
        if sample_size is not None and (type(sample_size) is not int or sample_size < 0):
            return False
        if o.source not in self.sources:
            return False
        if o.price_key not in self.keys:
            if not keys.is_valid(o.price_key):
                return False
            self.keys.add(o.price_key)
        if o.currency not in self.currencies:
            currency = o.currency
            if not _is_currency_code(currency):
                return False
            self.currencies.add(currency)
        observed_at = o.observed_at
        return isinstance(observed_at, dt.datetime) and observed_at.utcoffset() is not None


def _plainly_valid(observations: list[Observation]) -> bool:
    """_CleanCheck's quick yes, said of a batch's columns at once (an import's batch: a
    few C loops over 25,000 values rather than a Python call each); a no, and each
    observation is checked."""
    _, sources, price_keys, markets, moments, currencies, lows, highs, sizes = zip(
        *observations, strict=True
    )
    if set(map(type, markets)) != {int} or min(markets) < 0 or max(markets) > MAX_CENTS:
        return False
    if set(map(type, lows)) != {NoneType} or set(map(type, highs)) != {NoneType}:
        return False  # a range: each is checked (low against high)
    size_types = set(map(type, sizes))
    if not size_types <= {int, NoneType}:
        return False
    if int in size_types and min(size for size in sizes if size is not None) < 0:
        return False
    return (
        set(sources) <= SOURCES
        and all(keys.is_valid(key) for key in set(price_keys))
        and all(map(_is_currency_code, set(currencies)))
        and all(
            isinstance(moment, dt.datetime) and moment.utcoffset() is not None
            for moment in set(moments)
        )
    )


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
    # Many observations share a moment (a day's prices): adapt each moment once.
    adapted: dict[dt.datetime, object] = {}

    def adapt(moment):
        value = adapted.get(moment)
        if value is None:
            value = adapted[moment] = connection.ops.adapt_datetimefield_value(moment)
        return value

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
    if _set_based():
        combos = [
            (
                *combo,
                max(o.observed_at for o in points),
                max(o.market for o in points),
                min(o.market for o in points),
                full,
            )
            for combo, points in incoming.items()
        ]
        with transaction.atomic():
            for start in range(0, len(combos), SET_BASED_CHUNK_SIZE):
                _refresh_set_based(combos[start : start + SET_BASED_CHUNK_SIZE])
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
    if _set_based():
        for start in range(0, len(combos), SET_BASED_CHUNK_SIZE):
            batch = combos[start : start + SET_BASED_CHUNK_SIZE]
            _refresh_set_based([(*combo, None, None, None, True) for combo in batch])
        return len(combos)
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
        update_fields=list(SUMMARY_FIELDS),
        batch_size=500,
    )
    if connection.vendor == "postgresql":
        # Written here, a summary's ring is no longer known (see RING_DAYS).
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {_SUMMARY_TABLE} SET recent_markets = NULL "
                "WHERE id = ANY(%s) AND recent_markets IS NOT NULL",
                [[summary.pk for summary in updated if summary.pk]],
            )


# --- The set-based path (PostgreSQL) -------------------------------------------------------
#
# Two session-local scratch tables, emptied at every commit: the chunk's points (filled by
# COPY) and the combos whose summaries are due. Every statement then works on whole sets.

_POINT_TABLE = PricePoint._meta.db_table
_SUMMARY_TABLE = PriceSummary._meta.db_table
_INCOMING = "price_writing_points"
_DUE = "price_writing_combos"
_POINT_COLUMNS = "card_id, source, price_key, currency, market, low, high, sample_size, observed_at"
# JIT compilation costs more than these statements do (their cost estimates are high
# because they run per combo), and their sorts of a chunk's rows would spill to disk with
# the default work_mem; SET LOCAL lasts until the transaction ends.
_SCRATCH_SQL = f"""
SET LOCAL jit = off;
SET LOCAL work_mem = '64MB';
CREATE TEMP TABLE IF NOT EXISTS {_INCOMING} (
    card_id bigint, source text, price_key text, currency text, market bigint, low bigint,
    high bigint, sample_size integer, observed_at timestamptz
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS {_DUE} (
    card_id bigint, source text, price_key text, newest timestamptz, high bigint,
    low bigint, full_refresh boolean, written integer, newest_incoming boolean,
    summary_id bigint, stored_at timestamptz, stored_market bigint, fresh boolean
) ON COMMIT DELETE ROWS;
DELETE FROM {_INCOMING};
DELETE FROM {_DUE};
"""

# The chunk's combos, in key order (so that the lookups per combo that follow read
# neighbouring index pages one after another), each with its summary as stored: its id and
# the time and market of the latest point. A combo is fresh when every incoming point of it
# is after that latest point, or it has no summary (and so no points): all its points are
# new, and a plain INSERT writes them (_INSERT_FRESH_SQL; should a point exist after all,
# the unique key refuses it and the chunk takes the upsert). The others go through the
# upsert (_UPSERT_POINTS_SQL), which writes only what is new or changed.
_COMBOS_SQL = f"""
WITH combos AS (
    INSERT INTO {_DUE}
        (card_id, source, price_key, newest, high, low, full_refresh, written, newest_incoming,
         summary_id, stored_at, stored_market, fresh)
    SELECT i.card_id, i.source, i.price_key, i.newest, i.high, i.low, false,
           CASE WHEN f.fresh THEN i.points ELSE 0 END, true, s.id, s.observed_at, s.market,
           f.fresh
    FROM (
        SELECT card_id, source, price_key, max(observed_at) AS newest,
               min(observed_at) AS oldest, max(market) AS high, min(market) AS low,
               count(*) AS points
        FROM {_INCOMING}
        GROUP BY card_id, source, price_key
    ) i
    LEFT JOIN LATERAL (
        -- LIMIT keeps this a lookup per combo by the unique index: as a join the planner
        -- reads and sorts the whole summary table.
        SELECT s.id, s.observed_at, s.market FROM {_SUMMARY_TABLE} s
        WHERE s.card_id = i.card_id AND s.source = i.source AND s.price_key = i.price_key
        LIMIT 1
    ) s ON true
    CROSS JOIN LATERAL (SELECT s.id IS NULL OR i.oldest > s.observed_at AS fresh) f
    ORDER BY i.card_id, i.source, i.price_key
    RETURNING fresh
)
SELECT count(*), count(*) FILTER (WHERE NOT fresh) FROM combos
"""
_FRESH_POINTS = f"""
    SELECT {", ".join(f"i.{name}" for name in _POINT_COLUMNS.split(", "))}
    FROM {_INCOMING} i
    JOIN {_DUE} c
      ON c.card_id = i.card_id AND c.source = i.source AND c.price_key = i.price_key
    WHERE {{}}c.fresh
    ORDER BY i.card_id, i.source, i.price_key, i.observed_at"""
_INSERT_FRESH_SQL = f"""
INSERT INTO {_POINT_TABLE} ({_POINT_COLUMNS}) {_FRESH_POINTS.format("")}
"""
_NOT_FRESH_SQL = f"UPDATE {_DUE} SET fresh = false, written = 0"

# Upsert the points of the other combos; a point whose values are all the same is left
# alone and not returned. Per written combo: the newest point, the extremes of the written
# markets, whether any was a correction of a stored point, how many; combos with nothing
# written then leave the scratch table. A freshly inserted row has an id above the
# sequence's value read just before (_LAST_ID_SQL): the price history is partitioned on
# PostgreSQL, and RETURNING cannot read a partition's system columns (xmax) to tell.
_UPSERT_POINTS_SQL = f"""
WITH written AS (
    INSERT INTO {_POINT_TABLE} AS p ({_POINT_COLUMNS}) {_FRESH_POINTS.format("NOT ")}
    ON CONFLICT (card_id, source, price_key, observed_at) DO UPDATE SET
        currency = excluded.currency, market = excluded.market, low = excluded.low,
        high = excluded.high, sample_size = excluded.sample_size
    WHERE (p.currency, p.market, p.low, p.high, p.sample_size)
        IS DISTINCT FROM (excluded.currency, excluded.market, excluded.low, excluded.high,
                          excluded.sample_size)
    RETURNING p.card_id, p.source, p.price_key, p.observed_at, p.market, p.id > %s AS inserted
)
UPDATE {_DUE} c SET newest = w.newest, high = w.high, low = w.low,
       full_refresh = w.full_refresh, written = w.written
FROM (
    SELECT card_id, source, price_key, max(observed_at) AS newest, max(market) AS high,
           min(market) AS low, NOT bool_and(inserted) AS full_refresh, count(*) AS written
    FROM written
    GROUP BY card_id, source, price_key
) w
WHERE c.card_id = w.card_id AND c.source = w.source AND c.price_key = w.price_key
"""
_UNWRITTEN_SQL = f"DELETE FROM {_DUE} WHERE NOT fresh AND written = 0"
_LAST_ID_SQL = (
    "SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence(%s, 'id')::regclass), 0)"
)
# The common case, decided per combo from the scratch table alone: points only added (no
# correction), the newest of them after the stored summary's latest point. Such a combo's
# latest point is its newest written one, and every other point is at or before the
# summary's: _REFRESH_NEWER_SQL updates it; _REFRESH_SQL does every other combo.
_NEWER = "(NOT c.full_refresh AND c.summary_id IS NOT NULL AND c.newest > c.stored_at)"
_WRITTEN_SQL = (
    f"SELECT card_id, sum(written), bool_or({_NEWER}), bool_or(NOT {_NEWER}) "
    f"FROM {_DUE} c GROUP BY card_id"
)

_SAME_COMBO = "p.card_id = t.card_id AND p.source = t.source AND p.price_key = t.price_key"


def _reference_join(name: str, window: dt.timedelta) -> str:
    """The market of the last point at or before (observed_at - window), within a day."""
    hours = int(window.total_seconds() // 3600)
    return f"""
    LEFT JOIN LATERAL (
        SELECT p.market FROM {_POINT_TABLE} p
        WHERE {_SAME_COMBO}
          AND p.observed_at <= cur.observed_at - interval '{hours} hours'
          AND p.observed_at >= cur.observed_at - interval '{hours + 24} hours'
        ORDER BY p.observed_at DESC LIMIT 1
    ) {name} ON true"""


def _change_sql(before: str, now: str) -> str:
    """_percent_change in SQL, in integers: the same rounding to the same float. (For a
    statement with parameters: the modulo operator is written %%.)"""
    scaled = f"(10000 * ({now} - {before}))"
    remainder = f"((({scaled} %% {before}) + {before}) %% {before})"
    quotient = f"(({scaled} - {remainder}) / {before})"
    up = f"2 * {remainder} > {before} OR (2 * {remainder} = {before} AND {quotient} %% 2 <> 0)"
    return (
        f"CASE WHEN {before} > 0 THEN "
        f"({quotient} + CASE WHEN {up} THEN 1 ELSE 0 END)::float8 / 100 END"
    )


_CURRENT_COLUMNS = ", ".join(
    f"CASE WHEN t.latest_incoming THEN i.{name} ELSE stored.{name} END AS {name}"
    for name in ("currency", "market", "low", "high", "sample_size", "observed_at")
)

# The due combos' summaries: the latest point and the prices 1/7/30 days before it, each
# one index lookup; the extremes carried forward from the stored summary and the written
# points, or (full_refresh: after a correction, or a repair) aggregated over the series.
# When the latest point is one just written (the common case: today's price), it is read
# from the chunk's scratch table rather than looked up again.
_REFRESH_SQL = f"""
WITH t AS (
    SELECT c.card_id, c.source, c.price_key,
           CASE WHEN c.full_refresh THEN agg.latest
                ELSE greatest(c.newest, s.observed_at) END AS latest,
           CASE WHEN c.full_refresh THEN agg.high
                ELSE greatest(c.high, s.all_time_high) END AS high,
           CASE WHEN c.full_refresh THEN agg.low
                ELSE least(c.low, s.all_time_low) END AS low,
           coalesce(c.newest_incoming AND NOT c.full_refresh
                    AND (s.observed_at IS NULL OR c.newest >= s.observed_at), false)
               AS latest_incoming
    FROM {_DUE} c
    LEFT JOIN LATERAL (
        -- LIMIT keeps this a lookup per combo by the unique index: as a join the planner
        -- reads and sorts the whole summary table.
        SELECT s.observed_at, s.all_time_high, s.all_time_low FROM {_SUMMARY_TABLE} s
        WHERE s.card_id = c.card_id AND s.source = c.source AND s.price_key = c.price_key
        LIMIT 1
    ) s ON true
    LEFT JOIN LATERAL (
        SELECT max(p.observed_at) AS latest, max(p.market) AS high, min(p.market) AS low
        FROM {_POINT_TABLE} p
        WHERE c.full_refresh
          AND p.card_id = c.card_id AND p.source = c.source AND p.price_key = c.price_key
    ) agg ON true
    WHERE NOT coalesce({_NEWER}, false)
)
INSERT INTO {_SUMMARY_TABLE} AS s (card_id, source, price_key, {", ".join(SUMMARY_FIELDS)})
SELECT t.card_id, t.source, t.price_key, cur.currency, cur.market, cur.low, cur.high,
       cur.sample_size, cur.observed_at, r1d.market, r7d.market, r30d.market,
       {_change_sql("r1d.market", "cur.market")},
       {_change_sql("r7d.market", "cur.market")},
       {_change_sql("r30d.market", "cur.market")},
       t.high, t.low, %s
FROM t
LEFT JOIN {_INCOMING} i
  ON t.latest_incoming AND i.card_id = t.card_id AND i.source = t.source
 AND i.price_key = t.price_key AND i.observed_at = t.latest
LEFT JOIN LATERAL (
    SELECT p.currency, p.market, p.low, p.high, p.sample_size, p.observed_at
    FROM {_POINT_TABLE} p
    WHERE NOT t.latest_incoming AND {_SAME_COMBO} AND p.observed_at <= t.latest
    ORDER BY p.observed_at DESC LIMIT 1
) stored ON true
CROSS JOIN LATERAL (SELECT {_CURRENT_COLUMNS}) cur
{"".join(_reference_join(f"r{name}", window) for name, window in CHANGE_WINDOWS.items())}
WHERE cur.observed_at IS NOT NULL
ORDER BY t.card_id, t.source, t.price_key
ON CONFLICT (card_id, source, price_key) DO UPDATE SET
    {", ".join(f"{name} = excluded.{name}" for name in SUMMARY_FIELDS)}, recent_markets = NULL
"""


def _reference_after_stored(
    name: str,
    window: dt.timedelta,
    *,
    newest: str = "c.newest",
    stored_at: str = "c.stored_at",
    stored_market: str = "c.stored_market",
    alone: str = "c.written = 1",
    combo: str = "c",
) -> str:
    """The market of the last point at or before (newest - window), within a day, for a
    combo whose points written are all after its stored summary's latest. When its newest
    point is the only one written (`alone`), every other point is at or before the stored
    summary's latest: if that is at or before the moment, it is the point sought (or none
    lies within the day), with no lookup.

    The lookup also carries the bounds every combo's window lies in (parameters
    `<name>_from` and `<name>_to`, from the chunk's earliest and latest moments), so that
    the planner reads only the partitions they span: for a day's import, one, by a plain
    index scan, rather than a Merge Append over every month set up again per combo."""
    hours = int(window.total_seconds() // 3600)
    moment = f"{newest} - interval '{hours} hours'"
    earliest = f"{newest} - interval '{hours + 24} hours'"
    return f"""CASE
        WHEN {alone} AND {stored_at} <= {moment}
            THEN CASE WHEN {stored_at} >= {earliest} THEN {stored_market} END
        ELSE (
            SELECT p.market FROM {_POINT_TABLE} p
            WHERE p.card_id = {combo}.card_id AND p.source = {combo}.source
              AND p.price_key = {combo}.price_key
              AND p.observed_at <= {moment} AND p.observed_at >= {earliest}
              AND p.observed_at >= %({name}_from)s AND p.observed_at <= %({name}_to)s
            ORDER BY p.observed_at DESC LIMIT 1
        ) END"""


def _reference_bounds(earliest: dt.datetime, latest: dt.datetime) -> dict[str, dt.datetime]:
    """The parameters of _reference_after_stored for a chunk whose points lie between
    earliest and latest."""
    bounds = {}
    for name, window in CHANGE_WINDOWS.items():
        bounds[f"{name}_from"] = earliest - window - dt.timedelta(days=1)
        bounds[f"{name}_to"] = latest - window
    return bounds


def _newer_summary(high: str, low: str, *, ring: str = "NULL") -> str:
    """The assignments of a summary updated from `t`, a row of its combo's newest point
    (after the summary's latest) and its reference prices: the point's figures, the
    changes against the references, the extremes carried forward with the written points'
    highest and lowest markets (`high`, `low`)."""
    return f"""
    currency = t.currency, market = t.market, low = t.low, high = t.high,
    sample_size = t.sample_size, observed_at = t.observed_at,
    market_1d = t.market_1d, market_7d = t.market_7d, market_30d = t.market_30d,
    change_1d = {_change_sql("t.market_1d", "t.market")},
    change_7d = {_change_sql("t.market_7d", "t.market")},
    change_30d = {_change_sql("t.market_30d", "t.market")},
    all_time_high = greatest({high}, s.all_time_high),
    all_time_low = least({low}, s.all_time_low),
    recent_markets = {ring},
    updated_at = %(now)s"""


# The summaries an update from `t` rewrites, as a list of ids: the primary key reads them.
# Joined to `t` alone, the planner (which expects a few thousand rows of `t`, and
# pictures every index lookup as a disk read) hashes the whole summary table for each
# chunk instead: a sequential scan of every summary, a third of the statement's time.
_BY_ID = "s.id = ANY (ARRAY(SELECT t.summary_id FROM t))"


# The summaries of the _NEWER combos (a day's import: all of them): the newest written
# point from the chunk's scratch table, the reference prices as above, the extremes carried
# forward; an update of each summary by its id. MATERIALIZED: the references are computed
# once each, not once per use in the changes.
_REFRESH_NEWER_SQL = f"""
WITH t AS MATERIALIZED (
    SELECT c.summary_id, c.high AS written_high, c.low AS written_low,
           i.currency, i.market, i.low, i.high, i.sample_size, i.observed_at,
           {
    ", ".join(
        f"{_reference_after_stored(name, window)} AS market_{name}"
        for name, window in CHANGE_WINDOWS.items()
    )
}
    FROM {_DUE} c
    JOIN {_INCOMING} i
      ON i.card_id = c.card_id AND i.source = c.source AND i.price_key = c.price_key
     AND i.observed_at = c.newest
    WHERE {_NEWER}
)
UPDATE {_SUMMARY_TABLE} AS s SET {_newer_summary("t.written_high", "t.written_low")}
FROM t
WHERE s.id = t.summary_id AND {_BY_ID}
"""


# A summary's recent markets (PostgreSQL; the column `recent_markets`, which the model
# does not know, added by migration 0012): integer[RING_DAYS], element n the market of the
# combo's point n - 1 whole days before the summary's latest point (element 1: that point),
# null where there is none; kept only while every point of those days lies a whole number
# of days before the latest (a day's import writes them at midnight) and every market fits
# an integer (below $21 million: in half the bytes of bigint), else null. The new
# day's statement reads a summary's reference prices from it, shifted to the incoming
# point, in place of two lookups in the history per summary (most of its time); every
# other write of a summary sets it null, and the new day's statement builds it again from
# the history.
RING_DAYS = 32
_DAY_SECONDS = 86_400
_INT_MAX = 2**31 - 1
_SAME_INCOMING = "p.card_id = i.card_id AND p.source = i.source AND p.price_key = i.price_key"
# The incoming point's ring: the stored one shifted by the whole days between the two
# points; or, where there is none, built from the points of the RING_DAYS - 1 days before
# the incoming one (one range of the unique index per combo), unless one of them lies at
# another time of day or its market beyond an integer's range: in one aggregate when
# they are a point a day back from the day before (or none), else placed day by day.
# Null when the incoming point is not a whole number of days after the summary's latest.
# (A ring shorter than RING_DAYS reads as null beyond its end.)
_RING_SQL = f"""CASE
    WHEN i.market > {_INT_MAX} THEN NULL
    -- The daily case first, in plain comparisons.
    WHEN s.recent_markets IS NOT NULL AND s.observed_at = i.observed_at - interval '24 hours'
        THEN (ARRAY[i.market::integer] || s.recent_markets)[1:{RING_DAYS}]
    WHEN mod(g.seconds, {_DAY_SECONDS}) <> 0 THEN NULL
    WHEN s.recent_markets IS NOT NULL THEN (
        ARRAY[i.market::integer]
        || array_fill(NULL::integer, ARRAY[least(g.days - 1, {RING_DAYS})])
        || s.recent_markets
    )[1:{RING_DAYS}]
    ELSE (
        SELECT CASE
            WHEN count(*) = 0 THEN ARRAY[i.market::integer]
            WHEN NOT bool_and(
                p.market <= {_INT_MAX}
                AND mod(extract(epoch FROM i.observed_at - p.observed_at), {_DAY_SECONDS}) = 0
            ) THEN NULL
            WHEN max(p.observed_at) = i.observed_at - interval '24 hours'
             AND count(*) = extract(epoch FROM i.observed_at - min(p.observed_at)) / {_DAY_SECONDS}
                THEN ARRAY[i.market::integer]
                     -- (Cast once aggregated: aggregates are computed for every branch.)
                     || array_agg(p.market ORDER BY p.observed_at DESC)::integer[]
            ELSE ARRAY[i.market::integer] || ARRAY(
                SELECT w.market::integer FROM generate_series(1, {RING_DAYS - 1}) AS d (days)
                LEFT JOIN (
                    SELECT p.observed_at, p.market FROM {_POINT_TABLE} p
                    WHERE {_SAME_INCOMING}
                      AND p.observed_at >= i.observed_at - interval '{24 * (RING_DAYS - 1)} hours'
                      AND p.observed_at < i.observed_at
                ) w ON w.observed_at = i.observed_at - d.days * interval '24 hours'
                ORDER BY d.days
            )
        END
        FROM {_POINT_TABLE} p
        WHERE {_SAME_INCOMING}
          AND p.observed_at >= i.observed_at - interval '{24 * (RING_DAYS - 1)} hours'
          AND p.observed_at < i.observed_at
    )
END"""


def _reference_from_ring(name: str, window: dt.timedelta, lookup: str) -> str:
    """The market of the last point at or before (newest - window), within a day, read
    from the ring when there is one (the point `window` before, else the one a day
    earlier), else by `lookup`."""
    days = window.days
    return (
        f"CASE WHEN r.ring IS NOT NULL THEN coalesce(r.ring[{days + 1}], r.ring[{days + 2}]) "
        f"ELSE {lookup} END"
    )


def _reference_in_stored_ring(window: dt.timedelta) -> str:
    """_reference_from_ring's reference for a point a day after the summary's latest, read
    from the summary's ring as stored (the incoming ring is it shifted by one day)."""
    days = window.days
    return f"coalesce(s.recent_markets[{days}], s.recent_markets[{days + 1}])"


# The daily case of _NEW_DAY_SQL in one pass: each summary whose latest point is the day
# before its combo's incoming point, and which has a ring, updated where the index finds
# it, its references read from its ring and the incoming market pushed onto it (no
# lookups in the history, no second pass over the chunk); the number updated is the
# statement's rowcount. What it leaves (no ring yet, a gap, a market beyond an integer's
# range, no summary) goes on to _NEW_DAY_SQL, which passes over the summaries updated
# here: their latest point is the incoming one now.
_NEXT_DAY_SQL = f"""
UPDATE {_SUMMARY_TABLE} AS s SET
    currency = i.currency, market = i.market, low = i.low, high = i.high,
    sample_size = i.sample_size, observed_at = i.observed_at,
    {
    ", ".join(
        f"market_{name} = {_reference_in_stored_ring(window)}"
        for name, window in CHANGE_WINDOWS.items()
    )
},
    {
    ", ".join(
        f"change_{name} = {_change_sql(_reference_in_stored_ring(window), 'i.market')}"
        for name, window in CHANGE_WINDOWS.items()
    )
},
    all_time_high = greatest(i.market, s.all_time_high),
    all_time_low = least(i.market, s.all_time_low),
    recent_markets = (ARRAY[i.market::integer] || s.recent_markets)[1:{RING_DAYS}],
    updated_at = %(now)s
FROM {_INCOMING} i
WHERE s.card_id = i.card_id AND s.source = i.source AND s.price_key = i.price_key
  AND s.recent_markets IS NOT NULL AND s.observed_at = i.observed_at - interval '24 hours'
  AND i.market <= {_INT_MAX}
"""


# A new day's summaries in one statement, for a chunk with one point per combo whose
# points were just inserted into the price history (so every one of them was new): each
# combo whose summary's latest point is older than its incoming point has its summary
# updated (as _REFRESH_NEWER_SQL does: that point is the latest, every other point is at
# or before the summary's), its reference prices read from its ring where it has one.
# Returns how many were. No bookkeeping table: compared with the general statements, this
# spares a chunk three passes over its points. The summaries are updated where the lookup
# found them (by their ctid, as _BY_ID's array: no second lookup by id); one that another
# transaction updated meanwhile has moved, is left, and is done by _NEW_DAY_REST_SQL.
_NEW_DAY_SQL = f"""
WITH t AS MATERIALIZED (
    SELECT s.ctid AS summary_tid,
           i.currency, i.market, i.low, i.high, i.sample_size, i.observed_at, r.ring,
           {
    ", ".join(
        _reference_from_ring(
            name,
            window,
            _reference_after_stored(
                name,
                window,
                newest="i.observed_at",
                stored_at="s.observed_at",
                stored_market="s.market",
                alone="true",
                combo="i",
            ),
        )
        + f" AS market_{name}"
        for name, window in CHANGE_WINDOWS.items()
    )
}
    -- In key order: the lookups per combo read neighbouring index pages one after another.
    FROM (SELECT * FROM {_INCOMING} ORDER BY card_id, source, price_key) i
    JOIN LATERAL (
        -- LIMIT keeps this a lookup per combo by the unique index (as in _COMBOS_SQL).
        SELECT s.ctid, s.observed_at, s.market, s.recent_markets FROM {_SUMMARY_TABLE} s
        WHERE s.card_id = i.card_id AND s.source = i.source AND s.price_key = i.price_key
        LIMIT 1
    ) s ON i.observed_at > s.observed_at
    CROSS JOIN LATERAL (
        SELECT seconds, div(seconds, {_DAY_SECONDS})::int AS days
        FROM (SELECT extract(epoch FROM i.observed_at - s.observed_at) AS seconds) e
    ) g
    -- OFFSET 0: computed once per combo, not once for each of its uses.
    CROSS JOIN LATERAL (SELECT {_RING_SQL} AS ring OFFSET 0) r
),
updated AS (
    UPDATE {_SUMMARY_TABLE} AS s SET {_newer_summary("t.market", "t.market", ring="t.ring")}
    FROM t
    WHERE s.ctid = t.summary_tid AND s.ctid = ANY (ARRAY(SELECT t.summary_tid FROM t))
    RETURNING 1
)
SELECT count(*) FROM updated
"""
# The combos of such a chunk that _NEW_DAY_SQL did not update (no summary yet, or a point
# at or before the summary's latest: a backfill), due for _REFRESH_SQL, which reads the
# incoming point from the scratch table when it is the latest. Whatever it takes in
# besides is refreshed from the series all the same: this decides what is due, never what
# a summary holds.
_INSERT_NEW_DAY_SQL = (
    f"INSERT INTO {_POINT_TABLE} ({_POINT_COLUMNS}) SELECT {_POINT_COLUMNS} FROM {_INCOMING}"
)
_NEW_DAY_REST_SQL = f"""
INSERT INTO {_DUE} (card_id, source, price_key, newest, high, low, full_refresh, newest_incoming)
SELECT i.card_id, i.source, i.price_key, i.observed_at, i.market, i.market, false, true
FROM {_INCOMING} i
WHERE NOT EXISTS (
    SELECT FROM {_SUMMARY_TABLE} s
    WHERE s.card_id = i.card_id AND s.source = i.source AND s.price_key = i.price_key
      AND s.observed_at = i.observed_at AND s.updated_at = %s
)
"""


def _copy(cursor, table: str, columns: str, rows: Iterable[tuple]) -> None:
    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        write = copy.write_row
        for row in rows:
            write(row)


def _copy_text(observations: Iterable[Observation]) -> str:
    """Observations as the rows of COPY's text format, in _POINT_COLUMNS' order, built a
    column at a time (an import writes 150,000 a day): each distinct name and moment
    formatted once, the rest C loops (str of each number, a join per row)."""
    columns = list(zip(*observations, strict=True))
    if not columns:
        return ""
    card_ids, sources, price_keys, markets, moments, currencies, lows, highs, sizes = columns
    names = {name: name.translate(_COPY_ESCAPES) for name in {*sources, *price_keys, *currencies}}
    name = names.__getitem__
    formatted = {moment: f"{moment.isoformat()}\n" for moment in set(moments)}
    rows = zip(
        map(str, card_ids),
        map(name, sources),
        map(name, price_keys),
        map(name, currencies),
        map(str, markets),
        _nullable(lows),
        _nullable(highs),
        _nullable(sizes),
        map(formatted.__getitem__, moments),
        strict=True,
    )
    return "".join(map("\t".join, rows))


def _nullable(column: tuple) -> Iterable[str]:
    """A column of numbers or None as COPY's text: \\N for None."""
    types = set(map(type, column))
    if NoneType not in types:
        return map(str, column)
    if types == {NoneType}:
        return repeat(_NULL, len(column))
    return [_NULL if value is None else str(value) for value in column]


# COPY's text format: a backslash, a tab or a line break in a value is escaped; \N is null.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"


def _set_based() -> bool:
    if connection.vendor not in SET_BASED_VENDORS:
        return False
    # COPY from Python rows is psycopg 3's (Django also runs on psycopg2).
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return is_psycopg3


class _PreparedChunk(NamedTuple):
    keys: list[tuple]  # (card_id, source, price_key, observed_at) of each observation
    duplicates: int  # observations left out: a later one in the chunk has the same key
    bounds: dict[str, dt.datetime]  # _reference_bounds() of its moments
    text: str  # its observations as COPY's text (_copy_text)
    one_per_combo: bool


def _prepare_chunk(chunk: list[Observation]) -> _PreparedChunk:
    # By columns: C loops over the chunk, not a Python expression per observation.
    card_ids, sources, price_keys, _, moments, *_ = zip(*chunk, strict=True)
    keys = list(zip(card_ids, sources, price_keys, moments, strict=True))
    written = chunk
    by_key = dict(zip(keys, chunk, strict=True))
    if len(by_key) < len(keys):
        # The last of duplicate observations in one batch wins.
        keys, written = list(by_key), list(by_key.values())
    # (The same combos and moments as the observations kept.)
    combos = len(set(zip(card_ids, sources, price_keys, strict=True)))
    distinct = set(moments)  # a day's import: one
    return _PreparedChunk(
        keys,
        len(chunk) - len(keys),
        _reference_bounds(min(distinct), max(distinct)),
        _copy_text(written),
        combos == len(keys),
    )


def _write_chunk_set_based(chunk: list[Observation], result: WriteResult) -> None:
    _write_prepared(_prepare_chunk(chunk), result)


def _write_prepared(chunk: _PreparedChunk, result: WriteResult) -> None:
    result.unchanged += chunk.duplicates
    now = timezone.now()
    written: dict[int, int] = defaultdict(int)  # card id → points written
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_SCRATCH_SQL)
        _copy_points(cursor, _INCOMING, chunk.text)
        if chunk.one_per_combo and _new_day(cursor, len(chunk.keys), now, chunk.bounds):
            written.update(Counter(key[0] for key in chunk.keys))
        else:
            _write_rest(cursor, now, chunk.bounds, written)
    result.unchanged += len(chunk.keys) - sum(written.values())
    result.written += sum(written.values())
    result.changed_card_ids.update(written)


def _copy_points(cursor, table: str, text: str) -> None:
    """COPY points, as _copy_text wrote them, into `table`."""
    statement = f"COPY {table} ({_POINT_COLUMNS}) FROM STDIN"
    with connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
        copy.write(text)


def _new_day(cursor, points: int, now, bounds) -> bool:
    """A chunk of one point per combo (`points` of them, in the scratch table), written as
    a new day's prices are: inserted into the price history from the scratch table, then
    the summaries by _NEXT_DAY_SQL (the daily case), those it left by _NEW_DAY_SQL, and
    those that left by _REFRESH_SQL. False, with nothing
    written, when a point was there already (the unique key refuses the insert): the
    general statements decide then what is new."""
    try:
        with transaction.atomic():
            # From the scratch table rather than by a second COPY of the chunk's text:
            # the rows are not sent and parsed twice (a fifth of the time of that COPY).
            cursor.execute(_INSERT_NEW_DAY_SQL)
    except IntegrityError:
        return False
    cursor.execute(_NEXT_DAY_SQL, {"now": now})
    updated = cursor.rowcount
    if updated < points:
        cursor.execute(_NEW_DAY_SQL, {"now": now, **bounds})
        updated += cursor.fetchone()[0]
    if updated < points:
        cursor.execute(_NEW_DAY_REST_SQL, [now])
        cursor.execute(_REFRESH_SQL, [now])
    return True


def _write_rest(cursor, now, bounds, written: dict[int, int]) -> None:
    """The general statements, for the points in the scratch table."""
    cursor.execute(_COMBOS_SQL)
    combos, others = cursor.fetchone()
    if others < combos:
        try:
            with transaction.atomic():
                cursor.execute(_INSERT_FRESH_SQL)
        except IntegrityError:
            # A point was there after all (a summary missing or behind): upsert all.
            cursor.execute(_NOT_FRESH_SQL)
            others = combos
    if others:
        cursor.execute(_LAST_ID_SQL, [_POINT_TABLE])
        cursor.execute(_UPSERT_POINTS_SQL, [cursor.fetchone()[0]])
        cursor.execute(_UNWRITTEN_SQL)
    cursor.execute(_WRITTEN_SQL)
    per_card = cursor.fetchall()
    for card_id, count, _, _ in per_card:
        if count:
            written[card_id] += count
    if any(newer for _, _, newer, _ in per_card):
        cursor.execute(_REFRESH_NEWER_SQL, {"now": now, **bounds})
    if any(other for _, _, _, other in per_card):
        cursor.execute(_REFRESH_SQL, [now])


def _refresh_set_based(combos: list[tuple]) -> None:
    """Summaries of combos given as (card_id, source, price_key, newest written point,
    highest and lowest written market, full refresh), in one transaction."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_SCRATCH_SQL)
        _copy(cursor, _DUE, "card_id, source, price_key, newest, high, low, full_refresh", combos)
        cursor.execute(_REFRESH_SQL, [timezone.now()])


def _price_at_or_before(points: list[tuple], moment: dt.datetime) -> int | None:
    """Market of the last point at or before moment, within a day of it."""
    earliest = moment - dt.timedelta(days=1)
    for point in reversed(points):
        if point[0] <= moment:
            return point[1] if point[0] >= earliest else None
    return None


def _percent_change(before: int | None, now: int) -> float | None:
    """The change from before to now in percent, rounded to two decimals (half to even)
    in integers, so that the SQL of the set-based path gives the very same float."""
    if not before:
        return None
    hundredths, remainder = divmod(10000 * (now - before), before)
    if 2 * remainder > before or (2 * remainder == before and hundredths % 2):
        hundredths += 1
    return hundredths / 100
