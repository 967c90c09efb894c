import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alerts import links
from alerts.models import Alert, AlertEvent, Channel, Delivery, EmailPreferences
from prices.writing import Observation, record_observations
from tests.factories import make_card, make_user

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def price(card, cents, *, source="pricecharting", key="ungraded", days_ago=0):
    observed = timezone.now().replace(microsecond=0) - dt.timedelta(days=days_ago)
    record_observations(
        [
            Observation(
                card_id=card.pk, source=source, price_key=key, market=cents, observed_at=observed
            )
        ]
    )


def make_alert(user, card, **fields):
    fields.setdefault("kind", Alert.Kind.BELOW)
    if fields["kind"] != Alert.Kind.MOVE:
        fields.setdefault("threshold", 1000)
    return Alert.objects.create(user=user, card=card, **fields)


@pytest.fixture
def owner():
    return make_user()


@pytest.fixture
def other():
    return make_user()


@pytest.fixture
def card():
    card = make_card(name="Charizard")
    price(card, 1320)
    return card


@pytest.fixture
def alert(owner, card):
    return make_alert(owner, card, threshold=1000)


def client_for(user):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def valid_post(card, **overrides):
    data = {
        "card": card.pk if card else "",
        "price_key": "ungraded",
        "source": "",
        "kind": "below",
        "threshold": "10.00",
        "percent": "",
        "window": "1d",
        "cooldown_hours": "24",
    }
    data.update(overrides)
    return data


def edit_post(**overrides):
    data = {key: value for key, value in valid_post(None).items() if key != "card"}
    data.update(overrides)
    return data


# --- Permissions: owner, other user, anonymous, for every alert URL -----------------

ROW_POSTS = ["alerts:pause", "alerts:resume", "alerts:delete", "alerts:edit"]


def snapshot(alert):
    return (
        Alert.objects.filter(pk=alert.pk)
        .values("active", "threshold", "kind", "price_key", "armed")
        .first()
    )


@pytest.mark.parametrize("name", ["alerts:detail", "alerts:edit"])
def test_other_users_get_404_for_alert_pages(name, alert, other):
    response = client_for(other).get(reverse(name, args=[alert.pk]), **HTMX)
    assert response.status_code == 404


@pytest.mark.parametrize("name", ["alerts:detail", "alerts:edit"])
def test_anonymous_visitors_are_sent_to_log_in_from_alert_pages(name, alert):
    url = reverse(name, args=[alert.pk])
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login") + "?next=")


def test_the_owner_gets_the_edit_form_and_the_row(alert, owner):
    client = client_for(owner)
    form = client.get(reverse("alerts:edit", args=[alert.pk]))
    assert form.status_code == 200
    assert b'value="10.00"' in form.content
    row = client.get(reverse("alerts:detail", args=[alert.pk]), **HTMX)
    assert row.status_code == 200
    assert f'id="alert-{alert.pk}"'.encode() in row.content


@pytest.mark.parametrize("name", ROW_POSTS)
def test_other_users_cannot_change_an_alert(name, alert, other):
    before = snapshot(alert)
    data = edit_post(threshold="1.00") if name == "alerts:edit" else {}
    response = client_for(other).post(reverse(name, args=[alert.pk]), data)
    assert response.status_code == 404
    assert snapshot(alert) == before


@pytest.mark.parametrize("name", ROW_POSTS)
def test_anonymous_visitors_cannot_change_an_alert(name, alert):
    before = snapshot(alert)
    data = edit_post(threshold="1.00") if name == "alerts:edit" else {}
    response = Client().post(reverse(name, args=[alert.pk]), data)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert snapshot(alert) == before


def test_a_missing_alert_is_404(owner):
    assert client_for(owner).post(reverse("alerts:pause", args=[999999])).status_code == 404


def test_the_owner_pauses_resumes_and_deletes(alert, owner):
    client = client_for(owner)
    response = client.post(reverse("alerts:pause", args=[alert.pk]))
    assert response.status_code == 302
    assert response["Location"] == alert.get_absolute_url()
    assert snapshot(alert)["active"] is False
    client.post(reverse("alerts:resume", args=[alert.pk]))
    assert snapshot(alert)["active"] is True
    response = client.post(reverse("alerts:delete", args=[alert.pk]))
    assert response.status_code == 302
    assert not Alert.objects.filter(pk=alert.pk).exists()


