"""Alert evaluation: set-based over the latest-price summaries, exactly once per trigger.

For a batch of cards on PostgreSQL, one statement applies the rules to their active
alerts and returns only the alerts that fire or re-arm, with the reading each compared
(at 100,000 alerts, reading them all into Python was most of the time). Elsewhere
(SQLite), one query reads the alerts and one their price summaries, and the rules are
applied in Python; a test runs both paths on the same alerts and requires the same
outcome. Triggers are claimed with one conditional
UPDATE (armed, or cooled down) that stamps a claim token, so when two evaluations run at
once only the one whose UPDATE matched a row records the event and sends the email.
The number of queries depends on the number of cards (in batches), never on the number
of alerts.
"""

import uuid
from collections import defaultdict, namedtuple
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import F, Q
from django.dispatch import Signal
from django.utils import timezone

from alerts.models import Alert, AlertEvent
from prices.models import PriceSummary
from tcgtracker.lib.sql import ids_in

# Sent with event_ids once triggered alerts' events are committed; alerts.receivers queues
# their emails (evaluation decides what fired, delivery is another module's business).
events_recorded = Signal()

CARDS_PER_BATCH = 5000
# Database vendors evaluated in SQL (tests switch it off to compare the paths).
SET_BASED_VENDORS = frozenset({"postgresql"})
ALERT_FIELDS = (
    "pk",
    "card_id",
    "price_key",
    "source",
    "kind",
    "threshold",
    "percent",
    "window",
    "armed",
    "last_triggered_at",
    "cooldown",
)


@dataclass(slots=True)
class Rule:
    """An active alert as the evaluation reads it: its fields and its two rules, without
    a model instance — at 100,000 alerts, building instances was most of the time."""

    pk: int
    card_id: int
    price_key: str
    source: str
    kind: str
    threshold: int | None
    percent: object
    window: str
    armed: bool
    last_triggered_at: object
    cooldown: object

    Kind = Alert.Kind
    is_met_by = Alert.is_met_by
    cooled_down = Alert.cooled_down


SUMMARY_FIELDS = (
    "card_id",
    "source",
    "price_key",
    "market",
    "observed_at",
    "change_1d",
    "change_7d",
    "change_30d",
    "market_1d",
    "market_7d",
    "market_30d",
)
# The change and the starting price of each alert window, as summary fields.
WINDOW_FIELDS = {window: (f"change_{window}", f"market_{window}") for window in Alert.Window.values}
# A summary's fields as reading_for() reads them (cheaper than a PriceSummary per row).
Summary = namedtuple("Summary", SUMMARY_FIELDS)


@dataclass
class EvaluationResult:
    alerts: int = 0
    triggered: list[int] = field(default_factory=list)  # event ids
    rearmed: int = 0


@dataclass(frozen=True)
class Reading:
    """The price an alert compares: from one source's summary."""

    source: str
    price: int
    change: float | None
    previous: int | None
    observed_at: object


def evaluate_cards(card_ids: Iterable[int] | None = None, *, now=None) -> EvaluationResult:
    """Evaluate the active alerts of these cards, or of every card when None."""
    now = now or timezone.now()
    result = EvaluationResult()
    if card_ids is None:
        card_ids = Alert.objects.filter(active=True).values_list("card_id", flat=True).distinct()
    card_ids = sorted(set(card_ids))
    for start in range(0, len(card_ids), CARDS_PER_BATCH):
        _evaluate_batch(card_ids[start : start + CARDS_PER_BATCH], now, result)
    return result


def _cards_in(card_ids: list[int]) -> Q:
    return Q(card_id__in=ids_in(card_ids))


