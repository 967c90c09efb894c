"""`BENCH_SCALE=1,2,4 make bench`: the scale curve, one table.

For each scale (1, 2 or 4; any of them, comma-separated) a process of its own builds or
reuses the bench data in a database of its own (BENCH_DATABASE_URL's name + `_x2` ...):
25,000 cards x the scale, each with BENCH_PRICE_DAYS (default 300) days of two price keys,
so 15, 30 and 60 million price points (bench/history.py). Then it measures, on that data:

- each page row against its own SQL replayed raw: the statements the page ran, captured
  once, run again through a cursor in the same loop (p95 against p95, the same run);
- the price-guide import (88,000 rows, matched, with summaries and queued alert checks)
  against COPY of the same points (bench/guide.py; a first import is run once untimed, so
  every scale measures a daily import);
- retention (prices/retention.py): a daily run, a run that folds a whole month again
  (after extra intraday points were written into the oldest month), and the statement that
  the unpartitioned job began with (every point past the cutoff grouped by day), timed
  alone, for comparison.

Prints one table with a column per scale. BENCH_SAMPLES (default 60 here) requests per
page row. Generating a scale's data takes about five minutes per 15 million points, once.
"""

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
# As in bench/run.py: bench/alerts.py must not shadow the alerts app.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

SCALES = (1, 2, 4)
BASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tcgtracker_bench"
)
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "60"))


def requested_scales() -> list[int]:
    raw = os.environ.get("BENCH_SCALE", "1,2,4")
    try:
        scales = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        scales = []
    if not scales or any(scale not in SCALES for scale in scales):
        raise SystemExit(f"BENCH_SCALE={raw!r}: a comma-separated list of 1, 2 and 4.")
    return scales


def database_url(scale: int) -> str:
    parts = urlsplit(BASE_URL)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}_x{scale}"))


def main() -> int:
    results = []
    for scale in requested_scales():
        url = database_url(scale)
        print(f"scale {scale}x: {urlsplit(url).path.lstrip('/')}", file=sys.stderr, flush=True)
        env = {**os.environ, "BENCH_SCALE": str(scale), "BENCH_DATABASE_URL": url}
        env["DATABASE_URL"] = url
        done = subprocess.run(
            [sys.executable, __file__, "--measure"], env=env, stdout=subprocess.PIPE, text=True
        )
        if done.returncode:
            print(f"scale {scale}x failed", file=sys.stderr)
            return done.returncode
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print_table(results)
    return 0


def print_table(results: list[dict]) -> None:
    header = ["measure", *(f"{r['scale']}x" for r in results)]
    rows = [
        ["cards", *(f"{r['cards']:,}" for r in results)],
        ["price points", *(f"{r['points'] / 1e6:.1f} M" for r in results)],
    ]
    for i, page in enumerate(results[0]["pages"]):
        rows.append(
            [
                f"{page['label']}: p95 / its SQL's p95",
                *(
                    f"{r['pages'][i]['p95']:.1f} / {r['pages'][i]['sql_p95']:.1f} ms "
                    f"= {r['pages'][i]['ratio']:.2f}x"
                    for r in results
                ),
            ]
        )
    rows.append(
        [
            "price-guide import vs COPY (points/s)",
            *(
                f"{r['import']['rate']:,.0f} / {r['import']['copy_rate']:,.0f} "
                f"= {r['import']['ratio']:.2f}x"
                for r in results
            ),
        ]
    )
    retention = [
        ("daily", "retention: a daily run"),
        ("month", "retention: a run folding one month"),
        ("unpartitioned_scan", "retention unpartitioned: its first scan alone"),
    ]
    for key, label in retention:
        rows.append([label, *(f"{r['retention'][key]:.1f} s" for r in results)])
    rows.append(
        ["  (the month folded)", *(f"{r['retention']['month_points']:,} points" for r in results)]
    )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    machine = results[0]["machine"]
    print(f"\nScale curve, {machine}\n")
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


# --- One scale, in its own process ---------------------------------------------------------


