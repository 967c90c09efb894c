import datetime as dt
import re
import socket

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from alerts.evaluation import evaluate_cards
from alerts.links import read_pause_token, read_unsubscribe_token
from alerts.models import Alert, AlertEvent, EmailPreferences
from alerts.tasks import retry_alert_emails, send_alert_email, send_daily_digests
from prices.writing import Observation, record_observations
from tests.factories import make_card, make_set, make_user

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
SITE_URL = "https://tcg.example"
Status = AlertEvent.EmailStatus


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE_URL
    settings.ALERT_EMAIL_MAX_ATTEMPTS = 5


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def smtp_down(settings):
    """Real delivery failures: the SMTP backend pointed at a loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 2
    return settings


def smtp_back_up(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def charizard():
    return make_card(
        name="Charizard", number="4", card_set=make_set(name="Base Set", printed_total=102)
    )


def make_event(*, source="demo", price=900, previous=1200, change=-25.0, user=None, **fields):
    """An alert that fired at NOW: below $10.00 on Charizard, seen at 900 cents."""
    alert = Alert.objects.create(
        user=user or make_user(),
        card=fields.pop("card", None) or charizard(),
        kind=Alert.Kind.BELOW,
        threshold=1000,
    )
    fields.setdefault("triggered_at", NOW)
    return AlertEvent.objects.create(
        alert=alert,
        source=source,
        price=price,
        previous_price=previous,
        change=change,
        threshold=1000,
        observed_at=NOW.replace(hour=0),
        **fields,
    )


def html_of(message):
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


def links(body, prefix):
    return re.findall(re.escape(SITE_URL + prefix) + r"[^\s\"<]+", body)


def test_the_alert_email_names_the_card_price_rule_and_links(clock):
    event = make_event(user=make_user(email="ash@example.com"))

    assert send_alert_email(event.pk) == Status.SENT

    [message] = mail.outbox
    assert message.to == ["ash@example.com"]
    assert message.subject == "Price alert: Charizard is now $9.00 (simulated)"
    for body in (message.body, html_of(message)):
        for text in (
            "Charizard",
            "Base Set",
            "4/102",
            "Ungraded",
            "$9.00",
            "$12.00",
            "−25.0%",
            "−$3.00",
            "alls to or below $10.00",
            "Demo (simulated)",
            "from the demo source, not from a real market",
            "1 Nov 2026, 12:00",
            SITE_URL + event.alert.card.get_absolute_url(),
            SITE_URL + reverse("alerts:list"),
            SITE_URL + reverse("alerts:email_preferences"),
        ):
            assert text in body, text
        [pause] = set(links(body, "/alerts/pause/"))
        assert read_pause_token(pause.rsplit("/", 2)[1]) == {
            "alert": event.alert.pk,
            "user": event.alert.user_id,
        }
        [unsubscribe] = set(links(body, "/alerts/unsubscribe/"))
        assert read_unsubscribe_token(unsubscribe.rsplit("/", 2)[1]) == {
            "user": event.alert.user_id
        }
    assert '<a href="' + SITE_URL in html_of(message)
    assert message.extra_headers["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    event.refresh_from_db()
    assert (event.email_status, event.email_attempts, event.email_sent_at) == (
        Status.SENT,
        1,
        NOW,
    )
    assert event.email_error == ""


def test_an_ebay_price_is_called_an_ask_and_a_real_price_is_not_simulated(clock):
    event = make_event(source="ebay")

    send_alert_email(event.pk)

    [message] = mail.outbox
    assert message.subject == "Price alert: Charizard is now $9.00 (eBay ask)"
    for body in (message.body, html_of(message)):
        assert "eBay asks" in body
        assert "asking prices" in body
        assert "simulated" not in body


def test_a_card_name_is_not_html_escaped_in_the_text_parts(clock):
    event = make_event(card=make_card(name="Pikachu & Friends"))

    send_alert_email(event.pk)

    [message] = mail.outbox
    assert "Pikachu & Friends" in message.subject
    assert "Pikachu & Friends" in message.body
    assert "Pikachu &amp; Friends" in html_of(message)


def test_it_sends_exactly_once_when_the_task_runs_twice(clock):
    event = make_event()

    assert send_alert_email(event.pk) == Status.SENT
    assert send_alert_email(event.pk) is None
    retry_alert_emails()

    assert len(mail.outbox) == 1
    event.refresh_from_db()
    assert event.email_attempts == 1


def test_it_returns_quietly_when_the_event_is_gone():
    assert send_alert_email(987654) is None
    assert mail.outbox == []


def test_it_skips_the_email_when_alert_emails_are_off(clock):
    user = make_user()
    preferences = EmailPreferences.for_user(user)
    preferences.alert_emails = False
    preferences.save()
    event = make_event(user=user)

    assert send_alert_email(event.pk) == Status.SKIPPED

    assert mail.outbox == []
    event.refresh_from_db()
    assert (event.email_status, event.email_attempts) == (Status.SKIPPED, 0)
    assert send_alert_email(event.pk) is None


def test_it_skips_a_user_without_an_email_address(clock):
    user = make_user()
    user.email = ""
    user.save()
    event = make_event(user=user)

    assert send_alert_email(event.pk) == Status.SKIPPED
    assert mail.outbox == []


def test_a_failed_delivery_is_recorded_and_retried_with_backoff(clock, smtp_down):
    event = make_event()

    assert send_alert_email(event.pk) == Status.RETRYING

    event.refresh_from_db()
    assert event.email_status == Status.RETRYING
    assert event.email_attempts == 1
    assert event.next_attempt_at == NOW + dt.timedelta(minutes=1)
    assert "ConnectionRefusedError" in event.email_error
    assert event.email_sent_at is None

    retry_alert_emails()  # not due yet
    event.refresh_from_db()
    assert event.email_attempts == 1

    clock.shift(dt.timedelta(minutes=1))
    assert retry_alert_emails()["retrying"] == 1
    event.refresh_from_db()
    assert event.email_attempts == 2
    assert event.next_attempt_at == NOW + dt.timedelta(minutes=1 + 5)

    smtp_back_up(smtp_down)
    clock.shift(dt.timedelta(minutes=4))
    retry_alert_emails()
    assert mail.outbox == []  # still not due
    clock.shift(dt.timedelta(minutes=1))
    assert retry_alert_emails()["sent"] == 1

    [message] = mail.outbox
    assert "Charizard" in message.subject
    event.refresh_from_db()
    assert event.email_status == Status.SENT
    assert event.email_attempts == 3
    assert event.email_sent_at == NOW + dt.timedelta(minutes=6)
    assert event.next_attempt_at is None


def test_it_gives_up_after_the_last_attempt(clock, smtp_down):
    smtp_down.ALERT_EMAIL_MAX_ATTEMPTS = 3
    event = make_event()

    send_alert_email(event.pk)
    for _ in range(4):
        clock.shift(dt.timedelta(hours=3))
        retry_alert_emails()

    event.refresh_from_db()
    assert event.email_status == Status.FAILED
    assert event.email_attempts == 3
    assert event.email_error.startswith("Attempt 3: ConnectionRefusedError")
    assert event.next_attempt_at is None
    smtp_back_up(smtp_down)
    retry_alert_emails()
    assert send_alert_email(event.pk) is None
    assert mail.outbox == []


def test_a_lost_task_is_requeued_once_it_has_waited_ten_minutes(clock):
    lost = make_event(triggered_at=NOW - dt.timedelta(minutes=11))
    recent = make_event(triggered_at=NOW - dt.timedelta(minutes=5))

    counts = retry_alert_emails()

    assert counts["requeued"] == 1
    lost.refresh_from_db()
    recent.refresh_from_db()
    assert lost.email_status == Status.SENT  # the re-queued task ran inline (sync mode)
    assert recent.email_status == Status.QUEUED
    assert len(mail.outbox) == 1


def test_an_event_left_sending_by_a_dead_worker_is_retried(clock):
    stuck = make_event(
        email_status=Status.SENDING,
        email_attempts=1,
        next_attempt_at=NOW - dt.timedelta(seconds=1),  # claimed 30 minutes ago
    )
    busy = make_event(
        email_status=Status.SENDING,
        email_attempts=1,
        next_attempt_at=NOW + dt.timedelta(minutes=29),
    )

    retry_alert_emails()
    retry_alert_emails()

    stuck.refresh_from_db()
    busy.refresh_from_db()
    assert (stuck.email_status, stuck.email_attempts) == (Status.SENT, 2)
    assert busy.email_status == Status.SENDING
    assert len(mail.outbox) == 1


def test_a_triggered_alert_sends_its_email_through_the_queue(
    clock, django_capture_on_commit_callbacks
):
    card = charizard()
    alert = Alert.objects.create(user=make_user(), card=card, threshold=1000)
    # Writing the price evaluates the card's alerts; the email is queued on commit.
    with django_capture_on_commit_callbacks(execute=True):
        record_observations(
            [
                Observation(
                    card_id=card.pk,
                    source="pricecharting",
                    price_key="ungraded",
                    market=950,
                    observed_at=NOW.replace(hour=0),
                )
            ]
        )
    evaluate_cards([card.pk])  # the sweep finds nothing new to send

    [event] = alert.events.all()
    assert event.email_status == Status.SENT
    [message] = mail.outbox
    assert message.subject == "Price alert: Charizard is now $9.50"
    assert "simulated" not in message.body


# Daily digest


def price_history(card, today, yesterday, *, source="demo", key="ungraded"):
    day = NOW.replace(hour=0)
    record_observations(
        [
            Observation(
                card_id=card.pk, source=source, price_key=key, market=cents, observed_at=when
            )
            for cents, when in ((yesterday, day - dt.timedelta(days=1)), (today, day))
        ]
    )


def digest_user(**fields):
    user = make_user(**fields)
    preferences = EmailPreferences.for_user(user)
    preferences.daily_digest = True
    preferences.save()
    return user


def test_the_digest_lists_the_days_alerts_and_biggest_moves_once_a_day(clock):
    user = digest_user(email="misty@example.com")
    fired = make_event(user=user)
    make_event(
        user=user, card=make_card(name="Old Blastoise"), triggered_at=NOW - dt.timedelta(days=2)
    )
    mover = make_card(name="Gengar")
    Alert.objects.create(user=user, card=mover, kind=Alert.Kind.ABOVE, threshold=99999)
    price_history(mover, today=1500, yesterday=1000)
    calm = make_card(name="Snorlax")
    Alert.objects.create(user=user, card=calm, kind=Alert.Kind.ABOVE, threshold=99999)
    price_history(calm, today=1000, yesterday=1000)
    stranger = make_card(name="Mewtwo")  # moved, but not one of this user's cards
    price_history(stranger, today=5000, yesterday=1000)

    assert send_daily_digests() == {"sent": 1, "empty": 0, "failed": 0}

    [message] = mail.outbox
    assert message.to == ["misty@example.com"]
    assert message.subject == ("Your TCG Price Tracker digest for 1 Nov 2026: 1 alert, 1 move")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    for body in (message.body, html_of(message)):
        assert "Charizard" in body
        assert "alls to or below $10.00" in body
        assert "Gengar" in body
        assert "+50.0%" in body
        assert "$10.00 → $15.00" in body
        assert "simulated" in body
        assert SITE_URL + fired.alert.card.get_absolute_url() in body
        assert SITE_URL + mover.get_absolute_url() in body
        assert SITE_URL + "/alerts/unsubscribe/" in body
        for absent in ("Old Blastoise", "Snorlax", "Mewtwo"):
            assert absent not in body

    assert send_daily_digests()["sent"] == 0
    assert len(mail.outbox) == 1
    assert EmailPreferences.for_user(user).last_digest_on == dt.date(2026, 11, 1)


def test_the_digest_is_skipped_when_there_is_nothing_to_report_but_the_day_is_marked(clock):
    quiet = digest_user()
    not_asked = make_user()
    make_event(user=not_asked)

    assert send_daily_digests() == {"sent": 0, "empty": 1, "failed": 0}

    assert mail.outbox == []
    assert EmailPreferences.for_user(quiet).last_digest_on == dt.date(2026, 11, 1)
    assert EmailPreferences.for_user(not_asked).last_digest_on is None


def test_the_next_day_brings_a_new_digest(clock):
    user = digest_user()
    make_event(user=user)
    send_daily_digests()

    clock.shift(dt.timedelta(hours=20))
    make_event(
        user=user, card=make_card(name="Venusaur"), triggered_at=NOW + dt.timedelta(hours=20)
    )
    send_daily_digests()

    assert len(mail.outbox) == 2
    assert "Venusaur" in mail.outbox[1].body
    assert "Charizard" in mail.outbox[1].body  # fired within the last 24 hours


def test_a_digest_that_could_not_be_delivered_can_be_sent_by_a_later_run(clock, smtp_down):
    user = digest_user()
    make_event(user=user)

    assert send_daily_digests()["failed"] == 1
    assert EmailPreferences.for_user(user).last_digest_on is None

    smtp_back_up(smtp_down)
    assert send_daily_digests()["sent"] == 1
    assert len(mail.outbox) == 1