def test_the_owner_edits_an_alert(alert, owner):
    alert.armed = False
    alert.save()
    response = client_for(owner).post(
        reverse("alerts:edit", args=[alert.pk]), edit_post(threshold="7.50", cooldown_hours="6")
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert (alert.threshold, alert.cooldown, alert.armed) == (750, dt.timedelta(hours=6), True)


def test_the_list_shows_only_the_users_own_alerts(alert, other, card):
    mine = make_alert(other, card, kind=Alert.Kind.ABOVE, threshold=99900)
    response = client_for(other).get(reverse("alerts:list"))
    assert response.status_code == 200
    assert f'id="alert-{mine.pk}"'.encode() in response.content
    assert f'id="alert-{alert.pk}"'.encode() not in response.content


@pytest.mark.parametrize("name", ["alerts:list", "alerts:create", "alerts:email_preferences"])
def test_anonymous_visitors_are_sent_to_log_in(name, card):
    response = Client().get(reverse(name) + f"?card={card.pk}")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_anonymous_visitors_cannot_create(card):
    response = Client().post(reverse("alerts:create"), valid_post(card))
    assert response.status_code == 302
    assert not Alert.objects.exists()


# --- The pause link ----------------------------------------------------------------


def pause_link_of(alert) -> str:
    return links.pause_url(alert).removeprefix("http://127.0.0.1:8000")


def test_opening_the_pause_link_only_asks(alert):
    # Mail scanners and link previews open every link of an email: a GET changes nothing.
    response = Client().get(pause_link_of(alert))
    assert response.status_code == 200
    assert b"Pause this alert?" in response.content
    assert b'<form method="post"' in response.content
    assert snapshot(alert)["active"] is True
    assert Client().head(pause_link_of(alert)).status_code == 200
    assert snapshot(alert)["active"] is True


def test_the_pause_button_pauses_without_logging_in(alert):
    client = Client(enforce_csrf_checks=True)
    page = client.get(pause_link_of(alert))
    response = client.post(
        pause_link_of(alert), {"csrfmiddlewaretoken": page.cookies["csrftoken"].value}
    )
    assert response.status_code == 200
    assert b"Alert paused" in response.content
    assert alert.get_absolute_url().encode() in response.content
    assert snapshot(alert)["active"] is False


def test_the_pause_button_needs_the_page_s_csrf_token(alert):
    response = Client(enforce_csrf_checks=True).post(pause_link_of(alert))
    assert response.status_code == 403
    assert snapshot(alert)["active"] is True


def test_pausing_twice_is_the_same_as_once(alert):
    url = reverse("alerts:pause_link", args=[links.pause_token(alert)])
    assert Client().post(url).status_code == 200
    assert client_for(alert.user).post(url).status_code == 200
    assert snapshot(alert)["active"] is False
    assert b"Alert paused" in Client().get(url).content


def test_a_pause_token_for_another_users_alert_is_404(alert, other, card):
    # Signed by us, but naming a user who does not own the alert.
    from django.core import signing

    token = signing.dumps({"alert": alert.pk, "user": other.pk}, salt=links.PAUSE_SALT)
    assert client_for(other).post(reverse("alerts:pause_link", args=[token])).status_code == 404
    # The other user's own alert's token does not pause this alert either.
    theirs = make_alert(other, card)
    client_for(other).post(reverse("alerts:pause_link", args=[links.pause_token(theirs)]))
    assert snapshot(alert)["active"] is True
    assert snapshot(theirs)["active"] is False


@pytest.mark.parametrize(
    "token",
    ["forged", "eyJhbGVydCI6MSwidXNlciI6MX0:1abcde:tampered"],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_forged_pause_token_is_404(token, method, alert):
    response = getattr(Client(), method)(reverse("alerts:pause_link", args=[token]))
    assert response.status_code == 404
    assert snapshot(alert)["active"] is True


def test_an_unsubscribe_token_does_not_pause(alert):
    token = links.unsubscribe_token(alert.user)
    assert Client().post(reverse("alerts:pause_link", args=[token])).status_code == 404


def test_the_pause_link_refuses_other_methods(alert):
    url = reverse("alerts:pause_link", args=[links.pause_token(alert)])
    assert Client().put(url).status_code == 405
    assert Client().delete(url).status_code == 405


# --- Unsubscribe ------------------------------------------------------------------


def test_unsubscribe_asks_first_then_turns_alert_emails_off(owner):
    url = reverse("alerts:unsubscribe", args=[links.unsubscribe_token(owner)])
    client = Client(enforce_csrf_checks=True)
    page = client.get(url)
    assert page.status_code == 200
    assert b"Unsubscribe from alert emails" in page.content
    assert EmailPreferences.for_user(owner).alert_emails is True
    token = page.cookies["csrftoken"].value
    response = client.post(url, {"csrfmiddlewaretoken": token})
    assert response.status_code == 200
    assert b"Unsubscribed" in response.content
    assert EmailPreferences.for_user(owner).alert_emails is False


def test_one_click_unsubscribe_needs_no_csrf_token(owner):
    # RFC 8058: the mail client POSTs this body, with no cookie or token of ours.
    url = reverse("alerts:unsubscribe", args=[links.unsubscribe_token(owner)])
    response = Client(enforce_csrf_checks=True).post(
        url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    preferences = EmailPreferences.for_user(owner)
    assert preferences.alert_emails is False
    assert preferences.daily_digest is False


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_bad_unsubscribe_token_is_404(method, owner, alert):
    url = reverse("alerts:unsubscribe", args=[links.pause_token(alert)])
    assert getattr(Client(), method)(url).status_code == 404
    assert getattr(Client(), method)(reverse("alerts:unsubscribe", args=["x"])).status_code == 404
    assert EmailPreferences.for_user(owner).alert_emails is True


def test_email_preferences_page_toggles_both_settings(owner):
    client = client_for(owner)
    page = client.get(reverse("alerts:email_preferences"))
    assert page.status_code == 200
    assert b"Email preferences" in page.content
    response = client.post(reverse("alerts:email_preferences"), {"daily_digest": "on"})
    assert response.status_code == 302
    preferences = EmailPreferences.for_user(owner)
    assert (preferences.alert_emails, preferences.daily_digest) == (False, True)


def test_the_account_nav_links_to_email_preferences(owner):
    page = client_for(owner).get(reverse("account_email"))
    assert reverse("alerts:email_preferences").encode() in page.content


# --- Creating from the card page ---------------------------------------------------


def test_the_card_page_links_each_price_to_an_alert_with_its_key(card, owner):
    price(card, 25000, key="PSA 10")
    page = client_for(owner).get(card.get_absolute_url())
    assert page.status_code == 200
    content = page.content.decode()
    assert "Create alert" in content
    assert f"{reverse('alerts:create')}?card={card.pk}&amp;price_key=PSA%2010" in content


def test_anonymous_visitors_see_log_in_to_set_an_alert(card):
    page = Client().get(card.get_absolute_url())
    assert "Log in to set an alert" in page.content.decode()
    assert f"{reverse('account_login')}?next=" in page.content.decode()


def test_the_create_form_preselects_the_price_key(card, owner):
    price(card, 25000, key="PSA 10")
    url = reverse("alerts:create") + f"?card={card.pk}&price_key=PSA%2010&from=card"
    response = client_for(owner).get(url)
    assert response.status_code == 200
    assert b'<option value="PSA 10" selected>' in response.content
    assert b"<html" in response.content


def test_an_unknown_price_key_in_the_link_falls_back_to_ungraded(card, owner):
    url = reverse("alerts:create") + f"?card={card.pk}&price_key=PSA%2011"
    response = client_for(owner).get(url)
    assert b'<option value="ungraded" selected>' in response.content
    assert b"PSA 11" not in response.content


def test_create_needs_a_real_card(owner):
    client = client_for(owner)
    assert client.get(reverse("alerts:create")).status_code == 404
    assert client.get(reverse("alerts:create") + "?card=abc").status_code == 404
    assert client.get(reverse("alerts:create") + "?card=999999").status_code == 404


def test_creating_an_alert_stores_cents_and_redirects_to_my_alerts(card, owner):
    response = client_for(owner).post(
        reverse("alerts:create"), valid_post(card, price_key="NM", source="ebay", threshold="12.5")
    )
    assert response.status_code == 302
    alert = Alert.objects.get()
    assert response["Location"] == alert.get_absolute_url()
    assert (alert.user, alert.card, alert.price_key, alert.source) == (owner, card, "NM", "ebay")
    assert (alert.threshold, alert.percent, alert.cooldown) == (1250, None, dt.timedelta(hours=24))


def test_creating_a_move_alert(card, owner):
    response = client_for(owner).post(
        reverse("alerts:create"),
        valid_post(card, kind="move", threshold="", percent="12.5", window="7d"),
    )
    assert response.status_code == 302
    alert = Alert.objects.get()
    assert (alert.kind, alert.percent, alert.window, alert.threshold) == (
        "move",
        Decimal("12.5"),
        "7d",
        None,
    )


def test_creating_from_the_card_page_with_htmx_answers_a_confirmation(card, owner):
    response = client_for(owner).post(
        reverse("alerts:create"), valid_post(card, **{"from": "card"}), **HTMX
    )
    assert response.status_code == 200
    assert b"Alert created" in response.content
    assert b"<html" not in response.content


def test_creating_from_my_alerts_with_htmx_answers_the_list(card, owner, alert):
    response = client_for(owner).post(
        reverse("alerts:create"), valid_post(card, threshold="12.00", **{"from": "list"}), **HTMX
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#alert-list"
    assert response.content.count(b'class="alert-item ') == 2
    assert b'hx-swap-oob="true">2 of' in response.content


# --- Validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"threshold": ""},
            "threshold",
            "Price line: enter a price for “falls to or below” alerts.",
        ),
        ({"threshold": "-5"}, "threshold", "Price line: enter an amount above $0."),
        ({"threshold": "0"}, "threshold", "Price line: enter an amount above $0."),
        ({"threshold": "abc"}, "threshold", "Price line: enter an amount in dollars, e.g. 12.50."),
        (
            {"kind": "move", "threshold": ""},
            "percent",
            "Change: enter a percentage for “moves by” alerts.",
        ),
        ({"kind": "move", "percent": "-3"}, "percent", "Change: enter a percentage above 0."),
        ({"kind": "move", "percent": "1000.5"}, "percent", "Change: at most 1000%."),
        ({"price_key": "PSA 11"}, "price_key", "Condition or grade: Select a valid choice."),
        ({"kind": "sideways"}, "kind", "Alert me when the price: Select a valid choice."),
    ],
)
def test_invalid_alerts_are_refused_with_a_message_naming_the_field(
    overrides, field, message, card, owner
):
    response = client_for(owner).post(reverse("alerts:create"), valid_post(card, **overrides))
    assert response.status_code == 422
    assert message in response.context["form"].errors[field][0]
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not Alert.objects.exists()


def test_an_invalid_htmx_form_is_a_422_partial(card, owner):
    response = client_for(owner).post(
        reverse("alerts:create"), valid_post(card, threshold=""), **HTMX
    )
    assert response.status_code == 422
    assert b"<html" not in response.content
    assert b'id="alert-create"' in response.content


def test_an_invalid_edit_keeps_the_alert(alert, owner):
    response = client_for(owner).post(
        reverse("alerts:edit", args=[alert.pk]), edit_post(threshold="-1"), **HTMX
    )
    assert response.status_code == 422
    assert f'id="alert-{alert.pk}"'.encode() in response.content
    assert snapshot(alert)["threshold"] == 1000


# --- The active-alert limit --------------------------------------------------------

LIMIT_MESSAGE = "You have 2 active alerts, the most allowed. Pause or delete one first."


def test_creating_past_the_limit_is_refused(settings, card, owner):
    settings.ALERTS_MAX_ACTIVE_PER_USER = 2
    make_alert(owner, card)
    make_alert(owner, card)
    response = client_for(owner).post(reverse("alerts:create"), valid_post(card))
    assert response.status_code == 422
    assert LIMIT_MESSAGE in response.content.decode()
    assert Alert.objects.count() == 2


def test_paused_alerts_do_not_count_towards_the_limit(settings, card, owner, other):
    settings.ALERTS_MAX_ACTIVE_PER_USER = 2
    make_alert(owner, card)
    make_alert(owner, card, active=False)
    make_alert(other, card)
    make_alert(other, card)
    response = client_for(owner).post(reverse("alerts:create"), valid_post(card, threshold="12.00"))
    assert response.status_code == 302


def test_resuming_past_the_limit_is_refused(settings, card, owner):
    settings.ALERTS_MAX_ACTIVE_PER_USER = 2
    make_alert(owner, card)
    make_alert(owner, card)
    paused = make_alert(owner, card, active=False)
    client = client_for(owner)
    response = client.post(reverse("alerts:resume", args=[paused.pk]), **HTMX)
    assert response.status_code == 422
    assert LIMIT_MESSAGE in response.content.decode()
    assert snapshot(paused)["active"] is False
    response = client.post(reverse("alerts:resume", args=[paused.pk]), follow=True)
    assert LIMIT_MESSAGE in response.content.decode()
    assert snapshot(paused)["active"] is False


def test_editing_an_active_alert_at_the_limit_is_allowed(settings, card, owner):
    settings.ALERTS_MAX_ACTIVE_PER_USER = 1
    alert = make_alert(owner, card)
    response = client_for(owner).post(reverse("alerts:edit", args=[alert.pk]), edit_post())
    assert response.status_code == 302


# --- htmx partials and full pages --------------------------------------------------


def test_htmx_gets_partials_and_everything_else_full_pages(alert, owner):
    client = client_for(owner)
    for url in [reverse("alerts:edit", args=[alert.pk]), reverse("alerts:list")]:
        full = client.get(url)
        partial = client.get(url, **HTMX)
        boosted = client.get(url, HTTP_HX_BOOSTED="true", **HTMX)
        assert b"<html" in full.content
        assert b"<html" not in partial.content
        assert b"<html" in boosted.content
    # Without htmx, the row URL is My alerts at the row's anchor.
    response = client.get(reverse("alerts:detail", args=[alert.pk]))
    assert response.status_code == 302
    assert response["Location"] == alert.get_absolute_url()


def test_pausing_with_htmx_answers_the_row_and_the_count(alert, owner):
    response = client_for(owner).post(reverse("alerts:pause", args=[alert.pk]), **HTMX)
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert f'id="alert-{alert.pk}"' in content
    assert "Paused" in content and "Resume" in content
    assert '<span id="active-count" hx-swap-oob="true">0 of 50</span>' in content


def test_deleting_with_htmx_answers_only_the_count(alert, owner):
    response = client_for(owner).post(reverse("alerts:delete", args=[alert.pk]), **HTMX)
    assert response.status_code == 200
    assert response.content.decode().strip() == (
        '<span id="active-count" hx-swap-oob="true">0 of 50</span>'
    )


# --- The list --------------------------------------------------------------------


def test_the_list_shows_price_distance_status_and_history(card, owner):
    below = make_alert(owner, card, threshold=1000)
    above = make_alert(owner, card, kind=Alert.Kind.ABOVE, threshold=1500, armed=False)
    paused = make_alert(owner, card, kind=Alert.Kind.MOVE, percent=10, active=False)
    AlertEvent.objects.create(
        alert=above,
        source="pricecharting",
        price=1600,
        observed_at=timezone.now(),
        email_status=AlertEvent.EmailStatus.SENT,
    )
    response = client_for(owner).get(reverse("alerts:list"))
    content = response.content.decode()
    rows = {row.alert.pk: row for row in response.context["rows"]}
    assert rows[below.pk].distance == "$3.20 above your line (24.2% of the price)"
    assert rows[above.pk].distance == "$1.80 below your line (13.6% of the price)"
    assert rows[paused.pk].distance == "Not enough history for 24 hours"
    assert [r.status[1] for r in (rows[below.pk], rows[above.pk], rows[paused.pk])] == [
        "Active",
        "Triggered — waiting to re-arm",
        "Paused",
    ]
    assert "$13.20" in content
    assert "Trigger history" in content
    assert "$16.00" in content and "Email: Sent<" in content
    assert "2 of 50" in content


def test_any_source_reads_the_price_the_evaluation_would(card, owner):
    price(card, 1100, source="ebay")
    below = make_alert(owner, card, threshold=1000)
    above = make_alert(owner, card, kind=Alert.Kind.ABOVE, threshold=1500)
    response = client_for(owner).get(reverse("alerts:list"))
    rows = {row.alert.pk: row for row in response.context["rows"]}
    assert (rows[below.pk].reading.source, rows[below.pk].reading.price) == ("ebay", 1100)
    assert (rows[above.pk].reading.source, rows[above.pk].reading.price) == ("pricecharting", 1320)


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("alerts:list")).status_code == 200
    return len(queries)


