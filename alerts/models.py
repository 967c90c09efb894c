import datetime as dt

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from cards.models import Card
from prices.models import Source


class Alert(models.Model):
    """A collector's line on one card's price, watched on every price write.

    It fires when its condition holds and it is armed; firing disarms it. It re-arms
    when the price goes back across the line, or fires again once the cooldown has
    passed while the condition still holds — never an email on every sync.
    """

    class Kind(models.TextChoices):
        BELOW = "below", "Falls to or below"
        ABOVE = "above", "Rises to or above"
        MOVE = "move", "Moves by at least"

    class Window(models.TextChoices):
        DAY = "1d", "24 hours"
        WEEK = "7d", "7 days"
        MONTH = "30d", "30 days"

    ANY_SOURCE = ""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts"
    )
    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="alerts")
    price_key = models.CharField(max_length=32, default="ungraded")
    source = models.CharField(
        max_length=16,
        choices=Source.choices,
        blank=True,
        help_text="Blank: the best price of any source (lowest for “below”, highest for “above”).",
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.BELOW)
    threshold = models.BigIntegerField(
        null=True, blank=True, help_text="Cents, for “below” and “above”."
    )
    percent = models.DecimalField(
        max_digits=6, decimal_places=2, null=True, blank=True, help_text="For “moves by”."
    )
    window = models.CharField(max_length=4, choices=Window.choices, default=Window.DAY)
    active = models.BooleanField(default=True)
    cooldown = models.DurationField(default=dt.timedelta(hours=24))
    armed = models.BooleanField(
        default=True,
        help_text="Off after firing until the price crosses back or the cooldown passes.",
    )
    last_triggered_at = models.DateTimeField(null=True, blank=True)
    last_triggered_price = models.BigIntegerField(null=True, blank=True)
    # Set by the evaluation that claimed this alert's trigger: see alerts.evaluation.
    claim = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["card", "active"]), models.Index(fields=["user", "active"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="move", percent__gt=0)
                | (~models.Q(kind="move") & models.Q(threshold__gte=0)),
                name="alert_has_a_line",
            ),
        ]

    def __str__(self):
        return f"{self.card} {self.describe()}"

    def get_absolute_url(self):
        return reverse("alerts:list") + f"#alert-{self.pk}"

    def describe(self) -> str:
        from tcgtracker.lib.money import format_money

        if self.kind == self.Kind.MOVE:
            return f"moves by {self.percent.normalize():f}% within {self.get_window_display()}"
        verb = "falls to or below" if self.kind == self.Kind.BELOW else "rises to or above"
        return f"{verb} {format_money(self.threshold)}"

    def is_met_by(self, price: int | None, change: float | None) -> bool:
        """Whether the condition holds for a price (cents) and its change over the window."""
        if self.kind == self.Kind.MOVE:
            return change is not None and abs(change) >= float(self.percent)
        if price is None:
            return False
        if self.kind == self.Kind.BELOW:
            return price <= self.threshold
        return price >= self.threshold

    def cooled_down(self, now: dt.datetime) -> bool:
        return self.last_triggered_at is None or now - self.last_triggered_at >= self.cooldown


class AlertEvent(models.Model):
    """One trigger of an alert, and what became of its email."""

    class EmailStatus(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        RETRYING = "retrying", "Failed, will retry"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Not sent (alert emails off)"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    source = models.CharField(max_length=16, choices=Source.choices)
    price = models.BigIntegerField(help_text="Cents: the price that triggered the alert.")
    previous_price = models.BigIntegerField(
        null=True, blank=True, help_text="Cents: the price at the start of the window, if known."
    )
    change = models.FloatField(null=True, blank=True, help_text="Percent over the alert's window.")
    threshold = models.BigIntegerField(null=True, blank=True)
    percent = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    observed_at = models.DateTimeField(help_text="When the source saw the price.")
    triggered_at = models.DateTimeField(default=timezone.now)
    email_status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.QUEUED
    )
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_error = models.TextField(blank=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-triggered_at"]
        indexes = [
            models.Index(fields=["email_status", "next_attempt_at"]),
            models.Index(fields=["alert", "-triggered_at"]),
        ]

    def __str__(self):
        return f"{self.alert} at {self.price} ({self.triggered_at:%Y-%m-%d %H:%M})"


class EmailPreferences(models.Model):
    """Per-user email settings; the unsubscribe link turns alert emails off."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_preferences"
    )
    alert_emails = models.BooleanField(default=True, help_text="An email each time an alert fires.")
    daily_digest = models.BooleanField(
        default=False,
        help_text="One email a day with the day's triggered alerts and biggest moves.",
    )
    last_digest_on = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "email preferences"

    def __str__(self):
        return f"Email preferences of {self.user}"

    @classmethod
    def for_user(cls, user) -> "EmailPreferences":
        preferences, _ = cls.objects.get_or_create(user=user)
        return preferences
