"""The channels page (add, send test, turn off and on, delete), each alert's choice of
channels, and alert hygiene: no second copy of an active alert, and the alert in words."""

import json

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from alerts.models import Alert, Channel
from api.models import ApiKey
from tests.factories import make_card, make_user, record_prices
from tests.fakes import chat

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner():
    return make_user(email="ash@example.com")


@pytest.fixture
def other():
    return make_user()


@pytest.fixture
def card():
    card = make_card(name="Pikachu")
    record_prices(card, {"ungraded": 1500, "PSA 10": 50000})
    return card


@pytest.fixture
def local(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True


def discord(owner, url="https://discord.test/api/webhooks/1/secret-token-abcd", **fields):
    fields.setdefault("name", "Trades server")
    return Channel.objects.create(user=owner, kind=Channel.Kind.DISCORD, url=url, **fields)


def alert_post(card, **overrides):
    data = {
        "card": card.pk,
        "price_key": "PSA 10",
        "source": "pricecharting",
        "kind": "below",
        "threshold": "400.00",
        "percent": "",
        "window": "1d",
        "cooldown_hours": "24",
    }
    data.update(overrides)
    return data


# --- The channels page ----------------------------------------------------------------------

CHANNEL_ACTIONS = (
    "channel_test",
    "channel_enable",
    "channel_disable",
    "channel_rename",
    "channel_delete",
)


def test_anonymous_visitors_are_sent_to_log_in(owner):
    channel = discord(owner)
    client = Client()
    assert client.get(reverse("alerts:channels")).status_code == 302
    for name in CHANNEL_ACTIONS:
        response = client.post(reverse(f"alerts:{name}", args=[channel.pk]), {"name": "Mine"})
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]
    assert Channel.objects.filter(pk=channel.pk, enabled=True, name="Trades server").exists()


def test_another_users_channel_is_not_found(owner, other):
    channel = discord(owner, name="Misty's gym")
    client = client_for(other)
    for name in CHANNEL_ACTIONS:
        url = reverse(f"alerts:{name}", args=[channel.pk])
        assert client.post(url, {"name": "Mine"}).status_code == 404
    assert "Misty&#x27;s gym" not in client.get(reverse("alerts:channels")).content.decode()
    assert Channel.objects.filter(pk=channel.pk, enabled=True, name="Misty's gym").exists()


def test_the_owner_sees_their_channels_masked(owner):
    discord(owner)
    content = client_for(owner).get(reverse("alerts:channels")).content.decode()
    assert "Trades server" in content
    assert "https://discord.test/…abcd" in content
    assert "secret-token" not in content


def test_adding_a_discord_channel_and_sending_a_test(fake_server, local, owner, card):
    existing = Alert.objects.create(user=owner, card=card, threshold=100)
    url = chat.serve_discord(fake_server)
    client = client_for(owner)
    response = client.post(
        reverse("alerts:channels"),
        {"kind": "discord", "name": "Trades", "url": url, "for_all_alerts": "on"},
    )
    assert response.status_code == 302
    channel = Channel.objects.get(user=owner)
    assert list(existing.channels.all()) == [channel]

    response = client.post(reverse("alerts:channel_test", args=[channel.pk]), follow=True)
    assert "Test sent to Trades." in response.content.decode()
    [request] = fake_server.calls("POST", chat.DISCORD_PATH)
    assert request.json["embeds"][0]["title"] == "Test from TCG Price Tracker"

    # A second click at once is refused rather than hammering the destination.
    response = client.post(reverse("alerts:channel_test", args=[channel.pk]), follow=True)
    assert "A test was just sent" in response.content.decode()
    assert len(fake_server.requests) == 1


def test_a_failed_test_says_why_without_the_secret(fake_server, local, owner):
    fake_server.script("POST", chat.DISCORD_PATH, chat.DISCORD_UNKNOWN)
    channel = discord(owner, url=fake_server.url + chat.DISCORD_PATH)
    response = client_for(owner).post(
        reverse("alerts:channel_test", args=[channel.pk]), follow=True
    )
    content = response.content.decode()
    assert "The test did not arrive: Discord (Trades server): HTTP 404: Unknown Webhook" in content
    assert "sEcReT" not in content
    channel.refresh_from_db()
    assert channel.permanent_failures == 0  # a test does not count against the channel


