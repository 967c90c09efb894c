import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core import mail
from django.test import Client, override_settings

from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url", ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]
)
def test_account_pages_use_the_site_layout(client, url):
    html = client.get(url).content.decode()
    assert 'class="site-header"' in html
    assert 'class="auth-card"' in html


@pytest.mark.parametrize("url", ["/accounts/email/", "/accounts/password/change/"])
def test_account_management_pages_need_login_and_use_the_layout(client, url):
    assert client.get(url).status_code == 302
    client.force_login(make_user())
    html = client.get(url).content.decode()
    assert 'class="account-nav"' in html


def test_sign_up_sends_a_verification_email_and_does_not_log_in(client):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "new@example.com",
            "password1": "x-long-passphrase",
            "password2": "x-long-passphrase",
        },
    )
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "confirm-email" in mail.outbox[0].body
    assert "_auth_user_id" not in client.session


def test_password_reset_mails_a_link(client):
    make_user(email="forgetful@example.com")
    client.post("/accounts/password/reset/", {"email": "forgetful@example.com"})
    assert len(mail.outbox) == 1
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


def test_changing_email_sends_a_verification_to_the_new_address(client):
    user = make_user(email="old@example.com")
    client.force_login(user)
    response = client.post(
        "/accounts/email/", {"action_add": "", "email": "new@example.com"}, follow=True
    )
    assert response.status_code == 200
    assert [message.to for message in mail.outbox] == [["new@example.com"]]


class CountingHasher(MD5PasswordHasher):
    """The test hasher, counting the hashes it computes: the costly step of a sign-up."""

    hashes = 0

    def encode(self, password, salt):
        CountingHasher.hashes += 1
        return super().encode(password, salt)


def hashes_for_signup(client, email: str) -> int:
    CountingHasher.hashes = 0
    mail.outbox.clear()
    response = client.post(
        "/accounts/signup/",
        {"email": email, "password1": "x-long-passphrase", "password2": "x-long-passphrase"},
    )
    assert response.status_code == 302
    assert len(mail.outbox) == 1  # a confirmation, or "you already have an account"
    return CountingHasher.hashes


@override_settings(PASSWORD_HASHERS=["tests.test_accounts.CountingHasher"])
def test_signing_up_with_a_known_email_does_the_same_costly_work_as_a_new_one(client):
    """Enumeration by timing: a known address must not answer faster than a new one."""
    make_user(email="known@example.com")
    new = hashes_for_signup(client, "new@example.com")
    known = hashes_for_signup(Client(), "known@example.com")
    assert new == known == 1
    assert "already" in mail.outbox[0].body
