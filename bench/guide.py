"""Bench: the PriceCharting price-guide import, against PostgreSQL COPY.

An 88,000-row guide in PriceCharting's CSV format (the 27 columns of its price-guide download):
one row per bench card (matched by set and number through the sets' pricecharting_name,
by PriceCharting id once an import has stored it) and the rest products of other sets,
Japanese sets and sealed products that match nothing. Prices are dollar strings as
PriceCharting writes them ("$1,234.56"), varied per day so each run's file is a new day.

The import runs on a day after the newest price so that every point it writes is new,
with django-q's queue as in production (the alert checks and the movers' ranking it
triggers are queued, not run: the bench has no worker, and drops them afterwards). COPY
then writes the very points the import wrote, a day later, into the same table with its
indexes, and runs the key checks a commit would run, in a transaction that is rolled back;
and one UPDATE rewrites the summaries the import brought up to date, unchanged, also
rolled back: COPY and that UPDATE together are the floor of any import that keeps the
summaries current, whatever its parsing costs.
The run also notes the CPU time of this process and of its database server (all its
processes, read from /proc, when the server runs on this machine).
"""

import csv
import datetime as dt
import os
import random
import tempfile
import time
from pathlib import Path

from django.db import connection, transaction

from cards.models import Card, CardSet, Game
from prices.models import PriceSummary, Source

ROWS = 88_000
HEADER = [
    "id",
    "console-name",
    "product-name",
    "loose-price",
    "cib-price",
    "new-price",
    "graded-price",
    "box-only-price",
    "manual-only-price",
    "bgs-10-price",
    "condition-17-price",
    "condition-18-price",
    "gamestop-price",
    "gamestop-trade-price",
    "retail-loose-buy",
    "retail-loose-sell",
    "retail-cib-buy",
    "retail-cib-sell",
    "retail-new-buy",
    "retail-new-sell",
    "upc",
    "sales-volume",
    "genre",
    "tcg-id",
    "asin",
    "epid",
    "release-date",
]
GRADED_FIELDS = (
    ("cib-price", 1.6, 1.0),
    ("new-price", 2.2, 1.0),
    ("graded-price", 3.5, 1.0),
    ("box-only-price", 5.0, 0.6),
    ("manual-only-price", 8.0, 1.0),
    ("bgs-10-price", 12.0, 0.4),
    ("condition-17-price", 7.0, 0.4),
    ("condition-18-price", 6.5, 0.4),
)
PREFIXES = {Game.POKEMON: "Pokemon", Game.ONEPIECE: "One Piece"}
GENRES = {Game.POKEMON: "Pokemon Card", Game.ONEPIECE: "One Piece Card"}
NAMES = [
    "Charizard",
    "Pikachu",
    "Mewtwo",
    "Gengar",
    "Umbreon VMAX",
    "Rayquaza, Dragon of the Skies",  # quoted in the CSV
    "Monkey.D.Luffy",
    "Roronoa Zoro",
    "Nami",
    "Trafalgar Law",
    "Booster Box",
    "Elite Trainer Box",
]


