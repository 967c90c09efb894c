"""Alert evaluation at scale: 100,000 active alerts against a 20,000-card price update,
against one raw SQL statement that selects the alerts those prices cross.

Used by bench/run.py. The alerts are spread over 1,000 users and the first 20,000 priced
cards; their lines are far from the prices, so the measurement is the evaluation itself
(reading alerts and summaries, deciding), not email delivery.
"""

import statistics
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


# The alerts the changed cards' summaries cross, armed or cooled down: what an evaluation
# decides, as one statement (a "below" line reads the lowest price of its key from any
# source, an "above" line the highest, a "moves by" line the largest change of its window).
CROSSING_SQL = """
SELECT a.id
FROM alerts_alert a
CROSS JOIN LATERAL (
    SELECT min(s.market) AS lowest, max(s.market) AS highest,
           max(abs(CASE a."window" WHEN '1d' THEN s.change_1d
                                   WHEN '7d' THEN s.change_7d
                                   ELSE s.change_30d END)) AS moved
    FROM prices_pricesummary s
    WHERE s.card_id = a.card_id AND s.price_key = a.price_key
      AND (a.source = '' OR s.source = a.source)
) r
WHERE a.card_id = ANY(%s) AND a.active
  AND (a.armed OR a.last_triggered_at IS NULL OR a.last_triggered_at <= now() - a.cooldown)
  AND CASE a.kind WHEN 'below' THEN r.lowest <= a.threshold
                  WHEN 'above' THEN r.highest >= a.threshold
                  ELSE r.moved >= a.percent END
"""
RUNS = 3


def crossing_alerts(card_ids: list[int]) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(CROSSING_SQL, [card_ids])
        return [row[0] for row in cursor.fetchall()]


def measure_evaluation() -> dict:
    """Seconds of an evaluation and of the raw statement, each the median of RUNS taken
    in turn."""
    card_ids = ensure_alerts()
    evaluate_cards(card_ids[:100])  # warm up
    crossing_alerts(card_ids[:100])
    evaluations, statements = [], []
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            result = evaluate_cards(card_ids)
            evaluations.append(time.perf_counter() - start)
        start = time.perf_counter()
        crossing_alerts(card_ids)
        statements.append(time.perf_counter() - start)
    return {
        "alerts": result.alerts,
        "cards": len(card_ids),
        "seconds": statistics.median(evaluations),
        "sql_seconds": statistics.median(statements),
        "queries": len(queries.captured_queries),
    }
