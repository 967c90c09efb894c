"""`make bench`: measure the targets of docs/performance.md and print one table.

Every target is a ratio of two figures measured side by side in the same run, so that a
result means the same on any machine: each page against its own SQL statements replayed
raw through a cursor, movers from a cold cache against a warm one, a 500-item collection
page against a 50-item one, alert evaluation against one raw statement selecting the
crossing alerts, the price-guide import against COPY of the same points into the same
table, the card page's requests/s against a trivial view's through the same gunicorn. The
two sides of a ratio are sampled in turn, so load from elsewhere falls on both. The
absolute p50/p95 are printed beside each ratio, with the machine described.

Runs against PostgreSQL (BENCH_DATABASE_URL, default a `tcgtracker_bench` database on the
local server) at a realistic size: about 25,000 cards and, generated once and kept, a price
history of 2 price keys x BENCH_PRICE_DAYS (default 300) days per card: 15 million price
points (bench/history.py). Page times are server time through Django's test client.

BENCH_SAMPLES (requests per page row, default 200), BENCH_PRICE_DAYS, BENCH_SKIP (any of
pages, movers, collections, alerts, import, load, first-run; comma-separated) make a quicker
run. Exit status 1 when a row is over its target.
"""

import io
import logging
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this folder would come first on the path and bench/alerts.py would
# shadow the alerts app: import the helpers as the `bench` package instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tcgtracker_bench"
)
os.environ.setdefault("DATABASE_URL", DATABASE_URL)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import warnings  # noqa: E402

import django  # noqa: E402

# WhiteNoise notes that `collectstatic` has not run: the bench needs no static files.
warnings.filterwarnings("ignore", message="No directory at")
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench import guide, history, load  # noqa: E402
from cards.models import Card, CardSet, Game  # noqa: E402

TARGET_CARDS = 25_000  # at scale 1; BENCH_SCALE (history.SCALE) multiplies it
CARDS_PER_SET = 250
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "200"))
SKIP = {part.strip() for part in os.environ.get("BENCH_SKIP", "").split(",") if part.strip()}
# The targets of docs/performance.md.
PAGE_RATIO = 2.5  # a page's p95 against its own SQL's p95, at most
MOVERS_RATIO = 1.5  # cold against warm, at most
COLLECTION_RATIO = 1.5  # 500 items against 50, at most
ALERTS_RATIO = 2.0  # evaluation against one raw statement, at most
COPY_RATIO = 0.5  # import points/s against COPY's, at least
LOAD_RATIO = 0.6  # card page requests/s against a trivial view's, at least
FIRST_RUN_SECONDS = 60
# "Files up to 10,000 rows import in seconds" (the collections issue).
COLLECTION_IMPORT_SECONDS = 10
# Tables a run rewrites; autovacuum may be off on a development server.
CHURNED_TABLES = [
    "prices_pricesummary",
    "prices_unmatchedrow",
    "prices_unmatchedrow_candidates",
    "prices_pricepoint",
    "cards_card",
    "prices_jobrun",
]


@dataclass
class Row:
    """One line of the table: a measured figure against its baseline from the same run."""

    label: str
    measured: str  # absolute figures, e.g. "p50 13.9 / p95 19.0 ms"
    baseline: str  # what it is compared with, and that figure
    ratio: float | None  # measured / baseline (None: an absolute target)
    target: str
    ok: bool
    queries: str = ""


def at_most(ratio: float, bound: float) -> tuple[str, bool]:
    return f"≤ {bound:g}×", ratio <= bound


def at_least(ratio: float, bound: float) -> tuple[str, bool]:
    return f"≥ {bound:g}×", ratio >= bound


def percentiles(timings: list[float]) -> tuple[float, float]:
    ordered = sorted(timings)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


def p50_p95(timings: list[float], unit: str = "ms") -> str:
    p50, p95 = percentiles(timings)
    return f"p50 {p50:6.1f} / p95 {p95:6.1f} {unit}"


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0].split()[0]
        cursor.execute("SHOW shared_buffers")
        shared_buffers = cursor.fetchone()[0]
        cursor.execute("SHOW autovacuum")
        autovacuum = cursor.fetchone()[0]
    load_average = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({model}), PostgreSQL {version} (shared_buffers "
        f"{shared_buffers}, autovacuum {autovacuum}), Python {platform.python_version()}, "
        f"load average {load_average} at the start"
    )


# --- Data ------------------------------------------------------------------------------------


