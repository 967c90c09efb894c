"""Bench data: a long price history for every bench card, generated in SQL.

About 25,000 cards x 2 price keys x BENCH_PRICE_DAYS (default 300) days of PriceCharting
points: 15 million rows. The ORM would take hours; one INSERT ... SELECT over
generate_series per batch of cards takes minutes, once: the history is kept between runs
and only regenerated when BENCH_PRICE_DAYS changes or it has gone stale.

The summaries of the generated series are built by one set-based statement
(build_summaries) computing what prices.writing computes for a full refresh: the latest
point, the prices one, seven and thirty days before it (the last point at or before, within
a day), the changes in percent and the all-time extremes. check_summaries() compares a
sample with prices.writing.refresh_all_summaries, the code path the app uses.
"""

import datetime as dt
import os
import time

from django.db import connection, transaction

SOURCE = "pricecharting"
# (price key, multiple of the card's base price): a raw copy and a PSA 10.
KEYS = (("ungraded", 1.0), ("PSA 10", 6.0))
DAYS = int(os.environ.get("BENCH_PRICE_DAYS", "300"))
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
        if (
            complete
            and int(meta.get("days", -1)) == DAYS
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
        _set_meta(cursor, days=DAYS, last_day=last_day.isoformat(), complete=0)
        cursor.execute("SELECT id FROM cards_card ORDER BY id")
        card_ids = [row[0] for row in cursor.fetchall()]
    end = dt.datetime.combine(last_day, dt.time.min, tzinfo=dt.UTC)
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


SUMMARY_COLUMNS = (
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


def build_summaries() -> int:
    """Every summary of the series in one statement (bench only: the app's own path is
    prices.writing; check_summaries compares the two)."""

    def reference(name: str, days: int) -> str:
        same_combo = "p.card_id = a.card_id AND p.source = a.source AND p.price_key = a.price_key"
        return f"""
        LEFT JOIN LATERAL (
            SELECT p.market FROM prices_pricepoint p
            WHERE {same_combo}
              AND p.observed_at <= a.latest - interval '{days} days'
              AND p.observed_at >= a.latest - interval '{days + 1} days'
            ORDER BY p.observed_at DESC LIMIT 1
        ) {name} ON true"""

    def change(name: str) -> str:
        return (
            f"CASE WHEN {name}.market > 0 THEN "
            f"round(((cur.market - {name}.market) * 100.0 / {name}.market)::numeric, 2)::float8 "
            "END"
        )

    updates = ", ".join(f"{column} = excluded.{column}" for column in SUMMARY_COLUMNS)
    sql = f"""
        INSERT INTO prices_pricesummary (card_id, source, price_key, {", ".join(SUMMARY_COLUMNS)})
        SELECT a.card_id, a.source, a.price_key,
               cur.currency, cur.market, cur.low, cur.high, cur.sample_size, cur.observed_at,
               r1.market, r7.market, r30.market,
               {change("r1")}, {change("r7")}, {change("r30")},
               a.high, a.low, now()
        FROM (
            SELECT card_id, source, price_key, max(observed_at) AS latest,
                   max(market) AS high, min(market) AS low
            FROM prices_pricepoint GROUP BY card_id, source, price_key
        ) a
        JOIN prices_pricepoint cur
          ON cur.card_id = a.card_id AND cur.source = a.source
         AND cur.price_key = a.price_key AND cur.observed_at = a.latest
        {reference("r1", 1)}
        {reference("r7", 7)}
        {reference("r30", 30)}
        ON CONFLICT (card_id, source, price_key) DO UPDATE SET {updates}
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(sql)
        count = cursor.rowcount
        cursor.execute("ANALYZE prices_pricesummary")
    return count


def check_summaries(sample: int = 50) -> list[str]:
    """Differences between the bench summaries and the app's full refresh, on a sample of
    cards (rebuilt by the app's code inside a rolled-back transaction)."""
    from prices.models import PriceSummary
    from prices.writing import refresh_all_summaries

    fields = ["market", "observed_at", "market_1d", "market_7d", "market_30d"]
    fields += ["change_1d", "change_7d", "change_30d", "all_time_high", "all_time_low"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT card_id FROM prices_pricesummary ORDER BY card_id LIMIT %s",
            [sample],
        )
        card_ids = [row[0] for row in cursor.fetchall()]

    def read():
        return {
            (s["card_id"], s["source"], s["price_key"]): s
            for s in PriceSummary.objects.filter(card_id__in=card_ids).values(
                "card_id", "source", "price_key", *fields
            )
        }

    ours = read()
    differences = []
    with transaction.atomic():
        PriceSummary.objects.filter(card_id__in=card_ids).delete()
        refresh_all_summaries(card_ids)
        theirs = read()
        transaction.set_rollback(True)
    if ours.keys() != theirs.keys():
        differences.append(f"combos differ: {len(ours)} vs {len(theirs)}")
    for combo, mine in ours.items():
        app = theirs.get(combo)
        if app is None:
            continue
        for name in fields:
            a, b = mine[name], app[name]
            if isinstance(a, float) and isinstance(b, float) and abs(a - b) <= 0.011:
                continue
            if a != b:
                differences.append(f"{combo} {name}: bench {a!r}, app {b!r}")
    return differences
