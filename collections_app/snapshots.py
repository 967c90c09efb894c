"""Portfolio snapshots: each collection's value and cost per day, for the value-over-time chart.

Two ways a day gets its snapshot:

- take_daily_snapshots() records today's valuation of every collection (the daily job).
- backfill_snapshots() rebuilds past days from price history: each (card, source, price
  key)'s last price is carried forward day by day, and the items owned on a day
  (CollectionItem.owned_since()) are valued with the same rules as the live valuation
  (collections_app.valuation.choose_price). It runs when an item is added, edited or
  removed with a purchase date in the past (queue_backfill()).

Both write with one upsert on (collection, day): running them twice, or two at once,
leaves the same rows.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from collections_app.models import Collection, CollectionItem, PortfolioSnapshot
from collections_app.valuation import (
    CURRENCY,
    SUMMARY_FIELDS,
    VALUED_ITEM_FIELDS,
    CollectionValuation,
    Price,
    choose_price,
    value_collections,
    wanted_key,
)
from prices.models import PricePoint, PriceSummary, Source

PERIODS = {"30d": 30, "1y": 365, "all": None}
DEFAULT_PERIOD = "30d"
COLLECTIONS_PER_BATCH = 200
# How far back a backfill goes at most, whatever purchase date an item claims.
MAX_BACKFILL_DAYS = 5 * 365
POINTS_CHUNK = 5000
UPDATE_FIELDS = ["value", "cost", "priced_items", "unpriced_items", "updated_at"]
_DAY = dt.timedelta(days=1)


def take_daily_snapshots(day: dt.date | None = None) -> int:
    """Record the current valuation of every collection that has items as the snapshot
    of `day` (default today); returns the number of snapshots written.

    Collections are valued in batches: four queries per batch of COLLECTIONS_PER_BATCH
    (the batch, its items, their prices, one upsert), whatever the item counts.
    """
    day = day or timezone.localdate()
    has_items = Exists(CollectionItem.objects.filter(collection=OuterRef("pk")))
    collections = Collection.objects.filter(has_items).order_by("pk")
    written = 0
    last_pk = 0
    while batch := list(collections.filter(pk__gt=last_pk)[:COLLECTIONS_PER_BATCH]):
        valuations = value_collections(batch)
        rows = [
            PortfolioSnapshot(
                collection=collection,
                day=day,
                value=valuation.value,
                cost=valuation.cost,
                priced_items=len(valuation.priced),
                unpriced_items=len(valuation.unpriced),
            )
            for collection in batch
            if (valuation := valuations[collection.pk]).items
        ]
        _upsert(rows)
        written += len(rows)
        last_pk = batch[-1].pk
    return written


def backfill_snapshots(collection_id: int, since: dt.date) -> int:
    """Rebuild a collection's snapshots from `since` to yesterday from price history;
    returns the number of days written (0 when the collection is gone).

    The start is clamped to MAX_BACKFILL_DAYS ago, a day is written only once an item is
    owned and one of the collection's cards has a price, and snapshots of days in the
    range when nothing was owned yet are deleted (an item's date moved later). Today
    belongs to the live valuation and the daily job. Three queries to read (the
    collection, its items, the last price before the range) plus the points of the
    range read in chunks, then one upsert per thousand days.
    """
    collection = Collection.objects.filter(pk=collection_id).first()
    if collection is None:
        return 0
    today = timezone.localdate()
    since = max(since, today - dt.timedelta(days=MAX_BACKFILL_DAYS))
    end = today - dt.timedelta(days=1)
    if since > end:
        return 0
    items = list(collection.items.only(*VALUED_ITEM_FIELDS, "purchase_date", "created_at"))
    first_owned = min((item.owned_since() for item in items), default=None)
    start = max(since, first_owned) if first_owned else end + dt.timedelta(days=1)
    rows = list(_historic_snapshots(collection, items, start, end)) if start <= end else []
    with transaction.atomic():
        # Nothing was owned before `start`: no snapshot there (an item's date moved later,
        # or the last item went).
        PortfolioSnapshot.objects.filter(
            collection=collection, day__gte=since, day__lt=min(start, today)
        ).delete()
        _upsert(rows)
    return len(rows)


def _historic_snapshots(
    collection: Collection, items: list[CollectionItem], start: dt.date, end: dt.date
) -> Iterator[PortfolioSnapshot]:
    card_ids = {item.card_id for item in items}
    points = PricePoint.objects.filter(card_id__in=card_ids, currency=CURRENCY)
    if collection.basis_source:
        points = points.filter(source=collection.basis_source)
    fields = SUMMARY_FIELDS  # a point as a valuation.Price
    start_moment = _start_of(start)
    # Each combination's last price before the range, carried into its first day.
    before = (
        points.filter(observed_at__lt=start_moment)
        .annotate(
            recency=Window(
                RowNumber(),
                partition_by=[F("card_id"), F("source"), F("price_key")],
                order_by=F("observed_at").desc(),
            )
        )
        .filter(recency=1)
        .values_list(*fields)
    )
    during = (
        points.filter(observed_at__gte=start_moment, observed_at__lt=_start_of(end + _DAY))
        .order_by("observed_at", "pk")
        .values_list(*fields)
        .iterator(chunk_size=POINTS_CHUNK)
    )
    latest: dict[int, dict[tuple[str, str], Price]] = defaultdict(dict)
    changed: set[int] = set()

    def take(row) -> None:
        price = Price(*row)
        latest[price.card_id][price.source, price.price_key] = price
        changed.add(price.card_id)

    for row in before:
        take(row)
    pending = next(during, None)
    by_owned = sorted(items, key=lambda item: item.owned_since())
    owned: list[CollectionItem] = []
    unit_prices: dict[int, int | None] = {}  # item pk → the day's price per copy
    day = start
    while day <= end:
        next_moment = _start_of(day + _DAY)
        while pending is not None and pending[-1] < next_moment:  # observed_at
            take(pending)
            pending = next(during, None)
        while len(owned) < len(by_owned) and by_owned[len(owned)].owned_since() <= day:
            item = by_owned[len(owned)]
            owned.append(item)
            changed.add(item.card_id)
        if changed:
            for item in owned:
                if item.card_id in changed:
                    price = choose_price(
                        latest.get(item.card_id, {}).values(),
                        wanted_key(item, collection),
                        collection.basis_source,
                    )
                    unit_prices[item.pk] = price.market if price else None
            changed.clear()
        if latest:
            priced = [item for item in owned if unit_prices[item.pk] is not None]
            yield PortfolioSnapshot(
                collection=collection,
                day=day,
                value=sum(unit_prices[item.pk] * item.quantity for item in priced),
                cost=sum(item.cost for item in owned if item.cost is not None),
                priced_items=len(priced),
                unpriced_items=len(owned) - len(priced),
            )
        day += _DAY


def _start_of(day: dt.date) -> dt.datetime:
    """Midnight at the start of `day` in the site's time zone: the end of the day before."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def _upsert(rows: list[PortfolioSnapshot]) -> None:
    PortfolioSnapshot.objects.bulk_create(
        rows,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["collection", "day"],
        update_fields=UPDATE_FIELDS,
    )


def queue_backfill(collection: Collection, since: dt.date) -> None:
    """Rebuild the collection's history from `since` in the background (inline in tests,
    where the task queue runs synchronously). Call it once the item change is committed.
    Nothing to do for today or later: the live valuation and the daily job cover today."""
    if since >= timezone.localdate():
        return
    from django_q.tasks import async_task

    async_task(
        "collections_app.tasks.backfill_snapshots",
        collection.pk,
        since.isoformat(),
        task_name=f"backfill-snapshots-{collection.pk}-{since.isoformat()}",
    )


def backfill_after_change(collection: Collection, *days) -> None:
    """After an item change: rebuild the history from the earliest past day the change
    reaches back to (its old or new purchase day); today's snapshot is the daily job's."""
    today = timezone.localdate()
    past = [day for day in days if day is not None and day < today]
    if past:
        queue_backfill(collection, min(past))


def backfill_all(collection: Collection) -> None:
    """After a change of the price basis: the history was valued on the old basis, so value
    all of it again on the new one."""
    first_day = collection.snapshots.order_by("day").values_list("day", flat=True).first()
    backfill_after_change(collection, first_day)


def chart_data(collection: Collection, period: str, current: CollectionValuation | None = None):
    """The value-over-time chart of a collection over a period, JSON-ready:

        {
            "period": "30d",                 # a key of PERIODS
            "currency": "USD",
            "points": [                      # one per day with a snapshot, oldest first
                {"day": "2026-11-21", "value": 123400, "cost": 100000},  # integer cents
                ...
            ],
            "simulated": False,              # demo (simulated) prices went into it
        }

    "30d" and "1y" cover that many days before today and today; "all" every snapshot.
    With `current` (the collection's valuation now) today's point is that valuation
    rather than a stored snapshot of today (left out when the collection has no items),
    and `simulated` says whether it used a demo price; without it `simulated` is
    approximated by one query: an item whose card only the demo source prices. One query
    with `current`, two without. An unknown period is a ValueError.
    """
    if period not in PERIODS:
        raise ValueError(f"Unknown period {period!r}: use one of {', '.join(PERIODS)}.")
    today = timezone.localdate()
    snapshots = PortfolioSnapshot.objects.filter(collection=collection)
    if (days := PERIODS[period]) is not None:
        snapshots = snapshots.filter(day__gte=today - dt.timedelta(days=days))
    if current is not None:
        snapshots = snapshots.exclude(day=today)
    points = [
        {"day": day.isoformat(), "value": value, "cost": cost}
        for day, value, cost in snapshots.order_by("day").values_list("day", "value", "cost")
    ]
    if current is not None:
        if current.items:
            points.append({"day": today.isoformat(), "value": current.value, "cost": current.cost})
        simulated = current.simulated
    else:
        simulated = _valued_by_demo_prices(collection)
    return {"period": period, "currency": CURRENCY, "points": points, "simulated": simulated}


def _valued_by_demo_prices(collection: Collection) -> bool:
    if collection.basis_source not in ("", Source.DEMO):
        return False
    prices = PriceSummary.objects.filter(card=OuterRef("card_id"), currency=CURRENCY)
    items = collection.items.filter(Exists(prices.filter(source=Source.DEMO)))
    if not collection.basis_source:
        # Best available prefers any real source to the simulation.
        items = items.exclude(Exists(prices.exclude(source=Source.DEMO)))
    return items.exists()
