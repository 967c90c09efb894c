import pytest
from django.core import mail

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
