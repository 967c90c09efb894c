"""Background jobs of the alerts app (django-q2).

Alert emails: an event starts QUEUED; send_alert_email claims it (→ SENDING) with one
conditional UPDATE, so of two workers handed the same event only one sends. A delivery
error makes it RETRYING with a backoff, or FAILED after the last attempt;
retry_alert_emails (every 5 minutes) sends the retries that are due and recovers events
whose task was lost (QUEUED too long) or whose worker died mid-send (SENDING too long).
A worker that died after the SMTP server accepted the message but before recording it
means one duplicate email: at least once, never silently dropped.
"""

import datetime as dt
import logging
import smtplib
import socket
from collections.abc import Callable

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Abs
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from alerts import retries
from alerts.evaluation import evaluate_cards
from alerts.links import pause_url, unsubscribe_url
from alerts.models import Alert, AlertEvent, EmailPreferences
from alerts.retries import backoff
from prices import keys
from prices.models import PriceSummary, Source
from tcgtracker.lib.emails import send_templated_email
from tcgtracker.lib.money import format_money

logger = logging.getLogger(__name__)

Status = AlertEvent.EmailStatus

# What a failed delivery raises: SMTP replies, refused or reset connections, timeouts,
# DNS failures. Anything else is a bug and should surface, not be retried.
DELIVERY_ERRORS = (smtplib.SMTPException, ConnectionError, socket.timeout, OSError)
DEFAULT_MAX_ATTEMPTS = 5
# Sending takes seconds (EMAIL_TIMEOUT); a claim this old belongs to a dead worker.
SENDING_TIMEOUT = dt.timedelta(minutes=30)
DIGEST_WINDOW = dt.timedelta(hours=24)
DIGEST_MOVES = 10
MAX_ERROR_LENGTH = 1000


def queue_alert_email(event_id: int) -> None:
    async_task("alerts.tasks.send_alert_email", event_id, task_name=f"alert email {event_id}")


def queue_evaluation(card_ids) -> None:
    async_task(
        "alerts.tasks.evaluate_alerts_of_cards",
        sorted(card_ids),
        task_name=f"alerts of {len(card_ids)} cards",
    )


def evaluate_alerts_of_cards(card_ids: list[int]) -> int:
    """The alerts of cards whose prices changed; returns triggers."""
    return len(evaluate_cards(card_ids).triggered)


def evaluate_all_alerts() -> int:
    """The sweep: every active alert against the current summaries; returns triggers."""
    return len(evaluate_cards(None).triggered)


