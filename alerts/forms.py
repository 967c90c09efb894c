"""Alert and email-preference forms.

Prices are typed in dollars and stored in cents; the cooldown is picked in hours. Every
error names its field, so the message still reads right when shown away from it.
"""

import datetime as dt
import re
import secrets
from decimal import Decimal, InvalidOperation

from django import forms
from django.conf import settings

from alerts import webhooks
from alerts.models import Alert, Channel, EmailPreferences
from prices import keys
from prices.models import PriceSummary, Source

EMAIL_CHANNEL = "email"
DUPLICATE_MESSAGE = "You already have this alert, active: change that one instead."
DEFAULT_PRICE_KEYS = [keys.UNGRADED, "NM", "PSA 10"]
COOLDOWN_HOURS = [(1, "1 hour"), (6, "6 hours"), (24, "1 day"), (72, "3 days"), (168, "1 week")]
CENT = Decimal("0.01")
MAX_PERCENT = Decimal(1000)
MAX_THRESHOLD = Decimal("10000000")  # $10M: far above any card, far below a BigInteger


def max_active_alerts() -> int:
    return getattr(settings, "ALERTS_MAX_ACTIVE_PER_USER", 50)


def active_limit_error(user, *, excluding=None) -> str | None:
    """The message when the user may not have one more active alert, else None."""
    limit = max_active_alerts()
    active = Alert.objects.filter(user=user, active=True)
    if excluding is not None and excluding.pk:
        active = active.exclude(pk=excluding.pk)
    count = active.count()
    if count < limit:
        return None
    noun = "alert" if count == 1 else "alerts"
    if count == limit:
        return f"You have {count} active {noun}, the most allowed. Pause or delete one first."
    return (
        f"You have {count} active {noun}; at most {limit} are allowed. Pause or delete some first."
    )


def price_key_choices(card, *extra: str) -> list[tuple[str, str]]:
    """The keys the card has prices for, the usual ones, and any already chosen."""
    found = set(PriceSummary.objects.filter(card=card).values_list("price_key", flat=True))
    wanted = found | set(DEFAULT_PRICE_KEYS) | {key for key in extra if key}
    valid = sorted((key for key in wanted if keys.is_valid(key)), key=keys.sort_key)
    return [(key, keys.label(key)) for key in valid]