def page_rows(bench) -> list[dict]:
    """bench/run.py's page rows (`bench` is that module, imported on this scale's data)."""
    rows = []
    for client, label, urls in bench.page_specs():
        times = bench.time_page(client, urls, SAMPLES)
        p50, p95 = bench.percentiles(times.pages)
        rows.append(
            {
                "label": label,
                "p50": p50,
                "p95": p95,
                "sql_p95": bench.percentiles(times.sqls)[1],
                "ratio": times.ratio,
                "queries": max(times.queries),
            }
        )
    return rows


def import_ratio(log, between=None) -> dict:
    from bench import guide

    figures = guide.daily_import(log=log, between=between)
    return {
        "rate": figures["rate"],
        "copy_rate": figures["copy_rate"],
        "ratio": figures["rate"] / figures["copy_rate"],
        "seconds": figures["seconds"],
        "written": figures["written"],
    }


def retention_times(log) -> dict:
    import datetime as dt

    from django.conf import settings
    from django.db import connection
    from django.db.models import Count
    from django.db.models.functions import TruncDate
    from django.utils import timezone

    from prices import partitions
    from prices.models import PricePoint
    from prices.retention import fold_old_points

    log("retention: bringing the months up to date (the first time: every old month) ...")
    fold_old_points()
    oldest = partitions.partitions()[0]
    with connection.cursor() as cursor:
        # A day's second point for every 50th card, all through the oldest month.
        cursor.execute(
            f"""
            INSERT INTO prices_pricepoint
                (card_id, source, price_key, currency, market, low, high, sample_size,
                 observed_at)
            SELECT card_id, source, price_key, currency, market, NULL, NULL, sample_size,
                   observed_at + interval '1 minute'
            FROM {oldest.name} WHERE card_id % 50 = 0
            ON CONFLICT DO NOTHING
            """
        )
        cursor.execute(f"SELECT count(*) FROM {oldest.name}")
        month_points = cursor.fetchone()[0]
    start = time.perf_counter()
    run = fold_old_points()
    month = time.perf_counter() - start
    log(f"  {run.description}")
    start = time.perf_counter()
    fold_old_points()
    daily = time.perf_counter() - start
    cutoff = timezone.now() - dt.timedelta(days=settings.PRICE_RETENTION_DAYS)
    start = time.perf_counter()
    list(
        PricePoint.objects.filter(observed_at__lt=cutoff)
        .annotate(day=TruncDate("observed_at", tzinfo=dt.UTC))
        .values("card_id", "source", "price_key", "day")
        .annotate(points=Count("id"))
        .filter(points__gt=1)
        .order_by()
    )
    unpartitioned_scan = time.perf_counter() - start
    return {
        "daily": daily,
        "month": month,
        "month_points": month_points,
        "unpartitioned_scan": unpartitioned_scan,
    }


def measure() -> dict:
    import importlib

    # bench/run.py sets Django up (on this scale's database) as it is imported: first.
    bench = importlib.import_module("bench.run")
    from bench import history

    def log(message):
        print(message, file=sys.stderr, flush=True)

    from django.conf import settings
    from django.db import connection

    from cards.models import Card

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # As in the main table: a line per request would be measured with each page.
    logging.getLogger("tcgtracker.requests").setLevel(logging.WARNING)
    logging.getLogger("django-q").setLevel(logging.WARNING)
    # The main table's preparation: the data, vacuumed, with the headlines and the movers'
    # rankings its price writes in SQL skipped (without them, every price sort read a
    # catalog of unpriced cards).
    bench.prepare(history.SCALE, log=log)
    log("pages ...")
    pages = page_rows(bench)
    log("import ...")
    imported = import_ratio(log, between=bench.vacuum)
    retention = retention_times(log)
    with connection.cursor() as cursor:
        cursor.execute("SHOW shared_buffers")
        shared_buffers = cursor.fetchone()[0]
    return {
        "scale": history.SCALE,
        "cards": Card.objects.count(),
        "points": history.point_count(),
        "pages": pages,
        "import": imported,
        "retention": retention,
        "machine": (
            f"PostgreSQL, {os.cpu_count()} CPUs, shared_buffers {shared_buffers}, "
            f"{SAMPLES} requests per page row, {history.DAYS} days of history per card"
        ),
    }


if __name__ == "__main__":
    if sys.argv[1:] == ["--measure"]:
        # Importing bench.run sets Django up on this scale's database.
        figures = measure()
        print(json.dumps(figures))
        sys.exit(0)
    sys.exit(main())
