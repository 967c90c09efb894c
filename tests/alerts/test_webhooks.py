"""Webhook channels end to end: a price write fires an alert, and the message reaches
local servers speaking Discord's, Slack's, Telegram's and our signed-JSON formats —
with their failures: unknown webhooks, rate limits, outages, redirects."""

import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import socket
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from alerts import deliveries, webhooks
from alerts.models import Alert, Channel, Delivery
from prices.writing import Observation, record_observations
from tests.factories import make_card, make_set, make_user
from tests.fakes import chat
from tests.fakes.server import Reply

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
Status = Delivery.Status


@pytest.fixture(autouse=True)
def local_destinations(settings):
    # The fakes listen on loopback: allowed here, refused in the SSRF tests below.
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.SITE_URL = "https://tcg.example"


@pytest.fixture
def owner():
    return make_user(email="misty@example.com")


@pytest.fixture
def card():
    return make_card(
        name="Charizard",
        number="4",
        card_set=make_set(name="Base Set", printed_total=102),
        image_url="https://images.pokemontcg.io/base1/4_hires.png",
    )


def channel_for(owner, kind, **fields) -> Channel:
    fields.setdefault("name", kind.title())
    if kind == Channel.Kind.JSON:
        fields.setdefault("signing_secret", "whsec-test-secret-0123456789")
    return Channel.objects.create(user=owner, kind=kind, **fields)


def fire(card, channels, owner, *, threshold=1000, capture) -> Alert:
    """An alert on the card to these channels, and a price write that triggers it."""
    alert = Alert.objects.create(
        user=owner, card=card, kind=Alert.Kind.BELOW, threshold=threshold, price_key="ungraded"
    )
    alert.channels.set(channels)
    with time_machine.travel(NOW, tick=False), capture(execute=True):
        day = NOW.replace(hour=0)
        record_observations(
            [
                Observation(card.pk, "pricecharting", "ungraded", 1200, day - dt.timedelta(days=1)),
                Observation(card.pk, "pricecharting", "ungraded", 900, day),
            ]
        )
    return alert


# --- Each format ------------------------------------------------------------------------------


def test_discord_gets_an_embed_with_the_card_image_price_change_and_link(
    fake_server, owner, card, django_capture_on_commit_callbacks
):
    channel = channel_for(owner, Channel.Kind.DISCORD, url=chat.serve_discord(fake_server))
    alert = fire(card, [channel], owner, capture=django_capture_on_commit_callbacks)

    [request] = fake_server.calls("POST", chat.DISCORD_PATH)
    assert request.headers["content-type"] == "application/json"
    [embed] = request.json["embeds"]
    assert embed["title"] == "Charizard — Base Set · 4/102"
    assert embed["url"] == "https://tcg.example" + card.get_absolute_url()
    assert embed["thumbnail"] == {"url": "https://images.pokemontcg.io/base1/4_hires.png"}
    assert embed["description"] == "Ungraded at PriceCharting: falls to $10.00 or below"
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert fields["Price"] == "$9.00"
    assert fields["Change"] == "−25.0%"
    assert fields["Was"] == "$12.00"
    assert request.json["allowed_mentions"] == {"parse": []}
    [delivery] = Delivery.objects.filter(event__alert=alert)
    assert (delivery.status, delivery.attempts) == (Status.SENT, 1)
    channel.refresh_from_db()
    assert channel.last_delivered_at is not None


def test_slack_gets_blocks_with_a_plain_text_fallback(
    fake_server, owner, card, django_capture_on_commit_callbacks
):
    card.name = "Charizard <&> Co"
    card.save()
    channel = channel_for(owner, Channel.Kind.SLACK, url=chat.serve_slack(fake_server))
    fire(card, [channel], owner, capture=django_capture_on_commit_callbacks)

    [request] = fake_server.calls("POST", chat.SLACK_PATH)
    payload = request.json
    assert payload["text"].startswith("Charizard <&> Co — Base Set")
    title, rule, facts = payload["blocks"][:3]
    card_url = "https://tcg.example" + card.get_absolute_url()
    # mrkdwn: &, < and > escaped, so a card name cannot forge a link.
    assert title["text"]["text"] == f"*<{card_url}|Charizard &lt;&amp;&gt; Co — Base Set · 4/102>*"
    assert title["accessory"]["type"] == "image"
    assert rule["text"]["text"] == "Ungraded at PriceCharting: falls to $10.00 or below"
    assert {"type": "mrkdwn", "text": "*Price*\n$9.00"} in facts["fields"]
    assert Delivery.objects.get().status == Status.SENT