class AlertForm(forms.ModelForm):
    threshold = forms.DecimalField(
        label="Price line ($)",
        required=False,
        decimal_places=2,
        max_digits=12,
        help_text="In US dollars, for “falls to or below” and “rises to or above”.",
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "inputmode": "decimal"}),
    )
    cooldown_hours = forms.TypedChoiceField(
        label="At most one alert every",
        coerce=int,
        choices=COOLDOWN_HOURS,
        initial=24,
        help_text="While the price stays past the line.",
    )
    channels = forms.MultipleChoiceField(
        label="Send to",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Email and your webhook channels.",
    )
    # Present when the form was shown with its channel boxes: without it (the API, an old
    # page) an unticked box cannot be told from a field never sent, so the default holds.
    channels_shown = forms.CharField(required=False, initial="1", widget=forms.HiddenInput)

    class Meta:
        model = Alert
        # The threshold is declared above (dollars) and stored in cents by save().
        fields = ["price_key", "source", "kind", "percent", "window"]
        labels = {
            "price_key": "Condition or grade",
            "source": "Source",
            "kind": "Alert me when the price",
            "percent": "Change (%)",
            "window": "Within",
        }
        help_texts = {
            "source": "“Any source” watches the best price: the lowest for “falls to”, "
            "the highest for “rises to”.",
            "percent": "Up or down, for “moves by at least”.",
        }

    field_order = [
        "price_key",
        "source",
        "kind",
        "threshold",
        "percent",
        "window",
        "cooldown_hours",
    ]

    def __init__(self, *args, card, user, price_key: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.card = card
        self.user = user
        instance = self.instance
        current_key = instance.price_key if instance.pk else price_key
        self.fields["price_key"] = forms.ChoiceField(
            label="Condition or grade", choices=price_key_choices(card, current_key)
        )
        if not instance.pk:
            self.initial.setdefault(
                "price_key", current_key if keys.is_valid(current_key) else keys.UNGRADED
            )
        self.fields["source"] = forms.ChoiceField(
            label="Source",
            required=False,
            choices=[(Alert.ANY_SOURCE, "Any source"), *Source.choices],
            help_text=self.Meta.help_texts["source"],
        )
        # No digit limit on the form: anything past 1000% gets clean_percent's message.
        self.fields["percent"] = forms.DecimalField(
            label="Change (%)",
            required=False,
            decimal_places=2,
            help_text=self.Meta.help_texts["percent"],
            error_messages={
                "invalid": "Change: enter a number of percent, e.g. 10.",
                "max_decimal_places": "Change: at most two decimals.",
            },
            widget=forms.NumberInput(attrs={"step": "0.1", "min": "0.1", "max": "1000"}),
        )
        self.fields["threshold"].error_messages.update(
            {
                "invalid": "Price line: enter an amount in dollars, e.g. 12.50.",
                "max_decimal_places": "Price line: at most two decimals (cents).",
                "max_digits": "Price line: enter at most $10,000,000.",
                "max_whole_digits": "Price line: enter at most $10,000,000.",
            }
        )
        self.user_channels = list(Channel.objects.filter(user=user))
        self.fields["channels"].choices = [
            (EMAIL_CHANNEL, "Email"),
            *(
                (str(c.pk), c.label if c.enabled else f"{c.label} (turned off)")
                for c in self.user_channels
            ),
        ]
        self.initial["channels"] = self._default_channels()
        self.duplicate: Alert | None = None
        self.order_fields(self.field_order)
        for form_field in self.fields.values():
            for key in ("required", "invalid_choice"):
                if key in form_field.error_messages:
                    message = form_field.error_messages[key]
                    form_field.error_messages[key] = f"{form_field.label}: {message}"
        if instance.pk:
            if instance.threshold is not None:
                self.initial["threshold"] = (Decimal(instance.threshold) / 100).quantize(CENT)
            hours = int(instance.cooldown.total_seconds() // 3600)
            self.initial["cooldown_hours"] = hours
            if hours not in dict(COOLDOWN_HOURS):
                label = f"{hours} hours"
                self.fields["cooldown_hours"].choices = sorted([*COOLDOWN_HOURS, (hours, label)])

    def clean_price_key(self):
        key = self.cleaned_data["price_key"]
        if not keys.is_valid(key):
            raise forms.ValidationError(f"Condition or grade: {key!r} is not one we track.")
        return key

    def _default_channels(self) -> list[str]:
        """A new alert goes everywhere the user receives alerts; an edited one where it went."""
        if self.instance.pk:
            chosen = [EMAIL_CHANNEL] if self.instance.notify_email else []
            return chosen + [str(pk) for pk in self.instance.channels.values_list("pk", flat=True)]
        return [EMAIL_CHANNEL, *(str(c.pk) for c in self.user_channels if c.enabled)]

    def clean_channels(self):
        if not self.data.get("channels_shown"):
            return self._default_channels()
        return self.cleaned_data.get("channels") or []

    def channel_labels(self, chosen) -> list[str]:
        chosen = set(chosen or [])
        labels = ["email"] if EMAIL_CHANNEL in chosen else []
        return labels + [c.label for c in self.user_channels if str(c.pk) in chosen and c.enabled]

    def preview(self) -> str:
        """What the alert will do, in words, from the values so far (valid or not)."""
        if self.is_bound:
            self.is_valid()
            values = self.cleaned_data
        else:
            values = {name: self[name].value() for name in self.fields}
        alert = Alert(
            card=self.card,
            price_key=values.get("price_key") or keys.UNGRADED,
            source=values.get("source") or "",
            kind=values.get("kind") or Alert.Kind.BELOW,
            window=values.get("window") or Alert.Window.DAY,
        )
        try:
            threshold = Decimal(str(values.get("threshold")))
            alert.threshold = int(threshold * 100) if threshold.is_finite() else None
        except (InvalidOperation, ValueError):
            alert.threshold = None
        try:
            percent = Decimal(str(values.get("percent")))
            alert.percent = percent if percent.is_finite() else None
        except (InvalidOperation, ValueError):
            alert.percent = None
        return alert.in_words(self.channel_labels(values.get("channels")))

    def clean_threshold(self):
        value = self.cleaned_data.get("threshold")
        if value is None:
            return None
        if value <= 0:
            raise forms.ValidationError("Price line: enter an amount above $0.")
        if value > MAX_THRESHOLD:
            raise forms.ValidationError("Price line: enter at most $10,000,000.")
        return value

    def clean_percent(self):
        value = self.cleaned_data.get("percent")
        if value is None:
            return None
        if value <= 0:
            raise forms.ValidationError("Change: enter a percentage above 0.")
        if value > MAX_PERCENT:
            raise forms.ValidationError("Change: at most 1000%.")
        return value

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        # A field that failed its own checks already has its message.
        if kind == Alert.Kind.MOVE and self._missing("percent"):
            self.add_error("percent", "Change: enter a percentage for “moves by” alerts.")
        elif kind in (Alert.Kind.BELOW, Alert.Kind.ABOVE) and self._missing("threshold"):
            verb = "falls to or below" if kind == Alert.Kind.BELOW else "rises to or above"
            self.add_error("threshold", f"Price line: enter a price for “{verb}” alerts.")
        if not self.instance.pk:
            # Only creating adds an active alert; editing keeps the alert's state.
            message = active_limit_error(self.user)
            if message:
                raise forms.ValidationError(message, code="active_limit")
        if not self.errors and (self.instance.active or not self.instance.pk):
            self.duplicate = self._rule(cleaned).identical_active()
            if self.duplicate is not None:
                raise forms.ValidationError(DUPLICATE_MESSAGE, code="duplicate")
        return cleaned

    def _rule(self, cleaned) -> Alert:
        """The alert as these values would make it, unsaved, for comparing."""
        kind = cleaned["kind"]
        rule = Alert(
            pk=self.instance.pk,
            user=self.user,
            card=self.card,
            price_key=cleaned["price_key"],
            source=cleaned.get("source") or "",
            kind=kind,
            window=cleaned.get("window") or Alert.Window.DAY,
        )
        if kind == Alert.Kind.MOVE:
            rule.percent = cleaned["percent"]
        else:
            rule.threshold = int(cleaned["threshold"] * 100)
        return rule

    def _missing(self, name: str) -> bool:
        return self.cleaned_data.get(name) is None and name not in self.errors

    def save(self, commit=True):
        alert = super().save(commit=False)
        alert.card = self.card
        alert.user = self.user
        kind = self.cleaned_data["kind"]
        if kind == Alert.Kind.MOVE:
            alert.threshold = None
        else:
            alert.threshold = int(self.cleaned_data["threshold"] * 100)
            alert.percent = None
        alert.cooldown = dt.timedelta(hours=self.cleaned_data["cooldown_hours"])
        if self.instance.pk and set(self.changed_data) - {"channels", "channels_shown"}:
            # A changed rule starts fresh: it may fire as soon as the new line is crossed.
            alert.armed = True
        chosen = set(self.cleaned_data.get("channels") or [])
        alert.notify_email = EMAIL_CHANNEL in chosen
        if commit:
            alert.save()
            alert.channels.set([c for c in self.user_channels if str(c.pk) in chosen])
        return alert


class EmailPreferencesForm(forms.ModelForm):
    class Meta:
        model = EmailPreferences
        fields = ["alert_emails", "daily_digest"]
        labels = {
            "alert_emails": "Email me each time an alert fires",
            "daily_digest": "Send a daily digest of triggered alerts and big moves",
        }


def max_channels() -> int:
    return settings.WEBHOOK_MAX_PER_USER


TELEGRAM_TOKEN_RE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,80}$")
TELEGRAM_CHAT_RE = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$")


class ChannelNameForm(forms.ModelForm):
    """A channel's new name; nothing else of a channel changes once it is added."""

    class Meta:
        model = Channel
        fields = ["name"]
        error_messages = {"name": {"required": "Name: give the channel a name."}}


class ChannelForm(forms.ModelForm):
    """A new webhook channel. The address is checked where it points (alerts.webhooks)."""

    for_all_alerts = forms.BooleanField(
        label="Use it for all my alerts",
        required=False,
        initial=True,
        help_text="Adds it to every alert you have now. New alerts start with all your "
        "channels ticked.",
    )

    class Meta:
        model = Channel
        fields = ["kind", "name", "url", "bot_token", "chat_id"]
        labels = {
            "kind": "Type",
            "name": "Name",
            "url": "Webhook address",
            "bot_token": "Bot token",
            "chat_id": "Chat id",
        }
        help_texts = {
            "name": "So you can tell your channels apart, e.g. “Trades server”.",
            "url": "Discord: channel settings › Integrations › Webhooks › Copy URL. Slack: an "
            "incoming webhook’s URL. Signed JSON: your endpoint (https).",
            "bot_token": "Telegram only: from @BotFather, like 123456:ABC-DEF….",
            "chat_id": "Telegram only: the chat’s numeric id (groups start with -), or "
            "@channelname. Add the bot to the chat first.",
        }
        widgets = {
            "url": forms.URLInput(attrs={"placeholder": "https://…", "autocomplete": "off"}),
            "bot_token": forms.PasswordInput(attrs={"autocomplete": "off"}),
            "chat_id": forms.TextInput(attrs={"autocomplete": "off"}),
        }
        error_messages = {
            "name": {"required": "Name: give the channel a name."},
            "kind": {
                "required": "Type: choose one.",
                "invalid_choice": "Type: choose Discord, Slack-compatible, Telegram or "
                "signed JSON.",
            },
            "url": {"invalid": "Webhook address: enter a full URL starting with https://."},
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["url"].required = False
        self.fields["url"].max_length = 500
        self.fields["kind"].choices = [("", "Choose a type"), *Channel.Kind.choices]

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == Channel.Kind.TELEGRAM:
            cleaned["url"] = ""
            token = (cleaned.get("bot_token") or "").strip()
            chat = (cleaned.get("chat_id") or "").strip()
            if not TELEGRAM_TOKEN_RE.match(token):
                self.add_error("bot_token", "Bot token: paste the token @BotFather gave you.")
            if not TELEGRAM_CHAT_RE.match(chat):
                self.add_error("chat_id", "Chat id: a number (e.g. -1001234567890) or @name.")
            cleaned["bot_token"], cleaned["chat_id"] = token, chat
        elif kind:
            cleaned["bot_token"] = cleaned["chat_id"] = ""
            url = cleaned.get("url")
            if not url:
                if "url" not in self.errors:
                    self.add_error("url", "Webhook address: paste the address to send to.")
            else:
                problem = webhooks.check_destination(url)
                if problem:
                    self.add_error("url", problem.replace("Address:", "Webhook address:", 1))
        if Channel.objects.filter(user=self.user).count() >= max_channels():
            raise forms.ValidationError(
                f"You have {max_channels()} channels, the most allowed. Delete one first."
            )
        return cleaned

    def save(self, commit=True):
        channel = super().save(commit=False)
        channel.user = self.user
        channel.bot_token = self.cleaned_data.get("bot_token", "")
        channel.chat_id = self.cleaned_data.get("chat_id", "")
        channel.url = self.cleaned_data.get("url", "")
        if channel.kind == Channel.Kind.JSON:
            channel.signing_secret = secrets.token_urlsafe(32)
        channel.save()
        if self.cleaned_data.get("for_all_alerts"):
            alert_ids = Alert.objects.filter(user=self.user).values_list("pk", flat=True)
            Alert.channels.through.objects.bulk_create(
                [
                    Alert.channels.through(alert_id=alert_id, channel_id=channel.pk)
                    for alert_id in alert_ids
                ]
            )
        return channel