def ensure_database():
    import psycopg

    name = settings.DATABASES["default"]["NAME"]
    admin = psycopg.connect(
        host=settings.DATABASES["default"]["HOST"] or "127.0.0.1",
        port=settings.DATABASES["default"]["PORT"] or 5432,
        user=settings.DATABASES["default"]["USER"] or "postgres",
        dbname="postgres",
        autocommit=True,
    )
    exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    if not exists:
        admin.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    call_command("migrate", verbosity=0)


def ensure_catalog(scale: int = history.SCALE):
    """The demo catalog plus generated bench sets: TARGET_CARDS x scale cards."""
    target = TARGET_CARDS * scale
    if Card.objects.count() >= target:
        return
    call_command("load_catalog", demo=True, verbosity=0, stdout=io.StringIO())
    names = list(Card.objects.values_list("name", flat=True).distinct())
    rarities = [
        "Common",
        "Uncommon",
        "Rare",
        "Rare Holo",
        "Ultra Rare",
        "Special Illustration Rare",
    ]
    rng = random.Random(42)
    missing = target - Card.objects.count()
    first = CardSet.objects.filter(code__startswith="bench").count()
    for s in range(first, first + missing // CARDS_PER_SET + 1):
        card_set, _ = CardSet.objects.get_or_create(
            game=Game.POKEMON if s % 3 else Game.ONEPIECE,
            code=f"bench{s:03d}",
            defaults={"name": f"Bench Expansion {s}", "series": "Bench", "printed_total": 200},
        )
        cards = []
        for n in range(1, CARDS_PER_SET + 1):
            card = Card(
                card_set=card_set,
                number=str(n),
                name=f"{rng.choice(names)}",
                rarity=rng.choice(rarities),
            )
            card.refresh_derived_fields()
            cards.append(card)
        Card.objects.bulk_create(cards, ignore_conflicts=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cards_card")


def vacuum() -> bool:
    """VACUUM ANALYZE what the runs rewrite, when autovacuum does not; whether it did."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        if cursor.fetchone()[0] == "on":
            return False
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(CHURNED_TABLES)}")
    return True


def prepare(scale: int = history.SCALE, log=print) -> int:
    """Database, catalog and price history for `scale`; returns the days of history."""
    ensure_database()
    ensure_catalog(scale)
    guide.bench_sets()
    days, _ = history.ensure_history(log=log)
    vacuum()
    # The history is written in SQL, past record_observations: rank as the job would.
    from prices.movers import refresh_rankings

    refresh_rankings()
    return days


# --- Pages against their own SQL --------------------------------------------------------------


def replay(statements: list[str]) -> float:
    """Milliseconds to run these statements again through the driver's own cursor, every
    row fetched: the database's share of a request, without Django."""
    with connection.cursor() as cursor:
        raw = cursor.cursor
        start = time.perf_counter()
        for sql in statements:
            raw.execute(sql)
            if raw.description is not None:
                raw.fetchall()
        return (time.perf_counter() - start) * 1000


# Statements that only make sense inside the request's own transaction.
NOT_REPLAYED = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def timed_get(client, url) -> tuple[float, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, (url, response.status_code)
    return elapsed, [
        query["sql"]
        for query in queries.captured_queries
        if not query["sql"].upper().startswith(NOT_REPLAYED)
    ]


def plain_get(client, url) -> float:
    """Milliseconds for one request with no instrument on the connection: capturing the
    statements (a debug cursor noting each one) costs a request 2–3 %."""
    start = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


@dataclass
class PageTimes:
    pages: list[float]  # ms per request
    sqls: list[float]  # ms to replay that request's statements
    queries: set[int]  # the numbers of statements the requests ran

    @property
    def ratio(self) -> float:
        return percentiles(self.pages)[1] / percentiles(self.sqls)[1]


def time_page(client, urls: list[str], samples: int = SAMPLES) -> PageTimes:
    """A page's requests and its own SQL replayed raw, sampled in turn: each sample times
    a request, then captures the statements of the same request made again (untimed) and
    replays them."""
    for url in urls:  # warm up
        client.get(url)
    times = PageTimes([], [], set())
    for i in range(samples):
        url = urls[i % len(urls)]
        times.pages.append(plain_get(client, url))
        _, ran = timed_get(client, url)
        times.queries.add(len(ran))
        times.sqls.append(replay(ran))
    return times


def page_against_sql(client, label: str, urls: list[str], samples: int = SAMPLES) -> Row:
    """A page's p95 against the p95 of its own SQL replayed raw, sampled in turn."""
    times = time_page(client, urls, samples)
    target, ok = at_most(times.ratio, PAGE_RATIO)
    counts = times.queries
    return Row(
        label,
        p50_p95(times.pages),
        f"its SQL raw: {p50_p95(times.sqls)}",
        times.ratio,
        target,
        ok,
        f"{min(counts)}–{max(counts)}" if len(counts) > 1 else str(min(counts)),
    )


def page_specs() -> list[tuple[Client, str, list[str]]]:
    """The page rows: the client that asks, the row's label, the addresses asked in turn."""
    anonymous = Client()
    htmx = Client(HTTP_HX_REQUEST="true")
    member, _ = get_user_model().objects.get_or_create(
        username="bench-member", defaults={"email": "bench-member@example.com"}
    )
    logged_in = Client()
    logged_in.force_login(member)
    rng = random.Random(7)
    card_ids = rng.sample(list(Card.objects.values_list("pk", flat=True)), 50)
    card_urls = [card.get_absolute_url() for card in Card.objects.filter(pk__in=card_ids)]
    from bench import portfolio

    api = Client(HTTP_X_API_KEY=portfolio.api_key())
    return [
        (
            anonymous,
            "search: free text",
            ["/cards/?q=charizard", "/cards/?q=pikachu", "/cards/?q=luffy"],
        ),
        (
            anonymous,
            "search: typo",
            ["/cards/?q=charzard", "/cards/?q=blastiose", "/cards/?q=pikchu"],
        ),
        (
            anonymous,
            "search: syntax",
            ["/cards/?q=set:sv3pt5+number:199", "/cards/?q=rarity:%22rare+holo%22+game:pokemon"],
        ),
        (anonymous, "search: browse page 50", ["/cards/?page=50", "/cards/?sort=name&page=20"]),
        (
            anonymous,
            "search: every card by price",
            ["/cards/?sort=price-high", "/cards/?sort=rising&page=3"],
        ),
        (logged_in, "card page (rendered, signed in)", card_urls),
        (
            anonymous,
            "set page (120 of 250)",
            ["/sets/pokemon/bench001/", "/sets/pokemon/bench002/"],
        ),
        (htmx, "price history 1y", [f"/cards/{pk}/prices/history/?period=1y" for pk in card_ids]),
        (
            api,
            "api: card search (20 per page)",
            ["/api/v1/cards?q=charizard", "/api/v1/cards?q=set:bench001&offset=100"],
        ),
        (api, "api: card stats 1y", [f"/api/v1/cards/{pk}/stats?period=1y" for pk in card_ids]),
    ]


def page_rows() -> list[Row]:
    return [page_against_sql(client, label, urls) for client, label, urls in page_specs()]


# --- Pairs measured in turn ---------------------------------------------------------------------


def in_turn(
    client, first: list[str], second: list[str], samples: int, before_second: Callable = None
) -> tuple[list[float], list[float], set[int]]:
    """Time `first` and `second` addresses alternately; returns both timings."""
    for url in [*first, *second]:
        client.get(url)
    a, b, counts = [], [], set()
    for i in range(samples):
        elapsed, ran = timed_get(client, first[i % len(first)])
        a.append(elapsed)
        if before_second:
            before_second()
        elapsed, ran = timed_get(client, second[i % len(second)])
        b.append(elapsed)
        counts.add(len(ran))
    return a, b, counts


def movers_rows() -> list[Row]:
    client = Client()
    urls = ["/movers/", "/movers/?game=onepiece&period=30d", "/movers/?period=24h"]
    warm, cold, counts = in_turn(client, urls, urls, max(20, SAMPLES // 4), cache.clear)
    ratio = percentiles(cold)[1] / percentiles(warm)[1]
    target, ok = at_most(ratio, MOVERS_RATIO)
    return [
        Row(
            "movers, cold cache",
            p50_p95(cold),
            f"warm cache: {p50_p95(warm)}",
            ratio,
            target,
            ok,
            "–".join(str(n) for n in sorted({min(counts), max(counts)})),
        )
    ]


def collection_rows() -> list[Row]:
    from bench import portfolio

    large = portfolio.ensure_collection()
    small = portfolio.ensure_collection(portfolio.SMALL_ITEMS)
    owner = Client()
    owner.force_login(large.user)
    urls = lambda c: [c.get_absolute_url(), f"{c.get_absolute_url()}?sort=name"]  # noqa: E731
    at_50, at_500, counts = in_turn(owner, urls(small), urls(large), SAMPLES // 2)
    ratio = percentiles(at_500)[1] / percentiles(at_50)[1]
    target, ok = at_most(ratio, COLLECTION_RATIO)
    figures = portfolio.measure_import()
    seconds = figures["read"] + figures["commit"]
    return [
        Row(
            f"collection page, {portfolio.ITEMS} items",
            p50_p95(at_500),
            f"{portfolio.SMALL_ITEMS} items: {p50_p95(at_50)}",
            ratio,
            target,
            ok,
            "–".join(str(n) for n in sorted({min(counts), max(counts)})),
        ),
        Row(
            f"collection CSV import ({figures['rows']:,} rows)",
            f"{figures['read']:.1f} s read + {figures['commit']:.1f} s commit",
            "",
            None,
            f"≤ {COLLECTION_IMPORT_SECONDS} s",
            seconds <= COLLECTION_IMPORT_SECONDS and figures["items"] == figures["rows"],
        ),
    ]


def alert_rows() -> list[Row]:
    from bench import alerts

    figures = alerts.measure_evaluation()
    ratio = figures["seconds"] / figures["sql_seconds"]
    target, ok = at_most(ratio, ALERTS_RATIO)
    return [
        Row(
            f"alert evaluation ({figures['alerts']:,} alerts, {figures['cards']:,} cards)",
            f"{figures['seconds']:.2f} s",
            f"one SQL statement: {figures['sql_seconds']:.2f} s",
            ratio,
            target,
            ok,
            str(figures["queries"]),
        )
    ]


def import_rows(log) -> list[Row]:
    figures = guide.daily_import(log=log, between=vacuum)
    ratio = guide.ratio(figures)
    target, ok = at_least(ratio, COPY_RATIO)
    report = figures["report"]
    copy = figures["copy_seconds"] + figures["copy_checks_seconds"]
    return [
        Row(
            f"price-guide import ({figures['rows']:,} rows, summaries, alerts queued)",
            f"{figures['seconds']:.1f} s, {figures['written']:,} points, {figures['rate']:,.0f}/s",
            f"COPY: {figures['copy_seconds']:.1f} s + key checks "
            f"{figures['copy_checks_seconds']:.1f} s, {figures['copy_rate']:,.0f}/s",
            ratio,
            target,
            ok,
        ),
        days_row(figures["days"]),
        Row(
            "  its floor: COPY + one UPDATE of its summaries",
            f"{copy + figures['update_seconds']:.1f} s "
            f"(UPDATE of {figures['summaries']:,} summaries, unchanged: "
            f"{figures['update_seconds']:.1f} s)",
            "COPY with its key checks",
            copy / (copy + figures["update_seconds"]),
            "",
            True,
        ),
        Row(
            "  its time: CPU of this process / of its database server",
            f"{figures['python_cpu_seconds']:.1f} s / "
            + (
                f"{figures['database_cpu_seconds']:.1f} s"
                if figures["database_cpu_seconds"] is not None
                else "not measured (the server is on another machine)"
            ),
            "",
            None,
            "",
            True,
        ),
        after_change_row(figures["after_change"]),
        Row(
            "  its reading and matching alone (Python)",
            f"{figures['reading_seconds']:.1f} s",
            "",
            None,
            "",
            True,
        ),
        Row(
            "  its rows",
            f"{report['matched']:,} matched, {report['ambiguous']:,} ambiguous, "
            f"{report['unmatched']:,} unmatched, {report['rejected']:,} rejected",
            "",
            None,
            "",
            True,
        ),
    ]


def days_row(days: list[dict]) -> Row:
    """Each measured day's ratio, import and COPY side (with its key checks), in turn."""
    ratios = ", ".join(f"{guide.ratio(day):.2f}×" for day in days)
    seconds = ", ".join(f"{day['seconds']:.1f}" for day in days)
    copies = ", ".join(f"{day['copy_seconds'] + day['copy_checks_seconds']:.1f}" for day in days)
    return Row(
        f"  the {len(days)} days measured, in turn (above: the median)",
        f"{ratios} ({seconds} s)",
        f"COPY sides: {copies} s",
        None,
        "",
        True,
    )


def after_change_row(after: dict | None) -> Row:
    label = "  the day after new cards were matched (every line read)"
    if after is None:
        return Row(label, "not measured: the bench data had had imports", "", None, "", True)
    return Row(
        label,
        f"{after['seconds']:.1f} s, {after['rate']:,.0f}/s",
        f"COPY with its key checks: {after['copy_rate']:,.0f}/s",
        after["rate"] / after["copy_rate"],
        "",
        True,
    )


def load_rows(card_url: str) -> list[Row]:
    label = f"wrk -t{load.THREADS} -c{load.CONNECTIONS}: card page"
    missing = load.wrk_missing()
    if missing:
        return [Row(label, f"not measured: {missing}", "", None, f"≥ {LOAD_RATIO:g}×", False)]
    figures = load.run_load(card_url, DATABASE_URL)
    page, trivial = figures["page"], figures["trivial"]
    ratio = page["rate"] / trivial["rate"] if trivial["rate"] else 0.0
    target, ok = at_least(ratio, LOAD_RATIO)
    errors = page["errors"] + trivial["errors"]
    return [
        Row(
            label,
            f"{page['rate']:,.0f} req/s, {page['latency']} avg, {page['errors']} errors",
            f"trivial view: {trivial['rate']:,.0f} req/s, {trivial['latency']} avg",
            ratio,
            target + ", 0 errors",
            ok and errors == 0 and page["requests"] > 0,
        )
    ]


def first_run_rows() -> list[Row]:
    from bench import first_run

    figures = first_run.measure()
    ok = figures["served"] and figures["seconds"] <= FIRST_RUN_SECONDS
    return [
        Row(
            "first `make run`, fresh clone",
            f"{figures['seconds']:.0f} s to a served home page"
            + ("" if figures["served"] else " (never served)"),
            figures["steps"],
            None,
            f"≤ {FIRST_RUN_SECONDS} s",
            ok,
        )
    ]


def measure_rows(log=print) -> list[Row]:
    """Every row not skipped, on the data prepare() made."""
    rows = []
    if "pages" not in SKIP:
        rows += page_rows()
    if "movers" not in SKIP:
        rows += movers_rows()
    if "collections" not in SKIP:
        rows += collection_rows()
    # Alerts before the import: the import evaluates them too, as in production.
    if "alerts" not in SKIP:
        rows += alert_rows()
    if "import" not in SKIP:
        rows += import_rows(log)
    if "load" not in SKIP:
        card = Card.objects.filter(card_set__code="bench001").order_by("pk").first()
        rows += load_rows(card.get_absolute_url())
    if "first-run" not in SKIP:
        rows += first_run_rows()
    return rows


def run_all(scale: int = history.SCALE, log=print) -> tuple[str, list[Row]]:
    """Prepare the data for `scale` and measure every row: (the run's header, its rows)."""
    days = prepare(scale, log=log)
    points = history.point_count()
    header = (
        f"{machine()}\n{Card.objects.count():,} cards, ~{points / 1e6:.1f} million price points "
        f"({days} days), {SAMPLES} requests per page row"
    )
    return header, measure_rows(log)


def print_table(rows: list[Row], header: str) -> bool:
    """The table; whether a row is over its target."""
    columns = [
        ("row", [row.label for row in rows]),
        ("measured", [row.measured for row in rows]),
        ("against", [row.baseline for row in rows]),
        ("ratio", [f"{row.ratio:.2f}×" if row.ratio is not None else "" for row in rows]),
        ("target", [row.target for row in rows]),
        ("queries", [row.queries for row in rows]),
    ]
    widths = [max(len(name), *(len(v) for v in values)) + 2 for name, values in columns]
    print(f"\n{header}\n")
    print("".join(f"{name:<{w}}" for (name, _), w in zip(columns, widths, strict=True)) + "verdict")
    failed = False
    for n, row in enumerate(rows):
        failed |= not row.ok
        verdict = "" if not row.target else "ok" if row.ok else "OVER TARGET"
        cells = [values[n] for _, values in columns]
        print("".join(f"{cell:<{w}}" for cell, w in zip(cells, widths, strict=True)) + verdict)
    return failed


def main():
    # Not setup_test_environment(): its template instrumentation would be measured too.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # A line per request on the terminal would drown the progress lines.
    logging.getLogger("tcgtracker.requests").setLevel(logging.WARNING)
    logging.getLogger("django-q").setLevel(logging.WARNING)

    def log(message):
        print(message, file=sys.stderr, flush=True)

    header, rows = run_all(log=log)
    return 1 if print_table(rows, header) else 0


if __name__ == "__main__":
    sys.exit(main())
