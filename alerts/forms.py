"""Alert and email-preference forms.

Prices are typed in dollars and stored in cents; the cooldown is picked in hours. Every
error names its field, so the message still reads right when shown away from it.
"""

import datetime as dt
from decimal import Decimal

from django import forms
from django.conf import settings

from alerts.models import Alert, EmailPreferences
from prices import keys
from prices.models import PriceSummary, Source

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
        label="At most one email every",
        coerce=int,
        choices=COOLDOWN_HOURS,
        initial=24,
        help_text="While the price stays past the line.",
    )

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

    field_order = ["price_key", "source", "kind", "threshold", "percent", "window"]

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
        return cleaned

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
        if self.instance.pk and self.has_changed():
            # A changed rule starts fresh: it may fire as soon as the new line is crossed.
            alert.armed = True
        if commit:
            alert.save()
        return alert


class EmailPreferencesForm(forms.ModelForm):
    class Meta:
        model = EmailPreferences
        fields = ["alert_emails", "daily_digest"]
        labels = {
            "alert_emails": "Email me each time an alert fires",
            "daily_digest": "Send a daily digest of triggered alerts and big moves",
        }