def test_telegram_gets_send_message_for_the_chat_in_html(
    fake_server, settings, owner, card, django_capture_on_commit_callbacks
):
    settings.TELEGRAM_API_URL = chat.serve_telegram(fake_server)
    channel = channel_for(
        owner, Channel.Kind.TELEGRAM, bot_token=chat.TELEGRAM_TOKEN, chat_id=chat.TELEGRAM_CHAT
    )
    fire(card, [channel], owner, capture=django_capture_on_commit_callbacks)

    [request] = fake_server.calls("POST", f"/bot{chat.TELEGRAM_TOKEN}/sendMessage")
    sent = request.json
    assert sent["chat_id"] == chat.TELEGRAM_CHAT
    assert sent["parse_mode"] == "HTML"
    assert sent["text"].startswith("<b>Charizard — Base Set · 4/102</b>\n")
    assert "Price: $9.00 · Change: −25.0%" in sent["text"]
    link = f'<a href="https://tcg.example{card.get_absolute_url()}">Open the card</a>'
    assert link in sent["text"]
    assert Delivery.objects.get().status == Status.SENT


def test_signed_json_carries_a_signature_the_documented_check_accepts(
    fake_server, owner, card, django_capture_on_commit_callbacks
):
    channel = channel_for(
        owner, Channel.Kind.JSON, name="Portfolio bot", url=chat.serve_json(fake_server)
    )
    alert = fire(card, [channel], owner, capture=django_capture_on_commit_callbacks)

    [request] = fake_server.calls("POST", chat.JSON_PATH)
    timestamp = request.headers["x-timestamp"]
    expected = hmac.new(
        channel.signing_secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    assert request.headers["x-signature"] == f"sha256={expected}"
    assert int(timestamp) == int(NOW.timestamp())  # when it was sent
    payload = json.loads(request.body)
    delivery = Delivery.objects.get()
    assert payload["type"] == "alert.triggered"
    assert payload["id"] == request.headers["x-webhook-id"] == str(delivery.pk)
    assert payload["alert"]["id"] == alert.pk
    assert payload["alert"]["rule"] == (
        "Email + webhook (Portfolio bot) when Ungraded at any source falls to $10.00 or below"
    )
    assert payload["card"]["name"] == "Charizard"
    assert payload["price"]["cents"] == 900
    assert payload["price"]["previous_cents"] == 1200
    assert payload["price"]["change_percent"] == -25.0
    assert payload["price"]["simulated"] is False
    # The check docs/notifications.md gives to receivers accepts it, and nothing else.
    verify = documented_verify()
    headers = {"X-Timestamp": timestamp, "X-Signature": request.headers["x-signature"]}
    with time_machine.travel(NOW + dt.timedelta(seconds=30), tick=False):
        assert verify(channel.signing_secret, headers, request.body)
        assert not verify(channel.signing_secret, headers, request.body + b" ")
        assert not verify("another secret", headers, request.body)
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        assert not verify(channel.signing_secret, headers, request.body)  # a replay
    # A body changed on the way no longer matches.
    forged = hmac.new(
        channel.signing_secret.encode(), timestamp.encode() + b"." + request.body + b" ", "sha256"
    ).hexdigest()
    assert forged != expected


def test_a_paused_channel_gets_nothing_and_an_alert_without_channels_only_email(
    fake_server, owner, card, django_capture_on_commit_callbacks
):
    channel = channel_for(
        owner, Channel.Kind.DISCORD, url=chat.serve_discord(fake_server), enabled=False
    )
    fire(card, [channel], owner, capture=django_capture_on_commit_callbacks)
    assert fake_server.requests == []
    assert Delivery.objects.count() == 0
    assert len(mail.outbox) == 1


def documented_verify():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "notifications.md").read_text()
    snippet = re.search(r"```python\n(.*?)```", doc, re.S)[1]
    namespace: dict = {}
    exec(snippet, namespace)
    return namespace["verify"]


