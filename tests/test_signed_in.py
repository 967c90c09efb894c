"""Who is signed in (tcgtracker.signed_in): auth.get_user's answer, the user read through
a compiled query — the same user, the same sign-outs, the same session renewals."""

import pytest
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.test import Client, RequestFactory

from tcgtracker.sessions import SessionStore
from tcgtracker.signed_in import get_user
from tests.factories import make_user

pytestmark = pytest.mark.django_db

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
ALLAUTH_BACKEND = "allauth.account.auth_backends.AuthenticationBackend"


def signed_in_session(user, backend=MODEL_BACKEND, session_hash=None) -> SessionStore:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = backend
    session[HASH_SESSION_KEY] = (
        user.get_session_auth_hash() if session_hash is None else session_hash
    )
    session.save()
    return session


def both(session_key: str):
    """(ours, auth's) for two requests carrying the same saved session, and the two
    sessions after."""
    answers = []
    for ask in (get_user, auth.get_user):
        request = RequestFactory().get("/")
        request.session = SessionStore(session_key)
        answers.append((ask(request), request.session))
    return answers


def test_the_site_uses_it():
    assert "tcgtracker.signed_in.AuthenticationMiddleware" in settings.MIDDLEWARE
    assert "django.contrib.auth.middleware.AuthenticationMiddleware" not in settings.MIDDLEWARE


@pytest.mark.parametrize("backend", [MODEL_BACKEND, ALLAUTH_BACKEND])
def test_a_signed_in_member_is_the_same_user(backend):
    user = make_user()
    (ours, _), (django, _) = both(signed_in_session(user, backend).session_key)
    assert ours == django == user
    assert ours.email == user.email and ours.is_authenticated


def test_a_session_from_before_a_password_change_signs_out_as_auth_does():
    user = make_user()
    session = signed_in_session(user)
    user.set_password("another long passphrase here")
    user.save()
    (ours, our_session), (django, django_session) = both(session.session_key)
    assert isinstance(ours, AnonymousUser) and isinstance(django, AnonymousUser)
    assert SESSION_KEY not in our_session and SESSION_KEY not in django_session


@pytest.mark.parametrize(
    "change",
    ["inactive", "deleted", "unknown backend", "no hash"],
)
def test_what_auth_signs_out_is_signed_out(change):
    user = make_user()
    backend, session_hash = MODEL_BACKEND, None
    if change == "unknown backend":
        backend = "somewhere.else.Backend"
    if change == "no hash":
        session_hash = ""
    session = signed_in_session(user, backend, session_hash)
    if change == "inactive":
        user.is_active = False
        user.save()
    if change == "deleted":
        user.delete()
    (ours, _), (django, _) = both(session.session_key)
    assert isinstance(ours, AnonymousUser) and isinstance(django, AnonymousUser)


def test_a_hash_from_a_rotated_secret_keeps_the_member_signed_in_renewed(settings):
    user = make_user()
    old_hash = user.get_session_auth_hash()
    session = signed_in_session(user, session_hash=old_hash)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-for-this-test-only-0123456789"
    request = RequestFactory().get("/")
    request.session = SessionStore(session.session_key)
    assert get_user(request) == user
    assert request.session.session_key != session.session_key
    assert request.session[HASH_SESSION_KEY] == user.get_session_auth_hash() != old_hash


def test_pages_know_who_is_signed_in_and_forget_them_on_log_out():
    user = make_user()
    client = Client()
    client.force_login(user)
    assert "Log out" in client.get("/").content.decode()
    client.post("/accounts/logout/")
    assert "Log out" not in client.get("/").content.decode()
