"""Sessions (tcgtracker.sessions): the database backend's, its lookup compiled once."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.test import override_settings
from django.utils import timezone

from tcgtracker.sessions import SessionStore
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_the_site_uses_it():
    assert settings.SESSION_ENGINE == "tcgtracker.sessions"


def test_a_session_saved_by_the_database_backend_loads_the_same():
    saved = DatabaseSessionStore()
    saved["_auth_user_id"] = "7"
    saved["cart"] = {"cards": [1, 2]}
    saved.save()
    loaded = SessionStore(saved.session_key)
    assert loaded["_auth_user_id"] == "7" and loaded["cart"] == {"cards": [1, 2]}
    assert loaded.session_key == saved.session_key


def test_an_expired_or_unknown_session_is_empty_and_forgets_its_key():
    saved = SessionStore()
    saved["x"] = 1
    saved.set_expiry(60)
    saved.save()
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61)):
        expired = SessionStore(saved.session_key)
        assert expired.load() == {}
        assert expired.session_key is None
    for key in ["nosuchsessionkeyatall0000", "' OR '1'='1' --  padding!"]:
        unknown = SessionStore(key)
        assert dict(unknown.items()) == {}


def test_a_signed_in_visitor_stays_signed_in(client):
    user = make_user()
    client.force_login(user)
    assert client.get("/alerts/").status_code == 200
    assert client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.parametrize(
    "cookie", ["abcdefgh\x00ijklmnop", "ABCDEFGHIJKLMNOP", "abcdefgh'; --x", "é" * 32]
)
def test_a_cookie_no_session_could_have_is_a_visitor_without_one(client, cookie):
    # A NUL byte reached PostgreSQL, which refuses it in text: every page was a 500.
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    response = client.get("/")
    assert response.status_code == 200
    assert response.wsgi_request.user.is_anonymous
    assert SessionStore(cookie).session_key is None


def test_a_session_decoded_again_gives_each_load_its_own_values():
    saved = SessionStore()
    saved["cart"] = {"cards": [1, 2]}
    saved.save()
    first = SessionStore(saved.session_key)
    first["cart"]["cards"].append(3)  # changed in place, not saved
    second = SessionStore(saved.session_key)
    assert second["cart"] == {"cards": [1, 2]}
    assert first.load() is not second.load()


def test_session_data_that_does_not_verify_is_empty_every_time():
    saved = SessionStore()
    saved["_auth_user_id"] = "7"
    saved.save()
    data = Session.objects.get(session_key=saved.session_key).session_data
    tampered = data[:-1] + ("A" if data[-1] != "A" else "B")
    assert SessionStore().decode(data) == {"_auth_user_id": "7"}
    for _ in range(2):
        assert SessionStore().decode(tampered) == {}


def test_session_data_decoded_under_one_secret_key_is_not_kept_under_another():
    saved = SessionStore()
    saved["_auth_user_id"] = "7"
    saved.save()
    data = Session.objects.get(session_key=saved.session_key).session_data
    assert SessionStore().decode(data) == {"_auth_user_id": "7"}
    with override_settings(SECRET_KEY="another-secret-key-" + "x" * 40, SECRET_KEY_FALLBACKS=[]):
        assert SessionStore().decode(data) == {}
    assert SessionStore().decode(data) == {"_auth_user_id": "7"}