def dollars(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


def bench_sets() -> list[CardSet]:
    """The bench sets, each with the console-name PriceCharting would give it."""
    sets = list(CardSet.objects.filter(code__startswith="bench").order_by("code"))
    for card_set in sets:
        name = f"{PREFIXES[card_set.game]} {card_set.name}"
        if card_set.pricecharting_name != name:
            card_set.pricecharting_name = name
            card_set.save(update_fields=["pricecharting_name"])
    return sets


def write_guide(path: Path, day: dt.date) -> dict:
    """The guide for `day`; returns what it holds."""
    sets = {card_set.pk: card_set for card_set in bench_sets()}
    cards = list(
        Card.objects.filter(card_set__in=sets)
        .order_by("pk")
        .values_list("pk", "card_set_id", "number", "name")
    )
    rng = random.Random(day.toordinal())
    stable = random.Random(7)  # what does not change from day to day
    matched = min(len(cards), ROWS)
    # Near each card's current price, as a real day's guide is: prices unrelated to the
    # history would move cards by thousands of percent and fire every "moves by" alert.
    current = dict(
        PriceSummary.objects.filter(
            card_id__in=[pk for pk, *_ in cards[:matched]],
            source=Source.PRICECHARTING,
            price_key="ungraded",
        ).values_list("card_id", "market")
    )
    rows = []
    for pk, set_id, number, name in cards[:matched]:
        card_set = sets[set_id]
        base = current.get(pk) or 50 + (pk * 7919) % 40_000
        loose = max(1, round(base * (1 + rng.uniform(-0.03, 0.03))))
        row = dict.fromkeys(HEADER, "")
        row.update(
            {
                "id": str(5_000_000 + pk),
                "console-name": card_set.pricecharting_name,
                "product-name": f"{name} #{number}",
                "loose-price": dollars(loose),
                "genre": GENRES[card_set.game],
                "tcg-id": str(20_000_000 + pk) if pk % 4 else "",
                "sales-volume": str(pk % 300),
                "release-date": "2023-03-31" if pk % 2 else "3/31/2023",
                "retail-loose-buy": dollars(loose * 6 // 10),
                "retail-loose-sell": dollars(loose * 11 // 10),
            }
        )
        for field, multiple, share in GRADED_FIELDS:
            if (pk * 31 + len(field)) % 100 < share * 100:
                row[field] = dollars(max(1, round(loose * multiple * rng.uniform(0.97, 1.03))))
        rows.append(row)
    for n in range(ROWS - matched):
        sealed = n % 10 == 0
        japanese = n % 3 == 0
        game = Game.POKEMON if n % 4 else Game.ONEPIECE
        console = f"{PREFIXES[game]} {'Japanese ' if japanese else ''}Other Set {n % 400}"
        base = 25 + stable.randrange(200_000) if not sealed else 5_000 + stable.randrange(50_000)
        if n % 5 == 0:  # a fifth of these move from one day to the next
            base = round(base * (1 + rng.uniform(-0.05, 0.05)))
        row = dict.fromkeys(HEADER, "")
        row.update(
            {
                "id": str(1_000_000 + n),
                "console-name": console,
                "product-name": f"{NAMES[n % len(NAMES)]} #{n % 300 + 1}"
                if not sealed
                else f"{NAMES[10 + n % 2]} {n}",
                "loose-price": dollars(max(1, base)) if n % 17 else "",
                "genre": "Sealed Product" if sealed else GENRES[game],
                "sales-volume": str(n % 50),
                "release-date": "2021-11-05",
            }
        )
        if not sealed:
            row["cib-price"] = dollars(base * 2)
            row["manual-only-price"] = dollars(base * 9)
        rows.append(row)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return {"rows": len(rows), "matchable": matched}


def next_day() -> dt.date:
    """A day after every price stored: each import's points are all new."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(observed_at) FROM prices_pricepoint")
        latest = cursor.fetchone()[0]
    today = dt.datetime.now(dt.UTC).date()
    return max(today, latest.astimezone(dt.UTC).date() + dt.timedelta(days=1)) if latest else today


def copy_seconds(day: dt.date) -> tuple[int, float, float]:
    """(points, seconds, seconds of its key checks) of PostgreSQL COPY of the points
    written for `day`, moved a day later, into prices_pricepoint itself (its indexes,
    constraints and WAL), from rows already in memory; rolled back.

    A point's card is a foreign key checked when its transaction commits (Django makes
    them DEFERRABLE INITIALLY DEFERRED): the import's commit runs those checks, a COPY
    rolled back would not. They are run here before the rollback, and timed apart."""
    start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    columns = "card_id, source, price_key, currency, market, low, high, sample_size, observed_at"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM prices_pricepoint WHERE observed_at >= %s AND observed_at < %s",
            [start, start + dt.timedelta(days=1)],
        )
        rows = [(*row[:8], row[8] + dt.timedelta(days=1)) for row in cursor.fetchall()]
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor
        begin = time.perf_counter()
        with raw.copy(f"COPY prices_pricepoint ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        elapsed = time.perf_counter() - begin
        begin = time.perf_counter()
        raw.execute("SET CONSTRAINTS ALL IMMEDIATE")
        checks = time.perf_counter() - begin
        transaction.set_rollback(True)
    return len(rows), elapsed, checks


def read_and_match_seconds(path: Path) -> float:
    """Seconds the import's reading of the file and matching of its rows take alone: the
    catalog's match index built, every row read and matched, nothing else done."""
    from prices.matching import CatalogIndex
    from prices.pricecharting_import import file_lines, read_guide

    begin = time.perf_counter()
    index = CatalogIndex.load(None)
    for row in read_guide(file_lines(path)):
        if row.product is not None:
            index.match(row.product)
    return time.perf_counter() - begin


def summary_update_seconds(day: dt.date) -> tuple[int, float]:
    """(summaries, seconds) of one UPDATE of the PriceCharting summaries the import of `day`
    brought up to date, every column it writes set to what it holds, nothing computed or
    looked up; rolled back. With COPY of the points, the least an import that keeps the
    summaries current writes."""
    start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    columns = (
        "currency, market, low, high, sample_size, observed_at, market_1d, market_7d, "
        "market_30d, change_1d, change_7d, change_30d, all_time_high, all_time_low"
    )
    assignments = ", ".join(f"{name} = {name}" for name in columns.split(", "))
    with transaction.atomic(), connection.cursor() as cursor:
        begin = time.perf_counter()
        cursor.execute(
            f"UPDATE prices_pricesummary SET {assignments}, updated_at = now() "
            "WHERE source = %s AND observed_at >= %s AND observed_at < %s",
            [Source.PRICECHARTING, start, start + dt.timedelta(days=1)],
        )
        elapsed = time.perf_counter() - begin
        updated = cursor.rowcount
        transaction.set_rollback(True)
    return updated, elapsed


def _stat(pid) -> list[str]:
    """/proc/<pid>/stat after the command's name: [state, ppid, ...]; utime, stime, cutime
    and cstime are at 11 to 14."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def server_cpu_seconds() -> float | None:
    """CPU seconds the database server has used in all its processes, when it runs on this
    machine (read from /proc); None otherwise. The import writes on connections of its own
    too, whose server processes end with them: the server's main process counts theirs
    once they have ended (its children's times), its live processes their own."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    try:
        postmaster = _stat(backend)[1]
        fields = _stat(postmaster)
        ticks = sum(int(value) for value in fields[11:15])
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    child = _stat(entry.name)
                except OSError:  # ended meanwhile
                    continue
                if child[1] == postmaster:
                    ticks += int(child[11]) + int(child[12])
    except OSError:
        return None
    return ticks / os.sysconf("SC_CLK_TCK")


def _queued_not_run():
    """django-q as in production: async_task queues (the ORM broker) instead of running."""
    from django_q.conf import Conf

    class Queued:
        def __enter__(self):
            self.sync, Conf.SYNC = Conf.SYNC, False

        def __exit__(self, *exc):
            Conf.SYNC = self.sync

    return Queued()


def _drop_queued_tasks() -> int:
    from django_q.models import OrmQ

    return OrmQ.objects.all().delete()[0]


# Days of imports measured: the row shows the day of the median ratio, and all of them.
MEASURED_DAYS = 3


def daily_import(log=print, between=None, days: int = MEASURED_DAYS) -> dict:
    """A day's import as an install makes it every day, measured on `days` days one after
    another, each against its own COPY side: the figures of the day whose ratio is the
    median, with every day's under "days" (in the order they ran).

    Into fresh bench data two imports go first, untimed: the first matches every card
    (giving 24,500 cards their PriceCharting ids) and creates every waiting row; the next
    day's reads every line again, the catalog having changed (those ids), and notes each
    waiting row's line (its figures are kept as `after_change`: an install's import the
    day after new cards were matched). `between` runs before each import after the first
    (the vacuum autovacuum would run in the day between two)."""
    figures = run_import(log=log)
    after_change = None
    measured = [figures]
    if figures["first"]:
        log("  that was the first import (matching every card); the next day's ...")
        if between is not None:
            between()
        after_change = run_import(log=log)
        measured = []
    while len(measured) < days:
        log(f"  ... and a day like any other, measured ({len(measured) + 1} of {days}) ...")
        if between is not None:
            between()
        measured.append(run_import(log=log))
    by_ratio = sorted(measured, key=ratio)
    figures = dict(by_ratio[len(by_ratio) // 2])
    figures["days"] = measured
    figures["after_change"] = after_change
    return figures


def ratio(figures: dict) -> float:
    """The import's points per second against its COPY side's."""
    return figures["rate"] / figures["copy_rate"]


def run_import(log=print) -> dict:
    from prices.pricecharting_import import import_price_guide

    day = next_day()
    first = not Card.objects.exclude(pricecharting_id="").exists()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"pokemon-cards-{day}.csv"
        info = write_guide(path, day)
        with _queued_not_run():
            server = server_cpu_seconds()
            python = time.process_time()
            start = time.perf_counter()
            run = import_price_guide(path, observed_on=day)
            seconds = time.perf_counter() - start
            python = time.process_time() - python
            if server is not None:
                server = server_cpu_seconds() - server
        reading = read_and_match_seconds(path)
    queued = _drop_queued_tasks()
    if run.status not in ("succeeded", "partial"):
        raise RuntimeError(f"import failed: {run.errors}")
    copied, copy, checks = copy_seconds(day)
    if copied != run.written:
        raise RuntimeError(f"COPY read {copied} points for {day}, the import wrote {run.written}")
    summaries, update = summary_update_seconds(day)
    return {
        **info,
        "day": day,
        "first": first,
        "seconds": seconds,
        "written": run.written,
        "unchanged": run.unchanged,
        "rejected": run.rejected,
        "description": run.description,
        "report": run.report,
        "copy_seconds": copy,
        "copy_checks_seconds": checks,
        "summaries": summaries,
        "update_seconds": update,
        "reading_seconds": reading,
        "python_cpu_seconds": python,
        "database_cpu_seconds": server,
        "queued": queued,
        "rate": run.written / seconds,
        "copy_rate": run.written / (copy + checks) if copy + checks else float("inf"),
    }