def test_a_signed_json_channels_secret_is_shown_once(local, fake_server, owner):
    client = client_for(owner)
    response = client.post(
        reverse("alerts:channels"),
        {"kind": "json", "name": "My bot", "url": chat.serve_json(fake_server)},
    )
    assert response.status_code == 200
    channel = Channel.objects.get(user=owner)
    assert len(channel.signing_secret) >= 40
    assert channel.signing_secret in response.content.decode()
    assert channel.signing_secret not in client.get(reverse("alerts:channels")).content.decode()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"kind": "discord", "url": "https://127.0.0.1/x"}, "url", "private, loopback"),
        ({"kind": "slack", "url": "http://8.8.8.8/x"}, "url", "must start with https://"),
        ({"kind": "slack", "url": "javascript:alert(1)"}, "url", "enter a full URL"),
        ({"kind": "json", "url": ""}, "url", "paste the address"),
        ({"kind": "telegram", "bot_token": "nope", "chat_id": "-100"}, "bot_token", "@BotFather"),
        (
            {"kind": "telegram", "bot_token": chat.TELEGRAM_TOKEN, "chat_id": "x"},
            "chat_id",
            "@name",
        ),
        ({"kind": "pigeon", "url": "https://8.8.8.8/x"}, "kind", "Type: choose"),
    ],
)
def test_a_bad_channel_is_refused_with_a_message(settings, owner, data, field, message):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    settings.DEBUG = False
    response = client_for(owner).post(reverse("alerts:channels"), {"name": "X", **data})
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert message in " ".join(errors[field])
    assert not Channel.objects.exists()


def test_a_telegram_channel_is_added_with_its_token_and_chat(owner):
    response = client_for(owner).post(
        reverse("alerts:channels"),
        {"kind": "telegram", "name": "Me", "bot_token": chat.TELEGRAM_TOKEN, "chat_id": "-1001"},
    )
    assert response.status_code == 302
    channel = Channel.objects.get()
    assert (channel.bot_token, channel.chat_id, channel.url) == (chat.TELEGRAM_TOKEN, "-1001", "")
    content = client_for(owner).get(reverse("alerts:channels")).content.decode()
    assert "chat -1001, bot token …ijkl" in content
    assert chat.TELEGRAM_TOKEN not in content


def test_the_number_of_channels_is_limited(settings, owner):
    settings.WEBHOOK_MAX_PER_USER = 1
    discord(owner)
    response = client_for(owner).post(
        reverse("alerts:channels"),
        {"kind": "telegram", "name": "Me", "bot_token": chat.TELEGRAM_TOKEN, "chat_id": "-1001"},
    )
    assert response.status_code == 422
    assert "1 channels, the most allowed" in response.content.decode()


def test_turning_a_channel_off_and_on_again(owner):
    channel = discord(owner, permanent_failures=3, enabled=False, disabled_reason="Refused")
    client = client_for(owner)
    client.post(reverse("alerts:channel_enable", args=[channel.pk]))
    channel.refresh_from_db()
    assert (channel.enabled, channel.permanent_failures, channel.disabled_reason) == (True, 0, "")
    client.post(reverse("alerts:channel_disable", args=[channel.pk]))
    channel.refresh_from_db()
    assert channel.enabled is False
    client.post(reverse("alerts:channel_delete", args=[channel.pk]))
    assert not Channel.objects.exists()


def test_renaming_a_channel_changes_only_its_name(owner):
    channel = discord(owner, name="Trades server")
    client = client_for(owner)
    response = client.post(
        reverse("alerts:channel_rename", args=[channel.pk]), {"name": "  <b>Binder</b> chat  "}
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.name == "<b>Binder</b> chat"
    assert channel.url == "https://discord.test/api/webhooks/1/secret-token-abcd"
    content = client.get(reverse("alerts:channels")).content.decode()
    assert "Renamed “Trades server” to “&lt;b&gt;Binder&lt;/b&gt; chat”." in content
    assert "<b>Binder</b>" not in content
    assert f'action="{reverse("alerts:channel_rename", args=[channel.pk])}"' in content


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Name: give the channel a name."),
        ("   ", "Name: give the channel a name."),
        ("x" * 61, "Ensure this value has at most 60 characters (it has 61)."),
    ],
)
def test_a_channel_keeps_its_name_when_the_new_one_is_refused(owner, name, message):
    channel = discord(owner, name="Trades server")
    client = client_for(owner)
    client.post(reverse("alerts:channel_rename", args=[channel.pk]), {"name": name})
    channel.refresh_from_db()
    assert channel.name == "Trades server"
    content = client.get(reverse("alerts:channels")).content.decode()
    assert f"“Trades server” keeps its name. {message}" in content