# The rules of Alert.is_met_by and reading_for() in SQL: each alert's reading is the
# summary of its card and key (of its source, when it names one) with the lowest price for
# "below", the highest for "above", the largest change over its window for "moves by" (a
# summary without that change is no reading for it). One join and one sort for the whole
# batch, DISTINCT ON keeping each alert's first row: a sorted lookup per alert cost half as
# much again. The batch's summaries are read first, by card: joined to the alerts as a
# table, they were read whole for every batch (a hash of all 168,000 on the bench, spilled
# to disk; 104 -> 77 ms a batch of 5,000 cards).
_JUDGE_SQL = """
WITH summaries AS MATERIALIZED (
    SELECT id, card_id, source, price_key, market, observed_at, change_1d, change_7d,
           change_30d, market_1d, market_7d, market_30d
    FROM prices_pricesummary
    WHERE card_id = ANY(%(cards)s)
),
judged AS (
    SELECT DISTINCT ON (a.id)
           a.id, a.armed, a.threshold, a.percent,
           s.source, s.market, w.change, w.previous, s.observed_at, w.readable,
           CASE a.kind WHEN 'below' THEN s.market <= a.threshold
                       WHEN 'above' THEN s.market >= a.threshold
                       ELSE abs(w.change) >= a.percent END AS met,
           (a.armed OR a.last_triggered_at IS NULL
            OR %(now)s - a.last_triggered_at >= a.cooldown) AS may_fire
    FROM alerts_alert a
    LEFT JOIN summaries s
        ON s.card_id = a.card_id AND s.price_key = a.price_key
       AND (a.source = '' OR s.source = a.source)
    CROSS JOIN LATERAL (
        SELECT CASE a."window" WHEN '1d' THEN s.change_1d WHEN '7d' THEN s.change_7d
                               ELSE s.change_30d END AS change,
               CASE a."window" WHEN '1d' THEN s.market_1d WHEN '7d' THEN s.market_7d
                               ELSE s.market_30d END AS previous
    ) w0
    CROSS JOIN LATERAL (
        SELECT w0.change, w0.previous,
               s.id IS NOT NULL AND (a.kind <> 'move' OR w0.change IS NOT NULL) AS readable
    ) w
    WHERE a.card_id = ANY(%(cards)s) AND a.active
    ORDER BY a.id, w.readable DESC,
             CASE a.kind WHEN 'below' THEN s.market::float8
                         WHEN 'above' THEN -s.market::float8
                         ELSE -abs(w.change) END,
             s.source
)
SELECT j.id, j.met, j.source, j.market, j.change, j.previous, j.observed_at, j.threshold,
       j.percent, t.evaluated
FROM (SELECT count(*) AS evaluated FROM judged) t
LEFT JOIN judged j
    ON j.readable AND ((j.met AND j.may_fire) OR (NOT j.met AND NOT j.armed))
"""

Line = namedtuple("Line", "pk threshold percent")


def _evaluate_batch(card_ids: list[int], now, result: EvaluationResult) -> None:
    if connection.vendor in SET_BASED_VENDORS:
        _evaluate_batch_in_sql(card_ids, now, result)
    else:
        _evaluate_batch_in_python(card_ids, now, result)


def _evaluate_batch_in_sql(card_ids: list[int], now, result: EvaluationResult) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_JUDGE_SQL, {"now": now, "cards": card_ids})
        rows = cursor.fetchall()
    # Always one row at least: the count of alerts evaluated, with the alerts that fire or
    # re-arm (none: one row of NULLs).
    result.alerts += rows[0][-1]
    fire: dict[int, Reading] = {}
    rearm: list[int] = []
    lines = []
    for pk, met, source, market, change, previous, observed_at, threshold, percent, _ in rows:
        if pk is None:
            continue
        if met:
            fire[pk] = Reading(source, market, change, previous, observed_at)
            lines.append(Line(pk, threshold, percent))
        else:
            rearm.append(pk)
    if rearm:
        result.rearmed += Alert.objects.filter(pk__in=rearm, armed=False).update(armed=True)
    if fire:
        result.triggered += _claim_and_record(fire, lines, now)


