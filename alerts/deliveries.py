"""Background jobs of webhook delivery (django-q2), the same life as an alert email's.

When an alert fires, each of its enabled channels gets a Delivery (QUEUED) and a task.
send_delivery claims it (→ SENDING) with one conditional UPDATE, so of two workers handed
the same delivery only one sends. A transient failure (5xx, 429, a timeout) makes it
RETRYING with a backoff — at least what a 429 asked for — or FAILED after the last
attempt; a permanent one (an unknown webhook, a revoked bot) makes it FAILED at once and
counts against the channel: WEBHOOK_DISABLE_AFTER of those in a row turn the channel off
and its owner gets an email saying so. A destination that keeps failing trips its circuit
breaker (alerts.webhooks): deliveries wait for the cool-down without using an attempt.
retry_webhook_deliveries (every 5 minutes) sends the retries that are due and recovers
deliveries whose task was lost or whose worker died mid-send.
"""

import datetime as dt
import logging
import smtplib
from collections.abc import Iterable

from django.conf import settings
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from alerts import retries, webhooks
from alerts.models import AlertEvent, Channel, Delivery
from alerts.retries import backoff
from tcgtracker.lib.emails import send_templated_email
from tcgtracker.lib.urls import absolute_url

logger = logging.getLogger(__name__)

Status = Delivery.Status

# A send takes seconds (webhooks.TIMEOUT); a claim this old belongs to a dead worker.
SENDING_TIMEOUT = dt.timedelta(minutes=10)
MAX_ERROR_LENGTH = 1000


def max_attempts() -> int:
    return settings.WEBHOOK_MAX_ATTEMPTS


def disable_after() -> int:
    return settings.WEBHOOK_DISABLE_AFTER


def queue_delivery(delivery_id: int) -> None:
    async_task(
        "alerts.deliveries.send_delivery", delivery_id, task_name=f"webhook delivery {delivery_id}"
    )


def queue_deliveries(event_ids: Iterable[int]) -> int:
    """A delivery per enabled channel of each event's alert, each queued; the number queued.
    Running it twice for the same events queues nothing more."""
    event_ids = list(event_ids)
    pairs = (
        AlertEvent.objects.filter(pk__in=event_ids, alert__channels__enabled=True)
        .values_list("pk", "alert__channels")
        .distinct()
    )
    created = Delivery.objects.bulk_create(
        [Delivery(event_id=event_id, channel_id=channel_id) for event_id, channel_id in pairs],
        ignore_conflicts=True,
    )
    if not created:
        return 0
    queued = 0
    fresh = Delivery.objects.filter(
        event_id__in=event_ids, status=Status.QUEUED, attempts=0, next_attempt_at__isnull=True
    ).values_list("pk", flat=True)
    for pk in fresh:
        queue_delivery(pk)
        queued += 1
    return queued