# --- Each alert's channels ---------------------------------------------------------------------


def test_a_new_alert_goes_to_email_and_every_enabled_channel_by_default(owner, card):
    on = discord(owner)
    discord(owner, name="Old", enabled=False)
    client = client_for(owner)
    form = client.get(reverse("alerts:create"), {"card": card.pk}).context["form"]
    assert form.initial["channels"] == ["email", str(on.pk)]
    assert form.preview().startswith("Email + Discord (Trades server) when Ungraded at any source")

    response = client.post(
        reverse("alerts:create"), alert_post(card, channels=["email", str(on.pk)], channels_shown=1)
    )
    assert response.status_code == 302
    alert = Alert.objects.get()
    assert alert.notify_email and list(alert.channels.all()) == [on]


def test_unticked_channels_are_left_out(owner, card):
    channel = discord(owner)
    client_for(owner).post(
        reverse("alerts:create"), alert_post(card, channels=[str(channel.pk)], channels_shown=1)
    )
    alert = Alert.objects.get()
    assert alert.notify_email is False
    assert alert.in_words() == (
        "Discord (Trades server) when PSA 10 at PriceCharting falls to $400.00 or below"
    )


def test_another_users_channel_cannot_be_chosen(owner, other, card):
    theirs = discord(other)
    response = client_for(owner).post(
        reverse("alerts:create"), alert_post(card, channels=[str(theirs.pk)], channels_shown=1)
    )
    assert response.status_code == 422
    assert not Alert.objects.exists()


def test_an_alert_created_through_the_api_goes_everywhere_and_keeps_its_channels(owner, card):
    channel = discord(owner)
    _, secret = ApiKey.issue(owner, "bot", ApiKey.Scope.WRITE)
    api = Client(headers={"X-API-Key": secret})
    body = json.dumps({"card_id": card.pk, "threshold": 12})
    assert api.post("/api/v1/alerts", body, content_type="application/json").status_code == 201
    alert = Alert.objects.get()
    assert alert.notify_email and list(alert.channels.all()) == [channel]

    change = json.dumps({"threshold": 11})
    response = api.patch(f"/api/v1/alerts/{alert.pk}", change, content_type="application/json")
    assert response.status_code == 200
    assert alert.notify_email and list(alert.channels.all()) == [channel]


def test_an_alert_without_email_sends_none(owner, card, django_capture_on_commit_callbacks):
    from prices.writing import Observation, record_observations

    alert = Alert.objects.create(user=owner, card=card, threshold=1000, notify_email=False)
    with django_capture_on_commit_callbacks(execute=True):
        from django.utils import timezone

        record_observations(
            [Observation(card.pk, "pricecharting", "ungraded", 900, timezone.now())]
        )
    event = alert.events.get()
    assert event.email_status == event.EmailStatus.SKIPPED
    assert mail.outbox == []


# --- Hygiene ---------------------------------------------------------------------------------


def test_a_copy_of_an_active_alert_is_refused_with_a_link_to_it(owner, card):
    client = client_for(owner)
    assert client.post(reverse("alerts:create"), alert_post(card)).status_code == 302
    existing = Alert.objects.get()
    response = client.post(reverse("alerts:create"), alert_post(card, threshold="400"))
    assert response.status_code == 422
    content = response.content.decode()
    assert "You already have this alert, active: change that one instead." in content
    assert f'href="{existing.get_absolute_url()}"' in content
    assert Alert.objects.count() == 1

    # Another line, source or key is another alert.
    for change in ({"threshold": "399"}, {"source": ""}, {"price_key": "ungraded"}):
        assert client.post(reverse("alerts:create"), alert_post(card, **change)).status_code == 302


def test_a_paused_copy_does_not_block_and_cannot_be_resumed_beside_the_original(owner, card):
    paused = Alert.objects.create(
        user=owner, card=card, price_key="PSA 10", source="pricecharting", threshold=40000
    )
    paused.active = False
    paused.save()
    client = client_for(owner)
    assert client.post(reverse("alerts:create"), alert_post(card)).status_code == 302
    response = client.post(reverse("alerts:resume", args=[paused.pk]), follow=True)
    assert "You already have this alert, active" in response.content.decode()
    paused.refresh_from_db()
    assert paused.active is False


