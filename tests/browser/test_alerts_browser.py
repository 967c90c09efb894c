import datetime as dt

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from alerts.models import Alert
from prices.writing import Observation, record_observations
from tests.factories import make_card, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, user):
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )


def test_create_an_alert_from_a_card_page_see_it_listed_and_pause_it(page, live_server):
    user = make_user()
    card = make_card(name="Charizard")
    observed = timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)
    record_observations(
        [
            Observation(
                card_id=card.pk,
                source="pricecharting",
                price_key=key,
                market=cents,
                observed_at=observed,
            )
            for key, cents in [("ungraded", 4200), ("PSA 10", 31000)]
        ]
    )
    log_in(page, live_server, user)

    page.goto(card.get_absolute_url())
    page.get_by_role("link", name="Create an alert on PSA 10").click()
    expect(page.get_by_label("Condition or grade")).to_have_value("PSA 10")
    page.get_by_label("Alert me when the price").select_option("below")
    page.get_by_label("Price line ($)").fill("250")
    # The form says what the alert will do, as it is filled in.
    expect(page.locator(".alert-preview")).to_contain_text(
        "Email when PSA 10 at any source falls to $250.00 or below"
    )
    page.get_by_label("Source").select_option("pricecharting")
    expect(page.locator(".alert-preview")).to_contain_text(
        "Email when PSA 10 at PriceCharting falls to $250.00 or below"
    )
    page.get_by_role("button", name="Create alert").click()
    expect(page.get_by_text("Alert created.")).to_be_visible()

    alert = Alert.objects.get()
    assert (alert.user, alert.card, alert.price_key, alert.threshold) == (
        user,
        card,
        "PSA 10",
        25000,
    )

    page.get_by_role("link", name="See it in My alerts").click()
    expect(page).to_have_title(f"My alerts · {settings.SITE_NAME}")
    row = page.locator(f"#alert-{alert.pk}")
    expect(row).to_contain_text("Charizard")
    expect(row).to_contain_text("Email when PSA 10 at PriceCharting falls to $250.00 or below")
    expect(row).to_contain_text("$310.00")
    expect(row).to_contain_text("$60.00 above your line")
    expect(row.locator(".alert-status")).to_have_text("Active")

    row.get_by_role("button", name="Pause").click()
    expect(row.locator(".alert-status")).to_have_text("Paused")
    expect(row.get_by_role("button", name="Resume")).to_be_visible()
    expect(page.locator("#active-count")).to_have_text("0 of 50")
    alert.refresh_from_db()
    assert alert.active is False
    assert page.console_errors == []


def test_an_invalid_alert_shows_its_errors_in_place(page, live_server):
    user = make_user()
    card = make_card(name="Pikachu")
    log_in(page, live_server, user)

    page.goto(card.get_absolute_url())
    page.get_by_role("link", name="Create alert").click()
    page.get_by_role("button", name="Create alert").click()
    expect(
        page.get_by_text("Price line: enter a price for “falls to or below” alerts.")
    ).to_be_visible()
    assert page.url.endswith(card.get_absolute_url())
    assert not Alert.objects.exists()
    # Chromium logs every 4xx response as "Failed to load resource"; the 422 is the
    # intended answer to an invalid form, so only other errors count.
    errors = [e for e in page.console_errors if "status of 422" not in e]
    assert errors == []
