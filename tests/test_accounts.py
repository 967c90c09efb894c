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


# --- Staff: superusers log in on the site's own login page ----------------------------


def test_a_superuser_made_with_createsuperuser_logs_in_on_the_login_page(client, monkeypatch):
    from django.core.management import call_command

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-staff-passphrase")
    call_command("createsuperuser", username="admin", email="Ops@Example.com", interactive=False)

    response = client.post(
        "/accounts/login/", {"login": "ops@example.com", "password": "a-long-staff-passphrase"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert "_auth_user_id" in client.session
    assert mail.outbox == []  # no confirmation link asked for
    assert client.get("/admin/").status_code == 200


def test_a_superuser_made_before_the_fix_is_verified_at_their_next_login(client):
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("old", "old-root@example.com", "x-long-passphrase")
    get_user_model().objects.filter(pk=user.pk).update(is_superuser=True, is_staff=True)

    wrong = client.post("/accounts/login/", {"login": "old-root@example.com", "password": "not-it"})
    assert wrong.status_code == 200 and "_auth_user_id" not in client.session
    assert not EmailAddress.objects.exists()  # a wrong password verifies nothing
    response = client.post(
        "/accounts/login/", {"login": "old-root@example.com", "password": "x-long-passphrase"}
    )

    assert response["Location"] == "/"
    assert "_auth_user_id" in client.session
    assert mail.outbox == []


def test_promoting_an_unverified_account_to_superuser_verifies_its_address():
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("late", "late@example.com", "x-long-passphrase")
    EmailAddress.objects.create(user=user, email="late@example.com", verified=False, primary=True)

    user.is_superuser = user.is_staff = True
    user.save()

    address = EmailAddress.objects.get(user=user)
    assert (address.email, address.verified, address.primary) == ("late@example.com", True, True)


def test_a_superuser_never_takes_an_address_another_account_holds():
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    owner = make_user(email="shared@example.com")
    get_user_model().objects.create_superuser("root", "shared@example.com", "x-long-passphrase")

    assert list(EmailAddress.objects.values_list("user", flat=True)) == [owner.pk]


def test_ordinary_accounts_still_need_their_address_confirmed():
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("plain", "plain@example.com", "x-long-passphrase")
    get_user_model().objects.create_user("staff", "staff@example.com", "x", is_staff=True)

    assert not EmailAddress.objects.exists()


# --- One wording: Log in, Log out, Sign up --------------------------------------------


def visible_text(html: str) -> str:
    import re

    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def assert_one_wording(html: str):
    import re

    text = visible_text(html)
    assert not re.search(r"sign[ -]?in|sign[ -]?out|signed (in|out)", text, re.I), text
    assert not re.search(r"Sign Up|Signup", text), text


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("/accounts/login/", ["Log in", "sign up"]),
        ("/accounts/signup/", ["Sign up", "log in"]),
        ("/accounts/password/reset/", []),
        ("/accounts/password/reset/done/", []),
        ("/accounts/confirm-email/", []),
    ],
)
def test_account_pages_say_log_in_and_sign_up(client, url, words):
    html = client.get(url).content.decode()
    assert_one_wording(html)
    for word in words:
        assert word in visible_text(html)


def test_signed_in_pages_and_messages_say_log_in_and_log_out(client):
    user = make_user(email="ash@example.com")
    response = client.post(
        "/accounts/login/",
        {"login": "ash@example.com", "password": "correct horse battery staple"},
        follow=True,
    )
    assert "Logged in as ash@example.com." in visible_text(response.content.decode())
    assert user.username not in visible_text(response.content.decode())
    for url in ["/accounts/logout/", "/accounts/email/", "/accounts/password/change/"]:
        html = client.get(url).content.decode()
        assert_one_wording(html)
    assert "Log out" in visible_text(client.get("/accounts/logout/").content.decode())
    response = client.post("/accounts/logout/", follow=True)
    assert "You have logged out." in visible_text(response.content.decode())


# --- Account emails in our words -----------------------------------------------------------


def only_email():
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    [(html, kind)] = message.alternatives
    assert kind == "text/html"
    return message, html


def assert_friendly(message, html, user=None):
    for part in (message.subject, message.body, html):
        assert "Hello from" not in part
        assert "Thank you for using" not in part
        assert not any(line.strip() == "testserver" for line in part.splitlines())
        if user is not None:  # the username the site made up, but the address is fine
            assert user.username not in part.replace(user.email, "")


def test_the_sign_up_email_welcomes_by_address_with_no_host_greeting_or_username(client):
    from django.contrib.auth import get_user_model

    client.post(
        "/accounts/signup/",
        {
            "email": "misty@example.com",
            "password1": "x-long-passphrase",
            "password2": "x-long-passphrase",
        },
    )

    message, html = only_email()
    user = get_user_model().objects.get(email="misty@example.com")
    assert message.subject == "Confirm your email address for TCG Price Tracker"
    assert message.body.startswith("Welcome to TCG Price Tracker!")
    assert "confirm that misty@example.com is your address" in message.body
    assert "://testserver/accounts/confirm-email/" in message.body
    assert "://testserver/accounts/confirm-email/" in html
    assert_friendly(message, html, user)


def test_the_password_reset_email_names_the_address_not_a_username(client):
    user = make_user(email="brock@example.com")
    client.post("/accounts/password/reset/", {"email": "brock@example.com"})

    message, html = only_email()
    assert message.subject == "Reset your TCG Price Tracker password"
    assert "account of brock@example.com" in message.body
    assert "://testserver/accounts/password/reset/key/" in message.body
    assert_friendly(message, html, user)


def test_a_second_sign_up_with_a_known_address_says_so_in_our_words(client):
    user = make_user(email="gary@example.com")
    client.post(
        "/accounts/signup/",
        {
            "email": "gary@example.com",
            "password1": "x-long-passphrase",
            "password2": "x-long-passphrase",
        },
    )

    message, html = only_email()
    assert "this address already has an account" in message.body
    assert_friendly(message, html, user)


def test_adding_an_address_asks_to_confirm_it_without_naming_the_username(client):
    user = make_user(email="old@example.com")
    client.force_login(user)
    client.post("/accounts/email/", {"action_add": "", "email": "new@example.com"})

    message, html = only_email()
    assert message.subject == "Confirm your email address for TCG Price Tracker"
    assert "confirm that new@example.com is your address" in message.body
    assert_friendly(message, html, user)