# --- Failures -----------------------------------------------------------------------------------


def test_an_unknown_discord_webhook_fails_at_once_without_retrying(
    fake_server, owner, card, django_capture_on_commit_callbacks
):
    channel = channel_for(owner, Channel.Kind.DISCORD, url=chat.serve_discord(fake_server))
    fake_server.script("POST", chat.DISCORD_PATH, chat.DISCORD_UNKNOWN)
    fire(card, [channel], owner, capture=django_capture_on_commit_callbacks)

    delivery = Delivery.objects.get()
    assert delivery.status == Status.FAILED
    assert "HTTP 404: Unknown Webhook" in delivery.error
    assert delivery.next_attempt_at is None
    channel.refresh_from_db()
    assert (channel.enabled, channel.permanent_failures) == (True, 1)
    with time_machine.travel(NOW + dt.timedelta(hours=3)):
        assert deliveries.retry_webhook_deliveries()["sent"] == 0
    assert len(fake_server.calls("POST")) == 1


def test_repeated_refusals_turn_the_channel_off_and_email_its_owner(
    fake_server, settings, owner, card, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_DISABLE_AFTER = 2
    settings.TELEGRAM_API_URL = chat.serve_telegram(fake_server)
    channel = channel_for(
        owner, Channel.Kind.TELEGRAM, name="Trades", bot_token=chat.TELEGRAM_TOKEN, chat_id="-42"
    )
    first = fire(card, [channel], owner, capture=django_capture_on_commit_callbacks)
    channel.refresh_from_db()
    assert (channel.enabled, channel.permanent_failures) == (True, 1)
    assert mail.outbox[-1].subject.startswith("Price alert")

    second = make_card(name="Blastoise", card_set=card.card_set, number="2")
    fire(second, [channel], owner, capture=django_capture_on_commit_callbacks)
    channel.refresh_from_db()
    assert channel.enabled is False
    assert "Bad Request: chat not found" in channel.disabled_reason
    notice = mail.outbox[-1]
    assert notice.to == ["misty@example.com"]
    assert notice.subject == "Your Telegram alert channel “Trades” was turned off"
    assert "https://tcg.example/alerts/channels/" in notice.body
    assert chat.TELEGRAM_TOKEN not in notice.body

    # A delivery still queued for it is skipped, and nobody is told twice.
    event = first.events.create(source="pricecharting", price=800, observed_at=timezone.now())
    delivery = Delivery.objects.create(event=event, channel=channel)
    assert deliveries.send_delivery(delivery.pk) == Status.SKIPPED
    assert sum("turned off" in m.subject for m in mail.outbox) == 1


def test_a_rate_limit_waits_as_long_as_the_service_asked_then_delivers(
    fake_server, owner, card, django_capture_on_commit_callbacks
):
    channel = channel_for(owner, Channel.Kind.DISCORD, url=chat.serve_discord(fake_server))
    fake_server.script("POST", chat.DISCORD_PATH, chat.DISCORD_RATE_LIMITED, chat.SERVER_ERROR)
    fire(card, [channel], owner, capture=django_capture_on_commit_callbacks)

    delivery = Delivery.objects.get()
    assert delivery.status == Status.RETRYING
    assert delivery.next_attempt_at - NOW >= dt.timedelta(seconds=43)
    assert "HTTP 429" in delivery.error

    # Not due yet: nothing sent.
    with time_machine.travel(NOW + dt.timedelta(seconds=30), tick=False):
        deliveries.retry_webhook_deliveries()
    assert len(fake_server.calls("POST")) == 1

    # Due: a 502 this time — transient, so another retry after a longer backoff.
    with time_machine.travel(NOW + dt.timedelta(minutes=2), tick=False):
        assert deliveries.retry_webhook_deliveries()["retrying"] == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.RETRYING, 2)
    assert "HTTP 502" in delivery.error

    with time_machine.travel(NOW + dt.timedelta(minutes=10), tick=False):
        assert deliveries.retry_webhook_deliveries()["sent"] == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SENT, 3)
    channel.refresh_from_db()
    assert channel.permanent_failures == 0


