"""Retrying sends: the alert emails (alerts.tasks) and the webhook deliveries
(alerts.deliveries) keep the same kind of record and share one schedule and one sweep.

A record holds its status, its attempts and its last error. The sweep fails or recovers
the claims of workers that died while sending, queues again the sends whose task was lost,
and sends the retries that are due. Safe to run twice at once: every send claims its
record first, and a lost task is queued again only by the run whose conditional UPDATE
pushed its deadline back.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Model, Q
from django.utils import timezone

# Wait after the 1st, 2nd, 3rd, 4th (and any later) failed attempt.
BACKOFF = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
)
# A task queued this long ago and never run was lost (broker restart, purged queue).
LOST_TASK_AFTER = dt.timedelta(minutes=10)
QUEUED, SENDING, RETRYING, FAILED = "queued", "sending", "retrying", "failed"


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after `attempts` failed attempts."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


@dataclass(frozen=True)
class Sends:
    """One kind of send: its model, the names of its record's fields, and how to send one
    and queue one."""

    model: type[Model]
    status: str
    attempts: str
    error: str
    created: str
    what: str  # what went out, for the error of a dead worker's claim
    max_attempts: Callable[[], int]
    send: Callable[[int], str | None]
    queue: Callable[[int], None]
    counted: tuple[str, ...]  # the statuses a sweep counts


def sweep(sends: Sends) -> dict[str, int]:
    """Send the retries that are due; recover lost tasks and dead workers' claims."""
    now = timezone.now()
    records = sends.model.objects
    status, attempts, error_field = sends.status, sends.attempts, sends.error
    counts = {"recovered": 0, "requeued": 0, **dict.fromkeys(sends.counted, 0)}

    stale = records.filter(**{status: SENDING}, next_attempt_at__lte=now)
    error = f"The worker stopped while sending; {sends.what} may not have gone out."
    counts[FAILED] += stale.filter(**{f"{attempts}__gte": sends.max_attempts()}).update(
        **{status: FAILED, error_field: error}, next_attempt_at=None
    )
    counts["recovered"] = stale.filter(**{f"{attempts}__lt": sends.max_attempts()}).update(
        **{status: RETRYING, error_field: error}, next_attempt_at=now
    )

    lost = Q(**{status: QUEUED}) & (
        Q(next_attempt_at__isnull=True, **{f"{sends.created}__lte": now - LOST_TASK_AFTER})
        | Q(next_attempt_at__lte=now)
    )
    # Rare, so one claim per record: it tells this run which are its to queue again.
    for pk in records.filter(lost).values_list("pk", flat=True):
        if records.filter(lost, pk=pk).update(next_attempt_at=now + LOST_TASK_AFTER):
            counts["requeued"] += 1
            sends.queue(pk)

    due = (
        records.filter(**{status: RETRYING}, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)
    )
    for pk in list(due):
        sent = sends.send(pk)
        if sent in sends.counted:
            counts[str(sent)] += 1
    return counts
