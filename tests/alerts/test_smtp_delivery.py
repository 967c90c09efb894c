"""The whole path to a real SMTP server on loopback: price write, evaluation, queue, SMTP."""

import datetime as dt
import email
import email.policy
import socket

import pytest
import time_machine
from aiosmtpd.controller import Controller

from alerts.evaluation import evaluate_cards
from alerts.links import unsubscribe_url
from alerts.models import Alert, AlertEvent
from prices.writing import Observation, record_observations
from tests.factories import make_card, make_set, make_user

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)


class Collector:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = controller.hostname
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    try:
        yield collector
    finally:
        controller.stop()


def test_a_triggered_alert_is_delivered_over_smtp_with_both_bodies(
    smtp_server, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://tcg.example"
    settings.DEFAULT_FROM_EMAIL = "TCG Price Tracker <alerts@tcg.example>"
    user = make_user(email="brock@example.com")
    card = make_card(
        name="Charizard", number="4", card_set=make_set(name="Base Set", printed_total=102)
    )
    alert = Alert.objects.create(user=user, card=card, kind=Alert.Kind.BELOW, threshold=1000)

    with time_machine.travel(NOW, tick=False):
        day = NOW.replace(hour=0)
        # The price write evaluates the card's alerts and queues the email on commit.
        with django_capture_on_commit_callbacks(execute=True):
            record_observations(
                [
                    Observation(card.pk, "demo", "ungraded", 1200, day - dt.timedelta(days=1)),
                    Observation(card.pk, "demo", "ungraded", 900, day),
                ]
            )
        evaluate_cards([card.pk])  # the sweep finds nothing new to send
        unsubscribe = unsubscribe_url(user)  # signed links carry the time they were made

    [event] = alert.events.all()
    assert event.email_status == AlertEvent.EmailStatus.SENT
    [envelope] = smtp_server.envelopes
    assert envelope.mail_from == "alerts@tcg.example"
    assert envelope.rcpt_tos == ["brock@example.com"]

    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert message["From"] == "TCG Price Tracker <alerts@tcg.example>"
    assert message["To"] == "brock@example.com"
    assert message["Subject"] == "Price alert: Charizard is now $9.00 (simulated)"
    # A long header is folded after its colon; unfolded, the URL is whole.
    assert message["List-Unsubscribe"].strip() == f"<{unsubscribe}>"
    assert unsubscribe.startswith("https://tcg.example/alerts/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    text_part, html_part = message.iter_parts()
    assert text_part.get_content_type() == "text/plain"
    assert html_part.get_content_type() == "text/html"
    text, html = text_part.get_content(), html_part.get_content()
    for body in (text, html):
        assert "Charizard" in body
        assert "Base Set" in body
        assert "$9.00" in body
        assert "$12.00" in body
        assert "simulated" in body
        assert "https://tcg.example" + card.get_absolute_url() in body
        assert "https://tcg.example/alerts/pause/" in body
        assert unsubscribe in body
    assert '<a href="https://tcg.example/alerts/pause/' in html
