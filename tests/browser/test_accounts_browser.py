import re

import pytest
from django.core import mail
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long and unusual passphrase"


def test_sign_up_verify_email_then_log_in(page, mailoutbox):
    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill("collector@example.com")
    page.get_by_label("Password", exact=False).first.fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["collector@example.com"]
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", message.body)
    assert link, message.body
    page.goto(link.group(1))
    page.get_by_role("button", name="Confirm").click()

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("collector@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert page.console_errors == []


def test_logging_in_before_verifying_is_refused(page, mailoutbox):
    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill("early@example.com")
    page.get_by_label("Password", exact=False).first.fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("early@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