def test_telegrams_retry_after_is_read_from_its_parameters(fake_server, settings, owner):
    settings.TELEGRAM_API_URL = chat.serve_telegram(fake_server)
    channel = channel_for(
        owner, Channel.Kind.TELEGRAM, bot_token=chat.TELEGRAM_TOKEN, chat_id=chat.TELEGRAM_CHAT
    )
    fake_server.script("POST", f"/bot{chat.TELEGRAM_TOKEN}/sendMessage", chat.TELEGRAM_TOO_MANY)
    with pytest.raises(webhooks.DeliveryError) as caught:
        webhooks.send(channel, webhooks.test_message(channel))
    assert caught.value.permanent is False
    assert caught.value.retry_after == 120


def test_the_last_attempt_fails_for_good(
    fake_server, settings, owner, card, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    channel = channel_for(owner, Channel.Kind.SLACK, url=chat.serve_slack(fake_server))
    fake_server.script("POST", chat.SLACK_PATH, chat.SERVER_ERROR, chat.SERVER_ERROR)
    fire(card, [channel], owner, capture=django_capture_on_commit_callbacks)
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        assert deliveries.retry_webhook_deliveries()["failed"] == 1
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Status.FAILED, 2)
    channel.refresh_from_db()
    assert channel.enabled is True  # an outage is not the user's to fix


def test_the_circuit_opens_after_repeated_outages_and_waits_without_using_attempts(
    fake_server, owner
):
    channel = channel_for(owner, Channel.Kind.SLACK, url=chat.serve_slack(fake_server))
    fake_server.script("POST", chat.SLACK_PATH, *[chat.SERVER_ERROR] * webhooks.BREAKER_FAILURES)
    for _ in range(webhooks.BREAKER_FAILURES):
        with pytest.raises(webhooks.DeliveryError):
            webhooks.send(channel, webhooks.test_message(channel))
    calls = len(fake_server.requests)
    with pytest.raises(webhooks.BreakerOpen):
        webhooks.send(channel, webhooks.test_message(channel))
    assert len(fake_server.requests) == calls  # not called while open

    other = channel_for(owner, Channel.Kind.SLACK, url=channel.url)
    webhooks.send(other, webhooks.test_message(other))  # each destination has its own

    alert = Alert.objects.create(user=owner, card=make_card(), threshold=100)
    event = alert.events.create(source="pricecharting", price=90, observed_at=timezone.now())
    delivery = Delivery.objects.create(event=event, channel=channel)
    assert deliveries.send_delivery(delivery.pk) == Status.RETRYING
    delivery.refresh_from_db()
    assert delivery.attempts == 0
    assert delivery.error.startswith("Waiting:")


def test_a_service_that_is_down_is_retried(owner):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    channel = channel_for(owner, Channel.Kind.JSON, url=f"http://127.0.0.1:{port}/hook")
    with pytest.raises(webhooks.DeliveryError) as caught:
        webhooks.send(channel, webhooks.test_message(channel))
    assert caught.value.permanent is False
    assert "could not reach the service" in str(caught.value)


def test_only_the_start_of_a_huge_answer_is_read(fake_server, owner):
    fake_server.route("POST", "/big", lambda request: Reply(status=400, body="x" * 5_000_000))
    channel = channel_for(owner, Channel.Kind.DISCORD, url=fake_server.url + "/big")
    with pytest.raises(webhooks.DeliveryError) as caught:
        webhooks.send(channel, webhooks.test_message(channel))
    assert caught.value.permanent
    assert len(str(caught.value)) < 400


