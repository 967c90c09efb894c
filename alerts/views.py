"""My alerts: list, create, edit, pause/resume, delete; the signed links from alert emails;
email preferences.

htmx: a non-boosted htmx request gets a partial — the form, one alert's row, or the list
— and everything else gets a full page or a redirect, so every action works without
JavaScript. An invalid form answers 422 with the form and its errors, for htmx too:
templates/base.html sets htmx's responseHandling to swap 422 (and only 422 among the
4xx/5xx), so the errors replace the form where it stands.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import reswap, retarget

from alerts import changes, deliveries, webhooks
from alerts.access import (
    alerts_for_user,
    channels_for_user,
    get_alert_for_pause_token,
    get_alert_for_user,
    get_channel_for_user,
    get_user_for_unsubscribe_token,
)
from alerts.evaluation import Reading, reading_for
from alerts.forms import (
    AlertForm,
    ChannelForm,
    ChannelNameForm,
    EmailPreferencesForm,
    max_active_alerts,
    max_channels,
)
from alerts.models import Alert, AlertEvent, Channel, Delivery, EmailPreferences
from cards.models import Card
from prices.models import PriceSummary
from tcgtracker.lib.money import format_money
from tcgtracker.lib.text import parse_id

EVENTS_PER_ALERT = 5
ORIGINS = ("card", "list")  # where an inline create form was opened from
TEST_INTERVAL = 10  # seconds between two tests of one channel


@dataclass
class AlertRow:
    """One alert as My alerts shows it: the price the evaluation would compare, how far
    it is from the line, and the latest triggers."""

    alert: Alert
    reading: Reading | None
    currency: str = "USD"
    events: list[AlertEvent] = field(default_factory=list)

    @property
    def is_met(self) -> bool:
        reading = self.reading
        return reading is not None and self.alert.is_met_by(reading.price, reading.change)

    @property
    def distance(self) -> str:
        alert, reading = self.alert, self.reading
        if reading is None:
            return "No price yet"
        if alert.kind == Alert.Kind.MOVE:
            if reading.change is None:
                return f"Not enough history for {alert.get_window_display()}"
            return (
                f"{reading.change:+.1f}% in {alert.get_window_display()} "
                f"(your line: ±{alert.percent.normalize():f}%)"
            )
        gap = reading.price - alert.threshold
        if gap == 0:
            return "At your line"
        side = "above" if gap > 0 else "below"
        text = f"{format_money(abs(gap), self.currency)} {side} your line"
        if reading.price > 0:
            text += f" ({abs(gap) / reading.price:.1%} of the price)"
        return text

    @property
    def status(self) -> tuple[str, str]:
        """(css modifier, label)."""
        if not self.alert.active:
            return "paused", "Paused"
        if self.alert.armed:
            return "armed", "Active"
        return "waiting", "Triggered — waiting to re-arm"


def alert_rows(alerts: list[Alert]) -> list[AlertRow]:
    """Rows for these alerts in three queries, however many there are."""
    if not alerts:
        return []
    summaries: dict[tuple[int, str], list[PriceSummary]] = defaultdict(list)
    for summary in PriceSummary.objects.filter(
        card_id__in={alert.card_id for alert in alerts},
        price_key__in={alert.price_key for alert in alerts},
    ):
        summaries[(summary.card_id, summary.price_key)].append(summary)
    events: dict[int, list[AlertEvent]] = defaultdict(list)
    recent = (
        AlertEvent.objects.filter(alert_id__in=[alert.pk for alert in alerts])
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("alert_id")],
                order_by=[F("triggered_at").desc(), F("pk").desc()],
            )
        )
        .filter(rank__lte=EVENTS_PER_ALERT)
        .order_by("alert_id", "rank")
    )
    recent = list(recent)
    sent_to: dict[int, list[Delivery]] = defaultdict(list)
    chosen = Delivery.objects.filter(event__in=[event.pk for event in recent])
    for delivery in chosen.select_related("channel"):
        sent_to[delivery.event_id].append(delivery)
    for event in recent:
        event.delivery_list = sent_to[event.pk]
        events[event.alert_id].append(event)
    rows = []
    for alert in alerts:
        candidates = summaries.get((alert.card_id, alert.price_key), [])
        # The same choice the evaluation makes (best of any source, or the alert's own).
        reading = reading_for(alert, candidates) or _latest_price(alert, candidates)
        currency = next(
            (s.currency for s in candidates if reading and s.source == reading.source), "USD"
        )
        rows.append(AlertRow(alert, reading, currency, events[alert.pk]))
    return rows


def _latest_price(alert: Alert, summaries: list[PriceSummary]) -> Reading | None:
    """For a "moves by" alert without enough history: still show the latest price."""
    if alert.source:
        summaries = [s for s in summaries if s.source == alert.source]
    if not summaries:
        return None
    latest = max(summaries, key=lambda s: s.observed_at)
    return Reading(latest.source, latest.market, None, None, latest.observed_at)


def _is_partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.boosted


def _active_count(request) -> int:
    return alerts_for_user(request).filter(active=True).count()


def _list_context(request) -> dict:
    alerts = list(
        alerts_for_user(request).select_related("card__card_set").prefetch_related("channels")
    )
    return {
        "rows": alert_rows(alerts),
        "active_count": sum(alert.active for alert in alerts),
        "max_active": max_active_alerts(),
    }


def _row_response(request, alert: Alert, *, error: str = "", status: int = 200):
    context = {
        "row": alert_rows([alert])[0],
        "row_error": error,
        "active_count": _active_count(request),
        "max_active": max_active_alerts(),
    }
    return render(request, "alerts/list.html#row_response", context, status=status)


@login_required
@require_safe
def alert_list(request):
    context = _list_context(request)
    if _is_partial(request):
        return render(request, "alerts/list.html#alert_list", context)
    return render(request, "alerts/list.html", context)


@login_required
@require_safe
def alert_detail(request, pk):
    """One alert's row (what an inline edit's Cancel swaps back); My alerts otherwise."""
    alert = get_alert_for_user(request, pk)
    if not _is_partial(request):
        return redirect(alert)
    return _row_response(request, alert)


def _card_for(request) -> Card:
    raw = request.POST.get("card") if request.method == "POST" else request.GET.get("card")
    card_id = parse_id(raw)
    if card_id is None:
        raise Http404("Which card? Open the alert form from a card page.")
    return get_object_or_404(Card.objects.select_related("card_set"), pk=card_id)


def _form_response(request, form, card, alert, origin, status=200):
    context = {
        "form": form,
        "card": card,
        "alert": alert,
        "origin": origin,
        "form_action": reverse("alerts:edit", args=[alert.pk])
        if alert
        else reverse("alerts:create"),
    }
    template = "alerts/form.html#alert_form" if _is_partial(request) else "alerts/form.html"
    return render(request, template, context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def create(request):
    card = _card_for(request)
    params = request.POST if request.method == "POST" else request.GET
    origin = params.get("from", "")
    if origin not in ORIGINS:
        origin = ""
    if request.method != "POST":
        form = AlertForm(card=card, user=request.user, price_key=request.GET.get("price_key", ""))
        return _form_response(request, form, card, None, origin)

    form = AlertForm(request.POST, card=card, user=request.user)
    alert = changes.create(form)
    if alert is None:
        return _form_response(request, form, card, None, origin, status=422)
    if _is_partial(request):
        if origin == "list":
            response = render(request, "alerts/list.html#list_response", _list_context(request))
            return reswap(retarget(response, "#alert-list"), "outerHTML")
        return render(request, "alerts/form.html#created", {"alert": alert, "card": card})
    messages.success(request, f"Alert created: {card.name}: {alert.in_words()}.")
    return redirect(alert)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def edit(request, pk):
    alert = get_alert_for_user(request, pk)
    if request.method != "POST":
        form = AlertForm(instance=alert, card=alert.card, user=request.user)
        return _form_response(request, form, alert.card, alert, "list")
    form = AlertForm(request.POST, instance=alert, card=alert.card, user=request.user)
    if not form.is_valid():
        return _form_response(request, form, alert.card, alert, "list", status=422)
    alert = form.save()
    if _is_partial(request):
        return _row_response(request, alert)
    messages.success(request, f"Alert saved: {alert.card.name} {alert.describe()}.")
    return redirect(alert)


@login_required
@require_POST
def pause(request, pk):
    alert = get_alert_for_user(request, pk)
    changes.pause(alert)
    if _is_partial(request):
        return _row_response(request, alert)
    messages.success(request, f"Paused: {alert.card.name} {alert.describe()}.")
    return redirect(alert)


@login_required
@require_POST
def resume(request, pk):
    alert = get_alert_for_user(request, pk)
    error = changes.resume(alert)
    if _is_partial(request):
        return _row_response(request, alert, error=error, status=422 if error else 200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Resumed: {alert.card.name} {alert.describe()}.")
    return redirect(alert)


@login_required
@require_POST
def delete(request, pk):
    alert = get_alert_for_user(request, pk)
    description = f"{alert.card.name} {alert.describe()}"
    alert.delete()
    if _is_partial(request):
        # Swapped over the row: nothing left but the updated count, out of band.
        context = {"active_count": _active_count(request), "max_active": max_active_alerts()}
        return render(request, "alerts/list.html#deleted", context)
    messages.success(request, f"Deleted: {description}.")
    return redirect("alerts:list")


@require_http_methods(["GET", "HEAD", "POST"])
def pause_link(request, token):
    """The pause link in alert emails: the signed token stands in for a login.

    A GET only asks: mail scanners and link previews open every link of an email, and a
    pause must not happen behind the reader's back. The page's button POSTs; pausing
    twice is the same as once. Resuming needs a login.
    """
    alert = get_alert_for_pause_token(token)
    if request.method == "POST" and alert.active:
        alert.active = False
        alert.save(update_fields=["active", "updated_at"])
    return render(request, "alerts/paused.html", {"alert": alert, "token": token})


# Exempt from CSRF: RFC 8058 one-click unsubscribe is a POST from the mail client with
# the body "List-Unsubscribe=One-Click" and no token or cookie of ours. The signed token
# in the URL is what authorises the change (a forged request would need it), and the
# change only turns email off.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token):
    user = get_user_for_unsubscribe_token(token)
    if request.method != "POST":
        preferences = EmailPreferences.objects.filter(user=user).first()
        subscribed = preferences is None or preferences.alert_emails or preferences.daily_digest
        return render(
            request, "alerts/unsubscribe.html", {"token": token, "subscribed": subscribed}
        )
    # One link stands in alert emails and digests alike: it stops both.
    EmailPreferences.for_user(user)
    EmailPreferences.objects.filter(user=user).update(alert_emails=False, daily_digest=False)
    if request.POST.get("List-Unsubscribe") == "One-Click":
        return HttpResponse(
            "Unsubscribed from alert emails and the daily digest.",
            content_type="text/plain; charset=utf-8",
        )
    return render(request, "alerts/unsubscribe.html", {"token": token, "subscribed": False})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def email_preferences(request):
    preferences = EmailPreferences.for_user(request.user)
    form = EmailPreferencesForm(request.POST or None, instance=preferences)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Email preferences saved.")
        return redirect("alerts:email_preferences")
    return render(request, "alerts/email_preferences.html", {"form": form})


# Webhook channels


def _channels_page(request, form, *, new_channel=None, status=200):
    context = {
        "form": form,
        "channels": list(channels_for_user(request)),
        "max_channels": max_channels(),
        "new_channel": new_channel,
    }
    return render(request, "alerts/channels.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def channels(request):
    if request.method != "POST":
        return _channels_page(request, ChannelForm(user=request.user))
    form = ChannelForm(request.POST, user=request.user)
    with transaction.atomic():
        changes.lock_user(request.user)  # two adds at once cannot pass the limit
        channel = form.save() if form.is_valid() else None
    if channel is None:
        return _channels_page(request, form, status=422)
    if channel.kind == Channel.Kind.JSON:
        # The signing secret is shown in this answer only.
        messages.success(request, f"Channel added: {channel.name}.")
        return _channels_page(request, ChannelForm(user=request.user), new_channel=channel)
    messages.success(request, f"Channel added: {channel.name}. Use “Send test” to check it.")
    return redirect("alerts:channels")


@login_required
@require_POST
def channel_test(request, pk):
    channel = get_channel_for_user(request, pk)
    if not cache.add(f"alerts:channel-test:{channel.pk}", 1, timeout=TEST_INTERVAL):
        messages.error(request, "A test was just sent to this channel; try again in a few seconds.")
        return redirect("alerts:channels")
    error = deliveries.send_test(channel)
    if error:
        messages.error(request, f"The test did not arrive: {error}")
    else:
        messages.success(request, f"Test sent to {channel.name}.")
    return redirect("alerts:channels")


@login_required
@require_POST
def channel_enable(request, pk):
    channel = get_channel_for_user(request, pk)
    Channel.objects.filter(pk=channel.pk).update(
        enabled=True, disabled_reason="", permanent_failures=0
    )
    webhooks.breaker_for(channel).reset()
    messages.success(request, f"Turned on: {channel.name}.")
    return redirect("alerts:channels")


@login_required
@require_POST
def channel_disable(request, pk):
    channel = get_channel_for_user(request, pk)
    Channel.objects.filter(pk=channel.pk).update(
        enabled=False, disabled_reason="Turned off by you."
    )
    messages.success(request, f"Turned off: {channel.name}. Alerts stop going there.")
    return redirect("alerts:channels")


@login_required
@require_POST
def channel_rename(request, pk):
    channel = get_channel_for_user(request, pk)
    old_name = channel.name
    form = ChannelNameForm(request.POST, instance=channel)
    if form.is_valid():
        form.save()
        messages.success(request, f"Renamed “{old_name}” to “{channel.name}”.")
    else:
        error = next(iter(form.errors.values()))[0]
        messages.error(request, f"“{old_name}” keeps its name. {error}")
    return redirect("alerts:channels")


@login_required
@require_POST
def channel_delete(request, pk):
    channel = get_channel_for_user(request, pk)
    name = channel.name
    webhooks.breaker_for(channel).reset()  # its state in the cache goes with it
    channel.delete()
    messages.success(request, f"Deleted: {name}.")
    return redirect("alerts:channels")


@login_required
@require_safe
def preview(request):
    """The alert form's sentence, "email + Discord when …", for the values typed so far."""
    card = _card_for(request)
    form = AlertForm(request.GET, card=card, user=request.user)
    return render(request, "alerts/form.html#preview", {"form": form, "preview": form.preview()})
