import datetime as dt
from urllib.parse import urlsplit

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
    notify_email = models.BooleanField(
        "email", default=True, help_text="An email each time it fires (if alert emails are on)."
    )
    channels = models.ManyToManyField(
        "Channel", blank=True, related_name="alerts", help_text="Webhook destinations."
    )
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

    def condition_in_words(self) -> str:
        """The rule as a sentence's end: "falls to $400.00 or below"."""
        from tcgtracker.lib.money import format_money

        if self.kind == self.Kind.MOVE:
            percent = f"{self.percent.normalize():f}%" if self.percent is not None else "…%"
            return f"moves by {percent} or more within {self.get_window_display()}"
        line = format_money(self.threshold) if self.threshold is not None else "$…"
        if self.kind == self.Kind.BELOW:
            return f"falls to {line} or below"
        return f"rises to {line} or above"

    def channel_labels(self) -> list[str]:
        """Where a trigger goes: "email" and each enabled channel (prefetch `channels` when
        listing many alerts)."""
        labels = ["email"] if self.notify_email else []
        return labels + [channel.label for channel in self.channels.all() if channel.enabled]

    def in_words(self, channel_labels: list[str] | None = None) -> str:
        """What the alert does, in one sentence: "email + Discord when PSA 10 at
        PriceCharting falls to $400.00 or below". An unsaved alert (the form's preview)
        passes its channels' labels."""
        from prices import keys

        if channel_labels is None:
            channel_labels = self.channel_labels()
        how = " + ".join(channel_labels) if channel_labels else "Nothing is sent (no channel)"
        where = Source(self.source).label if self.source in Source.values else "any source"
        key = keys.label(self.price_key) if keys.is_valid(self.price_key) else self.price_key
        text = f"{how} when {key} at {where} {self.condition_in_words()}"
        return text[0].upper() + text[1:]

    def identical_active(self) -> "Alert | None":
        """Another active alert of the same user with the same rule on the same price, the
        one a new (or resumed) copy of this one would duplicate."""
        same = Alert.objects.filter(
            user_id=self.user_id,
            card_id=self.card_id,
            active=True,
            price_key=self.price_key,
            source=self.source,
            kind=self.kind,
        )
        if self.kind == self.Kind.MOVE:
            same = same.filter(percent=self.percent, window=self.window)
        else:
            same = same.filter(threshold=self.threshold)
        if self.pk:
            same = same.exclude(pk=self.pk)
        return same.order_by("created_at", "pk").first()

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


class Channel(models.Model):
    """A webhook destination of one user's alerts, besides email: a Discord or
    Slack-compatible incoming webhook, a Telegram chat, or any URL taking signed JSON.

    The URL, the bot token and the signing secret are secrets: they are masked wherever
    they are shown or logged (alerts.webhooks), and the signing secret is shown once.
    """

    class Kind(models.TextChoices):
        DISCORD = "discord", "Discord"
        SLACK = "slack", "Slack-compatible"
        TELEGRAM = "telegram", "Telegram"
        JSON = "json", "Signed JSON"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="channels"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=60)
    url = models.URLField(max_length=500, blank=True, help_text="Not for Telegram.")
    bot_token = models.CharField(max_length=100, blank=True, help_text="Telegram only.")
    chat_id = models.CharField(max_length=64, blank=True, help_text="Telegram only.")
    signing_secret = models.CharField(max_length=64, blank=True, help_text="Signed JSON only.")
    enabled = models.BooleanField(default=True)
    disabled_reason = models.TextField(blank=True)
    # Deliveries refused for good in a row (an unknown webhook, a revoked bot): at
    # WEBHOOK_DISABLE_AFTER the channel is turned off and its owner told.
    permanent_failures = models.PositiveSmallIntegerField(default=0)
    last_delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["user", "enabled"])]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.name}"

    @property
    def label(self) -> str:
        """How the channel reads in a sentence: "Discord", "Telegram (Trades)"."""
        kind = "Slack" if self.kind == self.Kind.SLACK else self.get_kind_display()
        if self.kind == self.Kind.JSON:
            kind = "webhook"
        return kind if self.name.strip().lower() == kind.lower() else f"{kind} ({self.name})"

    @property
    def secrets(self) -> list[str]:
        """What must never appear in a log line or on a page."""
        values = [self.url, self.bot_token, self.signing_secret]
        if self.url:
            # A webhook URL's path is its secret; the host alone is not.
            parts = urlsplit(self.url)
            values.append(parts.path + (f"?{parts.query}" if parts.query else ""))
        return [value for value in values if value and value != "/"]

    @property
    def masked_target(self) -> str:
        """Enough to tell destinations apart, never enough to use one."""
        if self.kind == self.Kind.TELEGRAM:
            return f"chat {self.chat_id}, bot token …{self.bot_token[-4:]}"
        parts = urlsplit(self.url)
        tail = (parts.path + parts.query).rstrip("/")[-4:]
        return f"{parts.scheme}://{parts.hostname}/…{tail}"


class Delivery(models.Model):
    """One alert trigger (or a test) sent to one channel, and what became of it."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        RETRYING = "retrying", "Failed, will retry"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Not sent (channel off)"

    event = models.ForeignKey(AlertEvent, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        constraints = [
            models.UniqueConstraint(fields=["event", "channel"], name="one_delivery_per_channel")
        ]

    def __str__(self):
        return f"{self.event} → {self.channel} ({self.status})"