def test_the_list_query_count_does_not_grow_with_alerts(owner):
    client = client_for(owner)

    def add(n):
        for i in range(n):
            card = make_card()
            price(card, 1000 + i)
            price(card, 2000 + i, key="PSA 10", source="ebay")
            a = make_alert(owner, card, price_key="PSA 10" if i % 2 else "ungraded")
            channel = Channel.objects.create(
                user=owner, kind=Channel.Kind.DISCORD, name=f"Server {i}", url="https://x.test/1"
            )
            a.channels.add(channel)
            for _ in range(3):
                event = AlertEvent.objects.create(
                    alert=a, source="ebay", price=2000, observed_at=timezone.now()
                )
                Delivery.objects.create(event=event, channel=channel)

    add(2)
    with_two = _list_queries(client)
    add(18)
    with_twenty = _list_queries(client)
    assert with_two == with_twenty
    # The session and its user, the alerts, their channels, the prices, the latest
    # triggers and where each was delivered.
    assert with_two <= 8


def test_unsubscribing_stops_the_daily_digest_too(client):
    from alerts.links import unsubscribe_token
    from alerts.models import EmailPreferences

    user = make_user()
    EmailPreferences.objects.create(user=user, alert_emails=True, daily_digest=True)
    client.post(f"/alerts/unsubscribe/{unsubscribe_token(user)}/")
    preferences = EmailPreferences.objects.get(user=user)
    assert (preferences.alert_emails, preferences.daily_digest) == (False, False)
