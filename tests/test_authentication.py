"""Who is signed in (tcgtracker.authentication): Django's get_user(), the user read by a
compiled query, giving what Django gives in every case."""

import pytest
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.backends import ModelBackend
from django.test import RequestFactory

from tcgtracker.authentication import get_user
from tcgtracker.sessions import SessionStore
from tests.factories import make_user

pytestmark = pytest.mark.django_db

DJANGO_BACKEND = "django.contrib.auth.backends.ModelBackend"
ALLAUTH_BACKEND = "allauth.account.auth_backends.AuthenticationBackend"


class NamedBackend(ModelBackend):
    """A backend reading users its own way: asked as Django asks it."""

    def get_user(self, user_id):
        user = super().get_user(user_id)
        if user is not None:
            user.read_by = "NamedBackend"
        return user


def session_of(user, backend=DJANGO_BACKEND, hash_=None):
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = backend
    session[HASH_SESSION_KEY] = user.get_session_auth_hash() if hash_ is None else hash_
    session.save()
    return session.session_key


def both_ways(session_key):
    """(what get_user() gives, its session) and (what Django's gives, its session), each
    from the session as stored."""
    answers = []
    for read in (get_user, auth.get_user):
        request = RequestFactory().get("/")
        request.session = SessionStore(session_key)
        user = read(request)
        answers.append((user.pk, user.is_authenticated, dict(request.session.items())))
    return answers


def test_the_site_uses_it(settings):
    assert "tcgtracker.authentication.AuthenticationMiddleware" in settings.MIDDLEWARE


@pytest.mark.parametrize("backend", [DJANGO_BACKEND, ALLAUTH_BACKEND])
def test_a_signed_in_member_is_read_as_django_reads_them_in_one_query(
    backend, django_assert_num_queries
):
    member = make_user()
    key = session_of(member, backend)
    request = RequestFactory().get("/")
    request.session = SessionStore(key)
    assert SESSION_KEY in request.session  # the session read first
    with django_assert_num_queries(1):
        user = get_user(request)
    assert user == member and user.is_authenticated
    assert both_ways(key)[0] == both_ways(key)[1]


def test_a_session_whose_password_changed_is_signed_out_and_flushed():
    member = make_user()
    key = session_of(member)
    member.set_password("a new password, changed elsewhere")
    member.save()
    ours, djangos = both_ways(key)
    assert ours == djangos == (None, False, {})


def test_a_session_with_no_hash_is_signed_out():
    member = make_user()
    ours, djangos = both_ways(session_of(member, hash_=""))
    assert ours == djangos == (None, False, {})


def test_an_inactive_or_deleted_member_is_anonymous():
    inactive, deleted = make_user(is_active=False), make_user()
    keys = [session_of(inactive), session_of(deleted)]
    deleted.delete()
    for key in keys:
        ours, djangos = both_ways(key)
        assert ours[:2] == djangos[:2] == (None, False)


def test_a_backend_no_longer_configured_signs_nobody_in():
    member = make_user()
    ours, djangos = both_ways(session_of(member, backend="tests.test_authentication.Gone"))
    assert ours[:2] == djangos[:2] == (None, False)


def test_a_session_hashed_with_an_old_secret_is_kept_and_moved_to_the_current_one(settings):
    member = make_user()
    settings.SECRET_KEY_FALLBACKS = []
    old_hash = member.get_session_auth_hash()
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = (
        "a rotated secret " * 4,
        [settings.SECRET_KEY],
    )
    key = session_of(member, hash_=old_hash)
    request = RequestFactory().get("/")
    request.session = SessionStore(key)

    assert get_user(request) == member
    assert request.session[HASH_SESSION_KEY] == member.get_session_auth_hash() != old_hash
    assert request.session.session_key != key  # cycled


def test_a_backend_with_its_own_reading_is_asked(settings):
    settings.AUTHENTICATION_BACKENDS = ["tests.test_authentication.NamedBackend"]
    member = make_user()
    request = RequestFactory().get("/")
    request.session = SessionStore(session_of(member, "tests.test_authentication.NamedBackend"))
    assert get_user(request).read_by == "NamedBackend"


def test_a_signed_in_page_knows_its_member(client):
    member = make_user()
    client.force_login(member)
    response = client.get("/accounts/email/")
    assert response.status_code == 200 and response.wsgi_request.user == member
