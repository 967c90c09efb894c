"""`make bench`: measure the quality bars of DESIGN.md and print a table.

Runs against PostgreSQL (BENCH_DATABASE_URL, default a `tcgtracker_bench` database on the
local server) at a realistic size: about 25,000 cards. The catalog is generated once and
kept between runs. Times are server time through Django's test client, so they exclude
the network but include middleware, ORM, templates.
"""

import io
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault(
    "DATABASE_URL",
    os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tcgtracker_bench"),
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from cards.models import Card, CardSet, Game  # noqa: E402

TARGET_CARDS = 25_000
CARDS_PER_SET = 250
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "200"))


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


def ensure_catalog():
    if Card.objects.count() >= TARGET_CARDS:
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
    missing = TARGET_CARDS - Card.objects.count()
    set_count = missing // CARDS_PER_SET + 1
    for s in range(set_count):
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


def measure(client, label, urls):
    timings, query_counts = [], set()
    for _ in range(3):  # warm up
        client.get(urls[0])
    for i in range(SAMPLES):
        url = urls[i % len(urls)]
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - start) * 1000
        assert response.status_code == 200, (url, response.status_code)
        timings.append(elapsed)
        query_counts.add(len(queries.captured_queries))
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[int(len(timings) * 0.95) - 1]
    return label, p50, p95, f"{min(query_counts)}–{max(query_counts)}"


def main():
    # Not setup_test_environment(): its template instrumentation would be measured too.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    ensure_database()
    ensure_catalog()
    client = Client()
    card_ids = list(Card.objects.order_by("?").values_list("pk", flat=True)[:50])
    card_urls = [Card.objects.get(pk=pk).get_absolute_url() for pk in card_ids]
    rows = [
        measure(
            client,
            "search: free text",
            ["/cards/?q=charizard", "/cards/?q=pikachu", "/cards/?q=luffy"],
        ),
        measure(
            client,
            "search: typo",
            ["/cards/?q=charzard", "/cards/?q=blastiose", "/cards/?q=pikchu"],
        ),
        measure(
            client,
            "search: syntax",
            ["/cards/?q=set:sv3pt5+number:199", "/cards/?q=rarity:%22rare+holo%22+game:pokemon"],
        ),
        measure(client, "search: browse page 50", ["/cards/?page=50", "/cards/?sort=name&page=20"]),
        measure(client, "card page", card_urls),
        measure(
            client, "set page (120 of 250)", ["/sets/pokemon/bench001/", "/sets/pokemon/bench002/"]
        ),
    ]
    total = Card.objects.count()
    print(f"\nPostgreSQL, {total:,} cards, {SAMPLES} requests per row (target: p95 ≤ 25 ms)\n")
    print(f"{'page':<26}{'p50 ms':>9}{'p95 ms':>9}{'queries':>10}  verdict")
    failed = False
    for label, p50, p95, queries in rows:
        ok = p95 <= 25
        failed |= not ok
        print(f"{label:<26}{p50:>9.1f}{p95:>9.1f}{queries:>10}  {'ok' if ok else 'OVER TARGET'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