def _evaluate_batch_in_python(card_ids: list[int], now, result: EvaluationResult) -> None:
    alerts = [
        Rule(*row)
        for row in Alert.objects.filter(_cards_in(card_ids), active=True).values_list(*ALERT_FIELDS)
    ]
    if not alerts:
        return
    result.alerts += len(alerts)
    summaries: dict[tuple[int, str], list[Summary]] = defaultdict(list)
    rows = PriceSummary.objects.filter(
        _cards_in(card_ids), price_key__in={alert.price_key for alert in alerts}
    ).values_list(*SUMMARY_FIELDS)
    for row in rows:
        summary = Summary(*row)
        summaries[(summary.card_id, summary.price_key)].append(summary)

    fire: dict[int, Reading] = {}
    rearm: list[int] = []
    # Alerts alike (a popular card, the same kind of line) compare the same reading.
    readings: dict[tuple, Reading | None] = {}
    for alert in alerts:
        alike = (alert.card_id, alert.price_key, alert.source, alert.kind, alert.window)
        if alike in readings:
            reading = readings[alike]
        else:
            candidates = summaries.get((alert.card_id, alert.price_key), [])
            reading = readings[alike] = reading_for(alert, candidates)
        met = reading is not None and alert.is_met_by(reading.price, reading.change)
        if met and (alert.armed or alert.cooled_down(now)):
            fire[alert.pk] = reading
        elif not met and not alert.armed and reading is not None:
            rearm.append(alert.pk)

    if rearm:
        result.rearmed += Alert.objects.filter(pk__in=rearm, armed=False).update(armed=True)
    if fire:
        result.triggered += _claim_and_record(fire, alerts, now)


def reading_for(alert: "Alert | Rule", summaries: list) -> Reading | None:
    """The price an alert compares, from its card's summaries for its price key."""
    if alert.source:
        summaries = [s for s in summaries if s.source == alert.source]
    if not summaries:
        return None
    change, previous = WINDOW_FIELDS[alert.window]
    if alert.kind == Alert.Kind.MOVE:
        moved = [s for s in summaries if getattr(s, change) is not None]
        if not moved:
            return None
        best = max(moved, key=lambda s: abs(getattr(s, change)))
    elif len(summaries) == 1:
        best = summaries[0]
    elif alert.kind == Alert.Kind.BELOW:
        best = min(summaries, key=lambda s: s.market)  # the cheapest offer anywhere
    else:
        best = max(summaries, key=lambda s: s.market)
    return Reading(
        source=best.source,
        price=best.market,
        change=getattr(best, change),
        previous=getattr(best, previous),
        observed_at=best.observed_at,
    )


def _claim_and_record(fire: dict[int, Reading], alerts: list, now) -> list[int]:
    """Claim the triggers no other evaluation has claimed and record their events; once
    they are committed, events_recorded tells whoever delivers them."""
    token = uuid.uuid4()
    with transaction.atomic():
        Alert.objects.filter(pk__in=list(fire), active=True).filter(
            Q(armed=True)
            | Q(last_triggered_at__isnull=True)
            | Q(last_triggered_at__lte=now - F("cooldown"))
        ).update(armed=False, claim=token, last_triggered_at=now)
        claimed = set(Alert.objects.filter(claim=token).values_list("pk", flat=True))
        if not claimed:
            return []
        by_pk = {alert.pk: alert for alert in alerts}
        Alert.objects.bulk_update(
            [Alert(pk=pk, last_triggered_price=fire[pk].price) for pk in claimed],
            ["last_triggered_price"],
        )
        events = AlertEvent.objects.bulk_create(
            [
                AlertEvent(
                    alert_id=pk,
                    source=fire[pk].source,
                    price=fire[pk].price,
                    previous_price=fire[pk].previous,
                    change=fire[pk].change,
                    threshold=by_pk[pk].threshold,
                    percent=by_pk[pk].percent,
                    observed_at=fire[pk].observed_at,
                    triggered_at=now,
                )
                for pk in sorted(claimed)
            ]
        )
        event_ids = [event.pk for event in events]
        if event_ids[0] is None:  # databases that do not return ids from bulk inserts
            event_ids = list(
                AlertEvent.objects.filter(alert_id__in=claimed, triggered_at=now).values_list(
                    "pk", flat=True
                )
            )
        transaction.on_commit(lambda: events_recorded.send(sender=AlertEvent, event_ids=event_ids))
    return event_ids
