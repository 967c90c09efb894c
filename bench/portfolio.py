"""Collections at bench size: a 500-item collection and the same collector's 50-item one
(the first 50 of the same lots), a 10,000-row CSV import (read and commit), and the API
key for the API's card search.

The collections and their items are made once and kept (random bench cards, a fixed
seed); the import goes into a scratch collection that is deleted afterwards.
"""

import csv
import io
import random
import time

from django.contrib.auth import get_user_model

from api.models import ApiKey
from cards.models import Card
from collections_app.exporting import OWN_COLUMNS, dollars
from collections_app.importing import commit_import, read_import
from collections_app.models import Collection, CollectionImport, CollectionItem

ITEMS = 500
SMALL_ITEMS = 50
IMPORT_ROWS = 10_000
CONDITIONS = ["NM", "NM", "NM", "LP", "MP"]


def bench_user():
    user, _ = get_user_model().objects.get_or_create(
        username="bench-collector", defaults={"email": "bench-collector@example.com"}
    )
    return user


def ensure_collection(items: int = ITEMS) -> Collection:
    """The bench collector's binder of `items` lots, with purchase prices: the first
    `items` of the same ITEMS random lots whatever the size."""
    name = "Bench binder" if items == ITEMS else f"Bench binder ({items})"
    collection, _ = Collection.objects.get_or_create(user=bench_user(), name=name)
    if collection.items.count() != items:
        collection.items.all().delete()
        rng = random.Random(11)
        card_ids = rng.sample(list(Card.objects.values_list("pk", flat=True)), ITEMS)
        lots = [
            CollectionItem(
                collection=collection,
                card_id=card_id,
                quantity=rng.randint(1, 4),
                condition=rng.choice(CONDITIONS),
                purchase_price=rng.randint(50, 50_000),
            )
            for card_id in card_ids
        ]
        CollectionItem.objects.bulk_create(lots[:items])
    return collection


def api_key() -> str:
    """A fresh key per run, so the hourly rate limit never cuts a run short."""
    _, token = ApiKey.issue(bench_user(), "bench")
    return token


def import_csv(rows: int = IMPORT_ROWS) -> bytes:
    rng = random.Random(13)
    cards = list(Card.objects.select_related("card_set").order_by("?")[: min(rows, 5000)])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(OWN_COLUMNS)
    for line in range(rows):
        card = cards[line % len(cards)]
        values = {
            "card_id": str(card.pk),
            "game": card.card_set.game,
            "set_code": card.card_set.code,
            "set_name": card.card_set.name,
            "number": card.number,
            "variant": card.variant,
            "name": card.name,
            "quantity": str(rng.randint(1, 3)),
            "condition": rng.choice(CONDITIONS),
            "purchase_price": dollars(rng.randint(50, 20_000)),
            "purchase_date": "",
        }
        writer.writerow([values.get(column, "") for column in OWN_COLUMNS])
    return out.getvalue().encode()


def measure_import() -> dict:
    """Seconds to read (parse, validate, match) and to commit a 10,000-row file."""
    scratch = Collection.objects.create(user=bench_user(), name=f"Bench import {time.time()}")
    try:
        content = import_csv().decode()
        collection_import = CollectionImport.objects.create(
            collection=scratch, filename="bench.csv", content=content
        )
        start = time.perf_counter()
        read_import(collection_import.pk)
        read_seconds = time.perf_counter() - start
        collection_import.refresh_from_db()
        if collection_import.status != CollectionImport.Status.READY:
            raise RuntimeError(f"bench import did not read: {collection_import.error}")
        start = time.perf_counter()
        result = commit_import(collection_import)
        commit_seconds = time.perf_counter() - start
        return {
            "rows": IMPORT_ROWS,
            "items": result.items_created,
            "read": read_seconds,
            "commit": commit_seconds,
        }
    finally:
        scratch.delete()
