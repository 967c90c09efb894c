"""The API keys page in a browser: create a key (htmx), use it, revoke it."""

import pytest
import requests
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from api.models import ApiKey
from tests.factories import make_user

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


def test_create_a_key_use_it_and_revoke_it(page, live_server):
    user = make_user()
    log_in(page, live_server, user)

    page.goto("/accounts/email/")
    page.get_by_role("link", name="API keys").click()
    expect(page).to_have_title(f"API keys · {settings.SITE_NAME}")
    expect(page.get_by_text("No keys yet.")).to_be_visible()

    page.get_by_label("Name").fill("Price spreadsheet")
    page.get_by_role("button", name="Create key").click()

    secret_box = page.get_by_label("The new API key")
    expect(secret_box).to_be_visible()
    secret = secret_box.input_value()
    key = ApiKey.objects.get(user=user)
    expect(page.locator(f"#api-key-{key.pk}")).to_contain_text("Price spreadsheet")
    expect(page.locator(f"#api-key-{key.pk}")).to_contain_text(key.prefix)

    api = f"{live_server.url}/api/v1/sets"
    used = requests.get(api, headers={"X-API-Key": secret}, timeout=10)
    assert used.status_code == 200
    assert used.headers["X-RateLimit-Remaining"] == str(settings.API_RATE_LIMIT_PER_HOUR - 1)

    page.reload()
    expect(secret_box).to_have_count(0)  # shown once
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#api-key-{key.pk}").get_by_role("button", name="Revoke").click()
    expect(page.locator(f"#api-key-{key.pk}")).to_contain_text("Revoked")

    refused = requests.get(api, headers={"X-API-Key": secret}, timeout=10)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "API_KEY_REVOKED"
    assert page.console_errors == []