def max_attempts() -> int:
    return getattr(settings, "ALERT_EMAIL_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)


# Alert emails


def send_alert_email(event_id: int) -> str | None:
    """Send one event's email; the status it ended in, or None when there was nothing to do
    (the event is gone, already sent, or being sent by another worker)."""
    event = (
        AlertEvent.objects.select_related("alert__user", "alert__card__card_set")
        .filter(pk=event_id)
        .first()
    )
    if event is None:
        return None
    now = timezone.now()
    sendable = Q(email_status=Status.QUEUED) | Q(
        email_status=Status.RETRYING, next_attempt_at__lte=now
    )
    user = event.alert.user
    wanted = event.alert.notify_email and EmailPreferences.for_user(user).alert_emails
    if not (user.is_active and user.email and wanted):
        skipped = AlertEvent.objects.filter(sendable, pk=event_id).update(
            email_status=Status.SKIPPED, next_attempt_at=None
        )
        return Status.SKIPPED if skipped else None

    claimed = AlertEvent.objects.filter(
        sendable, pk=event_id, email_attempts__lt=max_attempts()
    ).update(
        email_status=Status.SENDING,
        email_attempts=F("email_attempts") + 1,
        next_attempt_at=now + SENDING_TIMEOUT,
    )
    if not claimed:
        return None
    attempt = AlertEvent.objects.values_list("email_attempts", flat=True).get(pk=event_id)

    try:
        send_templated_email(
            "alert",
            [user.email],
            alert_email_context(event),
            headers=unsubscribe_headers(user),
        )
    except DELIVERY_ERRORS as error:
        return _record_failure(event_id, attempt, error)

    # Sent is sent, even if a sweep has meanwhile taken this attempt for a dead one.
    AlertEvent.objects.filter(pk=event_id).update(
        email_status=Status.SENT, email_sent_at=timezone.now(), next_attempt_at=None
    )
    return Status.SENT


def _record_failure(event_id: int, attempt: int, error: BaseException) -> str | None:
    # The exception's own text: SMTP replies and socket errors, never the credentials.
    message = f"Attempt {attempt}: {type(error).__name__}: {error}"[:MAX_ERROR_LENGTH]
    logger.warning("Alert email for event %s failed: %s", event_id, message)
    now = timezone.now()
    mine = AlertEvent.objects.filter(
        pk=event_id, email_status=Status.SENDING, email_attempts=attempt
    )
    if attempt >= max_attempts():
        mine.update(email_status=Status.FAILED, email_error=message, next_attempt_at=None)
        return Status.FAILED
    mine.update(
        email_status=Status.RETRYING,
        email_error=message,
        next_attempt_at=now + backoff(attempt),
    )
    return Status.RETRYING


def retry_alert_emails() -> dict[str, int]:
    """Send the retries that are due; recover lost tasks and dead workers' claims."""
    return retries.sweep(EMAIL_SENDS)


EMAIL_SENDS = retries.Sends(
    model=AlertEvent,
    status="email_status",
    attempts="email_attempts",
    error="email_error",
    created="triggered_at",
    what="the email",
    max_attempts=max_attempts,
    send=send_alert_email,
    queue=queue_alert_email,
    counted=(Status.SENT, Status.RETRYING, Status.FAILED),
)


def alert_email_context(event: AlertEvent) -> dict:
    alert = event.alert
    # The rule as it stood when it fired, even if the alert was edited since.
    if event.threshold is not None:
        alert.threshold = event.threshold
    if event.percent is not None:
        alert.percent = event.percent
    return {
        **_price_context(
            alert.card,
            alert.price_key,
            event.source,
            event.price,
            event.previous_price,
            event.change,
        ),
        "rule": alert.describe(),
        "is_move": alert.kind == Alert.Kind.MOVE,
        "window": alert.get_window_display(),
        "observed_at": event.observed_at,
        "triggered_at": event.triggered_at,
        "pause_url": pause_url(alert),
        "alerts_url": settings.SITE_URL + reverse("alerts:list"),
        "preferences_url": settings.SITE_URL + reverse("alerts:email_preferences"),
        "unsubscribe_url": unsubscribe_url(alert.user),
    }


def _price_context(card, price_key, source, price, previous, change) -> dict:
    return {
        "card_name": card.name,
        "set_name": card.card_set.name,
        "card_number": card.display_number,
        "variant": card.variant_label if card.variant else "",
        "card_url": settings.SITE_URL + card.get_absolute_url(),
        "price_key_label": keys.label(price_key),
        "source_label": Source(source).label if source in Source.values else source,
        "simulated": source == Source.DEMO,
        "asks": source == Source.EBAY,
        "price": format_money(price),
        "previous_price": format_money(previous) if previous is not None else "",
        "change": _percent(change),
        "change_is_up": change is not None and change > 0,
        "change_amount": _signed_money(price - previous) if previous is not None else "",
    }


def _percent(change: float | None) -> str:
    if change is None:
        return ""
    return f"{change:+.1f}%".replace("-", "−")


def _signed_money(cents: int) -> str:
    return ("+" if cents > 0 else "") + format_money(cents)


def unsubscribe_headers(user) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe: mail clients POST to the link without a login."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(user)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


# Daily digest


# Callables taking a user and returning a queryset of `card_id` values whose moves that
# user's digest reports besides their alerts' cards (watched, owned). Apps append theirs in
# AppConfig.ready(): alerts knows nothing of collections.
DIGEST_CARD_PROVIDERS: list[Callable[[object], QuerySet]] = []


def digest_card_ids(user):
    """The cards whose moves a user's digest reports, as a subquery for `card_id__in`:
    the cards they have alerts on, and those the providers add (watched, owned)."""
    own = Alert.objects.filter(user=user).order_by().values("card_id")
    others = [provider(user).order_by() for provider in DIGEST_CARD_PROVIDERS]
    return own.union(*others) if others else own


def send_daily_digests(today: dt.date | None = None) -> dict[str, int]:
    """One digest per user who asked for it, at most once a day, however often this runs.

    `today` is the day the digest is for (the once-a-day key); its contents are the 24
    hours before now.
    """
    today = today or timezone.localdate()
    due_today = Q(daily_digest=True) & (
        Q(last_digest_on__isnull=True) | Q(last_digest_on__lt=today)
    )
    counts = {"sent": 0, "empty": 0, "failed": 0}
    candidates = EmailPreferences.objects.filter(due_today).values_list("pk", "last_digest_on")
    for pk, previous in list(candidates):
        if not EmailPreferences.objects.filter(due_today, pk=pk).update(last_digest_on=today):
            continue  # another run took this user
        preferences = EmailPreferences.objects.select_related("user").get(pk=pk)
        user = preferences.user
        context = digest_context(user, today) if user.is_active and user.email else None
        if not context or not (context["events"] or context["moves"]):
            counts["empty"] += 1  # the day is still marked: nothing to say is said by silence
            continue
        try:
            send_templated_email("digest", [user.email], context, headers=unsubscribe_headers(user))
        except DELIVERY_ERRORS as error:
            logger.warning(
                "Daily digest for user %s failed: %s: %s", user.pk, type(error).__name__, error
            )
            # Give the day back so a later run can send it.
            EmailPreferences.objects.filter(pk=pk, last_digest_on=today).update(
                last_digest_on=previous
            )
            counts["failed"] += 1
        else:
            counts["sent"] += 1
    return counts


def digest_context(user, today: dt.date) -> dict:
    since = timezone.now() - DIGEST_WINDOW
    events = [
        alert_email_context(event)
        for event in AlertEvent.objects.filter(alert__user=user, triggered_at__gte=since)
        .select_related("alert__user", "alert__card__card_set")
        .order_by("-triggered_at")
    ]
    moves = [
        _price_context(
            summary.card,
            summary.price_key,
            summary.source,
            summary.market,
            summary.market_1d,
            summary.change_1d,
        )
        for summary in PriceSummary.objects.filter(
            card_id__in=digest_card_ids(user),
            change_1d__isnull=False,
            observed_at__gte=since,
        )
        .exclude(change_1d=0)
        .select_related("card__card_set")
        .order_by(Abs("change_1d").desc(), "card_id", "source", "price_key")[:DIGEST_MOVES]
    ]
    shown = events + moves
    return {
        "day": today,
        "events": events,
        "moves": moves,
        "any_simulated": any(row["simulated"] for row in shown),
        "any_asks": any(row["asks"] for row in shown),
        "alerts_url": settings.SITE_URL + reverse("alerts:list"),
        "preferences_url": settings.SITE_URL + reverse("alerts:email_preferences"),
        "unsubscribe_url": unsubscribe_url(user),
    }
