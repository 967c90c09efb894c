"""Retention: price points older than PRICE_RETENTION_DAYS are folded into one per day.

The day's last observation stays as its market price (the close, as daily sources
report it); low and high widen to the day's extremes and sample sizes add up, except a
product-wide count (PriceCharting's sales volume), which is the same sales seen again:
the day keeps the latest. Idempotent: a day with one point is left alone.

On PostgreSQL, where the history is partitioned by month (prices/partitions.py), a month
wholly past the cutoff is folded at once: rewritten as a new partition and swapped in for
the old one, which is dropped whole. Only the part of the cutoff's own month before the
cutoff is folded row by row, so a day's run reads about a month of points however long the
history grows.
"""

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from jobs import runs
from jobs.models import JobRun
from prices import partitions
from prices.history import PRODUCT_WIDE_SAMPLES
from prices.models import PricePoint
from prices.writing import refresh_all_summaries

GROUPS_PER_TRANSACTION = 500


def fold_old_points(older_than_days: int | None = None) -> JobRun:
    days = settings.PRICE_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - dt.timedelta(days=days)
    run = runs.start(JobRun.Kind.RETENTION, description=f"points older than {days} days")
    with runs.running(run):
        touched_cards = set()
        points = PricePoint.objects.filter(observed_at__lt=cutoff)
        months = 0
        if partitions.is_partitioned():
            partitions.ensure_partitions()
            for partition in partitions.months_to_fold(cutoff):
                folded = partitions.fold_month(partition)
                months += 1
                run.written += folded.groups
                run.unchanged += folded.removed
                touched_cards |= folded.card_ids
                run.save(update_fields=["written", "unchanged"])
            points = points.filter(observed_at__gte=partitions.month_start(cutoff))
        groups = list(
            points.annotate(day=TruncDate("observed_at", tzinfo=dt.UTC))
            .values("card_id", "source", "price_key", "day")
            .annotate(points=Count("id"))
            .filter(points__gt=1)
            .order_by()
        )
        run.progress_total = len(groups)
        run.save(update_fields=["progress_total"])
        for start in range(0, len(groups), GROUPS_PER_TRANSACTION):
            chunk = groups[start : start + GROUPS_PER_TRANSACTION]
            removed, kept = _fold(chunk)
            run.written += kept
            run.unchanged += removed
            touched_cards |= {group["card_id"] for group in chunk}
            run.progress_done = start + len(chunk)
            run.save(update_fields=["written", "unchanged", "progress_done"])
        if touched_cards:
            refresh_all_summaries(touched_cards)
        run.status = JobRun.Status.SUCCEEDED
        run.finished_at = timezone.now()
        run.description = f"{run.written} card-days folded ({run.unchanged} points removed)"
        if months:
            run.description += f"; {months} whole months rewritten"
        run.save()
    return run


def _fold(groups: list[dict]) -> tuple[int, int]:
    """Fold each (card, source, key, day) group into its last point; (removed, kept)."""
    wanted = {(g["card_id"], g["source"], g["price_key"], g["day"]) for g in groups}
    days = [g["day"] for g in groups]
    start = dt.datetime.combine(min(days), dt.time(), tzinfo=dt.UTC)
    end = dt.datetime.combine(max(days), dt.time(), tzinfo=dt.UTC) + dt.timedelta(days=1)
    with transaction.atomic():
        points = (
            PricePoint.objects.select_for_update()
            .filter(
                card_id__in={g["card_id"] for g in groups},
                source__in={g["source"] for g in groups},
                price_key__in={g["price_key"] for g in groups},
                observed_at__gte=start,
                observed_at__lt=end,
            )
            .order_by("observed_at")
        )
        by_group = defaultdict(list)
        for point in points:
            key = (
                point.card_id,
                point.source,
                point.price_key,
                point.observed_at.astimezone(dt.UTC).date(),
            )
            if key in wanted:
                by_group[key].append(point)
        doomed, kept = [], []
        for group_points in by_group.values():
            last = group_points[-1]
            lows = [p.low if p.low is not None else p.market for p in group_points]
            highs = [p.high if p.high is not None else p.market for p in group_points]
            samples = [p.sample_size for p in group_points if p.sample_size is not None]
            last.low, last.high = min(lows), max(highs)
            if not samples:
                last.sample_size = None
            elif last.source in PRODUCT_WIDE_SAMPLES:
                last.sample_size = samples[-1]
            else:
                last.sample_size = sum(samples)
            kept.append(last)
            doomed.extend(p.pk for p in group_points[:-1])
        PricePoint.objects.filter(pk__in=doomed).delete()
        PricePoint.objects.bulk_update(kept, ["low", "high", "sample_size"], batch_size=500)
    return len(doomed), len(kept)