def send_delivery(delivery_id: int) -> str | None:
    """Send one delivery; the status it ended in, or None when there was nothing to do
    (it is gone, already sent, not due, or being sent by another worker)."""
    delivery = (
        Delivery.objects.select_related(
            "channel", "event__alert__card__card_set", "event__alert__user"
        )
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:
        return None
    now = timezone.now()
    sendable = Q(status=Status.QUEUED) | Q(status=Status.RETRYING, next_attempt_at__lte=now)
    channel = delivery.channel
    if not (channel.enabled and delivery.event.alert.user.is_active):
        skipped = Delivery.objects.filter(sendable, pk=delivery_id).update(
            status=Status.SKIPPED, next_attempt_at=None
        )
        return Status.SKIPPED if skipped else None
    claimed = Delivery.objects.filter(sendable, pk=delivery_id, attempts__lt=max_attempts()).update(
        status=Status.SENDING, attempts=F("attempts") + 1, next_attempt_at=now + SENDING_TIMEOUT
    )
    if not claimed:
        return None
    attempt = Delivery.objects.values_list("attempts", flat=True).get(pk=delivery_id)

    try:
        webhooks.send(channel, webhooks.event_message(delivery.event), delivery_id=str(delivery_id))
    except webhooks.DeliveryError as error:
        return _record_failure(delivery_id, channel, attempt, error)

    Delivery.objects.filter(pk=delivery_id).update(
        status=Status.SENT, sent_at=timezone.now(), next_attempt_at=None, error=""
    )
    Channel.objects.filter(pk=channel.pk).update(
        permanent_failures=0, last_delivered_at=timezone.now(), last_error=""
    )
    return Status.SENT


def _record_failure(
    delivery_id: int, channel: Channel, attempt: int, error: webhooks.DeliveryError
) -> str:
    # Messages were scrubbed of the channel's secrets when the error was built.
    message = f"Attempt {attempt}: {error}"[:MAX_ERROR_LENGTH]
    now = timezone.now()
    mine = Delivery.objects.filter(pk=delivery_id, status=Status.SENDING, attempts=attempt)
    if isinstance(error, webhooks.BreakerOpen):
        # Not tried: the attempt is given back, and the delivery waits out the cool-down.
        mine.update(
            status=Status.RETRYING,
            attempts=F("attempts") - 1,
            error=f"Waiting: {error}"[:MAX_ERROR_LENGTH],
            next_attempt_at=now + dt.timedelta(seconds=webhooks.BREAKER_COOLDOWN),
        )
        return Status.RETRYING
    logger.warning("Webhook delivery %s failed: %s", delivery_id, message)
    Channel.objects.filter(pk=channel.pk).update(last_error=message)
    if error.permanent:
        mine.update(status=Status.FAILED, error=message, next_attempt_at=None)
        Channel.objects.filter(pk=channel.pk).update(permanent_failures=F("permanent_failures") + 1)
        disable_if_failing(channel.pk, str(error))
        return Status.FAILED
    if attempt >= max_attempts():
        mine.update(status=Status.FAILED, error=message, next_attempt_at=None)
        return Status.FAILED
    wait = backoff(attempt)
    if error.retry_after is not None:
        wait = max(wait, dt.timedelta(seconds=error.retry_after))
    mine.update(status=Status.RETRYING, error=message, next_attempt_at=now + wait)
    return Status.RETRYING


def disable_if_failing(channel_id: int, reason: str) -> bool:
    """Turn the channel off after too many permanent failures in a row, and tell its owner
    once: of two workers getting there at once, the one whose UPDATE matched sends it."""
    reason = f"Turned off after {disable_after()} deliveries in a row were refused: {reason}"
    turned_off = Channel.objects.filter(
        pk=channel_id, enabled=True, permanent_failures__gte=disable_after()
    ).update(enabled=False, disabled_reason=reason[:MAX_ERROR_LENGTH])
    if not turned_off:
        return False
    channel = Channel.objects.select_related("user").get(pk=channel_id)
    user = channel.user
    logger.warning("Webhook channel %s turned off after repeated refusals", channel_id)
    if user.is_active and user.email:
        context = {
            "channel_name": channel.name,
            "channel_kind": channel.get_kind_display(),
            "target": channel.masked_target,
            "reason": channel.disabled_reason,
            "channels_url": absolute_url(reverse("alerts:channels")),
        }
        try:
            send_templated_email("channel-disabled", [user.email], context)
        except (smtplib.SMTPException, OSError) as failed:
            logger.warning(
                "The email saying channel %s was turned off could not be sent: %s",
                channel_id,
                type(failed).__name__,
            )
    return True


def retry_webhook_deliveries() -> dict[str, int]:
    """Send the retries that are due; recover lost tasks and dead workers' claims."""
    return retries.sweep(WEBHOOK_SENDS)


WEBHOOK_SENDS = retries.Sends(
    model=Delivery,
    status="status",
    attempts="attempts",
    error="error",
    created="created_at",
    what="the message",
    max_attempts=max_attempts,
    send=send_delivery,
    queue=queue_delivery,
    counted=(Status.SENT, Status.RETRYING, Status.FAILED, Status.SKIPPED),
)


def send_test(channel: Channel) -> str:
    """Send a test message now (the "Send test" button); "" when it arrived, else why not.
    It does not count against the channel: the user is watching."""
    try:
        webhooks.send(channel, webhooks.test_message(channel))
    except webhooks.DeliveryError as error:
        return str(error)
    return ""
