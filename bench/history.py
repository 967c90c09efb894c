"""Bench data: a long price history for every bench card, generated in SQL.

About 25,000 cards x 2 price keys x BENCH_PRICE_DAYS (default 300) days of PriceCharting
points: 15 million rows; BENCH_SCALE=2 or 4 multiplies the cards, and so the points, for
the scale curve (bench/scale.py), each scale in a database of its own. The ORM would
take hours; one INSERT ... SELECT over generate_series per batch of cards takes minutes,
once: the history is kept between runs and only regenerated when BENCH_PRICE_DAYS or the
number of cards changes, or it has gone stale.

The summaries of the generated series are built by the app's own full refresh
(prices.writing.refresh_all_summaries): the bench keeps no SQL of its own for them.
"""

import datetime as dt
import os
import time

from django.db import connection, transaction

SOURCE = "pricecharting"
# (price key, multiple of the card's base price): a raw copy and a PSA 10.
KEYS = (("ungraded", 1.0), ("PSA 10", 6.0))
DAYS = int(os.environ.get("BENCH_PRICE_DAYS", "300"))
# One scale per process: bench/scale.py runs a list of them ("1,2,4"), each in a process
# of its own with BENCH_SCALE set to one.
SCALES = (1, 2, 4)


def scale() -> int:
    raw = os.environ.get("BENCH_SCALE", "1").strip() or "1"
    if not raw.isdigit() or int(raw) not in SCALES:
        raise SystemExit(f"BENCH_SCALE={raw!r}: one of {', '.join(map(str, SCALES))} here.")
    return int(raw)


SCALE = scale()
CARDS_PER_STATEMENT = 1000
STALE_AFTER = dt.timedelta(days=20)

META_TABLE = "bench_meta"


def _meta(cursor) -> dict[str, str]:
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key text PRIMARY KEY, value text)")
    cursor.execute(f"SELECT key, value FROM {META_TABLE}")
    return dict(cursor.fetchall())


def _set_meta(cursor, **values) -> None:
    for key, value in values.items():
        cursor.execute(
            f"INSERT INTO {META_TABLE} (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, str(value)],
        )


def history_state() -> dict[str, str]:
    with connection.cursor() as cursor:
        return _meta(cursor)


def ensure_history(log=print) -> tuple[int, dt.date]:
    """Generate the history unless it is there already; returns (days, last day)."""
    today = dt.datetime.now(dt.UTC).date()
    with connection.cursor() as cursor:
        meta = _meta(cursor)
        last_day = dt.date.fromisoformat(meta["last_day"]) if "last_day" in meta else None
        complete = meta.get("complete") == "1"
        cursor.execute("SELECT count(*) FROM cards_card")
        cards = cursor.fetchone()[0]
        if (
            complete
            and int(meta.get("days", -1)) == DAYS
            and int(meta.get("cards", cards)) == cards
            and last_day is not None
            and today - last_day <= STALE_AFTER
        ):
            return DAYS, last_day
        log(f"generating {DAYS} days of price history for every card (once; kept) ...")
        started = time.perf_counter()
        # Everything priced is bench data: start from empty tables.
        cursor.execute("TRUNCATE prices_pricesummary, prices_pricepoint")
        cursor.execute(f"DELETE FROM {META_TABLE}")
        last_day = today - dt.timedelta(days=1)
        _set_meta(cursor, days=DAYS, last_day=last_day.isoformat(), cards=cards, complete=0)
        cursor.execute("SELECT id FROM cards_card ORDER BY id")
        card_ids = [row[0] for row in cursor.fetchall()]
    end = dt.datetime.combine(last_day, dt.time.min, tzinfo=dt.UTC)
    # On the partitioned table, every month of the history has its partition first.
    from prices.partitions import ensure_partitions

    ensure_partitions(since=end - dt.timedelta(days=DAYS))
    keys_sql = ", ".join(f"('{key}', {multiple})" for key, multiple in KEYS)
    # Base price log-uniform from $0.50 to about $1,000 per card; a slow swing, a faster
    # wiggle and a trend per card, so that changes over 1/7/30 days differ from card to card.
    sql = f"""
        INSERT INTO prices_pricepoint
            (card_id, source, price_key, currency, market, low, high, sample_size, observed_at)
        SELECT c.id, '{SOURCE}', k.key, 'USD',
               greatest(1, round(c.base * k.multiple * (
                   1 + 0.25 * sin((d + c.phase) / 37.0)
                     + 0.04 * sin(d * 1.7 + c.phase)
                     + c.trend * (d - %(days)s) / %(days)s
               )))::bigint,
               NULL, NULL, (c.h %% 50)::int,
               %(end)s::timestamptz - make_interval(days => %(days)s - 1 - d)
        FROM (
            SELECT id,
                   exp(ln(50) + (abs(hashint8(id)) %% 1000) / 1000.0 * ln(2000)) AS base,
                   (abs(hashint8(id + 7)) %% 1000)::float8 AS phase,
                   ((abs(hashint8(id + 13)) %% 1000) - 500) / 2500.0 AS trend,
                   abs(hashint8(id + 29)) AS h
            FROM cards_card WHERE id = ANY(%(ids)s)
        ) c
        CROSS JOIN (VALUES {keys_sql}) AS k(key, multiple)
        CROSS JOIN generate_series(0, %(days)s - 1) AS d
        ORDER BY c.id, k.key, d
    """
    for start in range(0, len(card_ids), CARDS_PER_STATEMENT):
        batch = card_ids[start : start + CARDS_PER_STATEMENT]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, {"ids": batch, "days": DAYS, "end": end})
        done = start + len(batch)
        if done % (CARDS_PER_STATEMENT * 5) == 0 or done == len(card_ids):
            log(f"  {done:,} of {len(card_ids):,} cards, {time.perf_counter() - started:.0f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE prices_pricepoint")
    log("building price summaries ...")
    build_summaries()
    with connection.cursor() as cursor:
        _set_meta(cursor, complete=1)
    log(f"history ready in {time.perf_counter() - started:.0f} s")
    return DAYS, last_day


def point_count() -> int:
    """The planner's count of price points: the table's, or its partitions' together."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint FROM pg_class c
            WHERE c.oid IN (
                SELECT inhrelid FROM pg_inherits WHERE inhparent = 'prices_pricepoint'::regclass
            ) OR (c.oid = 'prices_pricepoint'::regclass AND c.relkind = 'r')
            """
        )
        return cursor.fetchone()[0]


def build_summaries() -> int:
    """Every summary of the series, by the app's own code path."""
    from prices.writing import refresh_all_summaries

    count = refresh_all_summaries()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE prices_pricesummary")
    return count
