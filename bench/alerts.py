"""Alert evaluation at scale: 100,000 active alerts against a 20,000-card price update.

Used by bench/run.py. The alerts are spread over 1,000 users and the first 20,000 priced
cards; their lines are far from the prices, so the measurement is the evaluation itself
(reading alerts and summaries, deciding), not email delivery.
"""

import time

from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.evaluation import evaluate_cards
from alerts.models import Alert
from prices.models import PriceSummary

ALERTS = 100_000
CARDS = 20_000
USERS = 1_000


def ensure_alerts() -> list[int]:
    card_ids = list(
        PriceSummary.objects.filter(price_key="ungraded")
        .order_by("card_id")
        .values_list("card_id", flat=True)
        .distinct()[:CARDS]
    )
    if Alert.objects.count() < ALERTS and card_ids:
        User = get_user_model()
        users = User.objects.bulk_create(
            [
                User(username=f"bench-alerts-{n}", email=f"bench{n}@example.com")
                for n in range(USERS)
            ],
            ignore_conflicts=True,
        )
        user_ids = list(
            User.objects.filter(username__startswith="bench-alerts-").values_list("pk", flat=True)
        )
        kinds = [Alert.Kind.BELOW, Alert.Kind.ABOVE, Alert.Kind.MOVE]
        batch = []
        for n in range(ALERTS):
            kind = kinds[n % 3]
            batch.append(
                Alert(
                    user_id=user_ids[n % len(user_ids)],
                    card_id=card_ids[n % len(card_ids)],
                    price_key="ungraded",
                    kind=kind,
                    threshold={Alert.Kind.BELOW: 1, Alert.Kind.ABOVE: 10**11}.get(kind),
                    percent=900 if kind == Alert.Kind.MOVE else None,
                )
            )
        Alert.objects.bulk_create(batch, batch_size=5000)
        del users
    return card_ids


def measure_evaluation() -> tuple[str, float, str, str]:
    card_ids = ensure_alerts()
    evaluate_cards(card_ids[:100])  # warm up
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        result = evaluate_cards(card_ids)
        elapsed = time.perf_counter() - start
    label = f"alert evaluation ({result.alerts:,} alerts, {len(card_ids):,} cards)"
    return label, elapsed, f"{len(queries.captured_queries)} queries", "≤ 1 s"