def test_redirects_are_not_followed(fake_server, owner):
    fake_server.route(
        "POST", "/moved", lambda request: Reply(status=307, headers={"Location": "/elsewhere"})
    )
    fake_server.route("POST", "/elsewhere", lambda request: Reply(status=204))
    channel = channel_for(owner, Channel.Kind.DISCORD, url=fake_server.url + "/moved")
    with pytest.raises(webhooks.DeliveryError) as caught:
        webhooks.send(channel, webhooks.test_message(channel))
    assert caught.value.permanent
    assert "do not follow redirects" in str(caught.value)
    assert fake_server.calls("POST", "/elsewhere") == []


def test_secrets_stay_out_of_errors_and_logs(fake_server, settings, owner, caplog):
    settings.TELEGRAM_API_URL = chat.serve_telegram(fake_server)
    telegram = channel_for(
        owner, Channel.Kind.TELEGRAM, bot_token=chat.TELEGRAM_TOKEN, chat_id=chat.TELEGRAM_CHAT
    )
    fake_server.script(
        "POST", f"/bot{chat.TELEGRAM_TOKEN}/sendMessage", chat.telegram_unauthorized()
    )
    discord = channel_for(owner, Channel.Kind.DISCORD, url=fake_server.url + chat.DISCORD_PATH)
    fake_server.script(
        "POST",
        chat.DISCORD_PATH,
        Reply(status=400, json={"message": f"bad webhook {fake_server.url}{chat.DISCORD_PATH}"}),
    )
    caplog.set_level(logging.DEBUG)
    errors = []
    for channel in (telegram, discord):
        with pytest.raises(webhooks.DeliveryError) as caught:
            webhooks.send(channel, webhooks.test_message(channel))
        errors.append(str(caught.value))
    assert "HTTP 401: Unauthorized" in errors[0]
    everything = " ".join(errors) + caplog.text
    for secret in (chat.TELEGRAM_TOKEN, chat.DISCORD_PATH, "sEcReT-DiScOrD-ToKeN"):
        assert secret not in everything
    assert discord.masked_target.endswith("…mnop")
    assert "sEcReT" not in discord.masked_target
    assert "sEcReT" not in telegram.masked_target


# --- Where a destination may point ---------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.0.0.8/hook",
        "https://192.168.1.20/hook",
        "https://172.16.5.5/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/hook",
        "https://[::1]/hook",
        "https://[fd00::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://0.0.0.0/hook",
        "https://2130706433/hook",  # 127.0.0.1 as one number
    ],
)
def test_private_and_loopback_destinations_are_refused(settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    problem = webhooks.check_destination(url)
    assert problem and "private, loopback or reserved" in problem


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://8.8.8.8/hook", "must start with https://"),
        ("ftp://8.8.8.8/hook", "must start with https://"),
        ("https://user:pw@8.8.8.8/hook", "user name or password"),
        ("https:///hook", "must name a host"),
        ("https://no-such-host.invalid/hook", "could not be found"),
        ("https://8.8.8.8:99999/hook", "not a valid URL"),
    ],
)
def test_malformed_or_plain_http_destinations_are_refused(settings, url, message):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    settings.DEBUG = False
    assert message in webhooks.check_destination(url)


def test_a_public_address_is_accepted(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    assert webhooks.check_destination("https://8.8.8.8/hook") is None


def test_a_stored_destination_that_now_resolves_privately_is_never_called(
    fake_server, settings, owner, card, django_capture_on_commit_callbacks
):
    """DNS rebinding, or a channel saved while private addresses were allowed: the
    connection itself checks where it is going."""
    channel = channel_for(owner, Channel.Kind.DISCORD, url=chat.serve_discord(fake_server))
    settings.WEBHOOK_ALLOW_PRIVATE = False
    fire(card, [channel], owner, capture=django_capture_on_commit_callbacks)
    assert fake_server.requests == []
    delivery = Delivery.objects.get()
    assert delivery.status == Status.FAILED
    assert "not a public internet address" in delivery.error