def test_an_alert_cannot_be_changed_into_a_copy_of_another(owner, card):
    client = client_for(owner)
    client.post(reverse("alerts:create"), alert_post(card))
    client.post(reverse("alerts:create"), alert_post(card, threshold="300"))
    second = Alert.objects.get(threshold=30000)
    response = client.post(reverse("alerts:edit", args=[second.pk]), alert_post(card))
    assert response.status_code == 422
    assert "You already have this alert, active" in response.content.decode()
    # Saving it unchanged is no copy of itself.
    response = client.post(
        reverse("alerts:edit", args=[second.pk]), alert_post(card, threshold="300")
    )
    assert response.status_code == 302


def test_the_api_refuses_a_copy_with_the_forms_message_and_the_existing_alert(owner, card):
    _, secret = ApiKey.issue(owner, "bot", ApiKey.Scope.WRITE)
    api = Client(headers={"X-API-Key": secret})
    body = json.dumps({"card_id": card.pk, "threshold": "12.50", "price_key": "PSA 10"})
    assert api.post("/api/v1/alerts", body, content_type="application/json").status_code == 201
    existing = Alert.objects.get()
    refused = api.post("/api/v1/alerts", body, content_type="application/json")
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["details"]["fields"]["__all__"] == [
        "You already have this alert, active: change that one instead."
    ]
    assert error["details"]["existing_alert"]["id"] == existing.pk
    assert error["details"]["existing_alert"]["url"].endswith(f"/api/v1/alerts/{existing.pk}")


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({}, "Email when PSA 10 at PriceCharting falls to $400.00 or below"),
        (
            {"kind": "above", "threshold": "1000", "source": ""},
            "Email when PSA 10 at any source rises to $1,000.00 or above",
        ),
        (
            {"kind": "move", "percent": "12.5", "window": "7d", "threshold": ""},
            "Email when PSA 10 at PriceCharting moves by 12.5% or more within 7 days",
        ),
        ({"threshold": "abc"}, "Email when PSA 10 at PriceCharting falls to $… or below"),
        ({"kind": "sideways"}, "Email when PSA 10 at PriceCharting falls to $400.00 or below"),
    ],
)
def test_the_form_previews_the_alert_in_words(owner, card, fields, words):
    params = alert_post(card, **fields)
    response = client_for(owner).get(
        reverse("alerts:preview"), params, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert f"{words}." in response.content.decode()
    assert "<html" not in response.content.decode()


def test_the_list_says_what_each_alert_does(owner, card):
    channel = discord(owner)
    alert = Alert.objects.create(
        user=owner, card=card, price_key="PSA 10", source="pricecharting", threshold=40000
    )
    alert.channels.add(channel)
    content = client_for(owner).get(reverse("alerts:list")).content.decode()
    assert (
        "Email + Discord (Trades server) when PSA 10 at PriceCharting falls to $400.00 or below"
        in content
    )


def test_the_api_sets_and_shows_an_alerts_channels(owner, card):
    channel = discord(owner)
    _, secret = ApiKey.issue(owner, "bot", ApiKey.Scope.WRITE)
    api = Client(headers={"X-API-Key": secret})
    body = {"card_id": card.pk, "threshold": 12, "channels": [str(channel.pk)]}
    created = api.post("/api/v1/alerts", json.dumps(body), content_type="application/json")
    assert created.status_code == 201
    assert created.json()["channels"] == [str(channel.pk)]
    assert created.json()["summary"].startswith("Discord (Trades server) when Ungraded")
    alert = Alert.objects.get()
    assert alert.notify_email is False

    url = f"/api/v1/alerts/{alert.pk}"
    changed = api.patch(url, json.dumps({"channels": ["email"]}), content_type="application/json")
    assert changed.json()["channels"] == ["email"]
    assert list(alert.channels.all()) == []

    theirs = discord(make_user())
    refused = api.patch(
        url, json.dumps({"channels": [str(theirs.pk)]}), content_type="application/json"
    )
    assert refused.status_code == 422
    assert "channels" in refused.json()["error"]["details"]["fields"]
    assert api.get("/api/v1/alerts").json()["results"][0]["channels"] == ["email"]
