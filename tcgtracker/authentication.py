"""Who is signed in: django.contrib.auth's middleware and get_user(), with the user read by
a query compiled once per process (tcgtracker.lib.sql.CompiledQuery).

Every signed-in request reads its user. Through the backend, that is the ORM building,
compiling and running `User.objects.get(pk=...)` each time: about a tenth of a signed-in
card page's own time, more than PostgreSQL takes to answer. get_user() below is Django's,
step for step: the session's user id and backend, the backend still configured, the
session's hash verified against the user's (and against the fallback secrets, which cycle
the session key), the session flushed when it does not verify. Only where the session's
backend reads users as ModelBackend does (django.contrib.auth's and allauth's backends
both do) is the user read by the compiled query; any other backend is asked as Django
asks it. The sessions, their backend paths and hashes are untouched: nobody is signed out.
"""

from functools import partial

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthentication
from django.contrib.auth.models import AnonymousUser
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

from tcgtracker.lib.sql import CompiledQuery

_USER = CompiledQuery(lambda pk: get_user_model()._default_manager.filter(pk=pk), pk=int)


def read_user(backend, user_id):
    """backend.get_user(user_id), by the compiled query where the backend reads users as
    ModelBackend does."""
    if type(backend).get_user is not ModelBackend.get_user or type(user_id) is not int:
        return backend.get_user(user_id)
    found = _USER.objects(pk=user_id)
    user = found[0] if found else None
    return user if user is not None and backend.user_can_authenticate(user) else None


def get_user(request):
    """django.contrib.auth.get_user(), the user read by read_user()."""
    user = None
    try:
        user_id = auth._get_user_session_key(request)
        backend_path = request.session[BACKEND_SESSION_KEY]
    except KeyError:
        pass
    else:
        if backend_path in settings.AUTHENTICATION_BACKENDS:
            user = read_user(load_backend(backend_path), user_id)
            if hasattr(user, "get_session_auth_hash"):
                user = _verified(request, user)
    return user or AnonymousUser()


def _verified(request, user):
    """The user, if the session's hash is theirs; else None, the session flushed. A hash
    made with a fallback secret is accepted once, and the session cycled to the current
    one."""
    session_hash = request.session.get(HASH_SESSION_KEY)
    session_auth_hash = user.get_session_auth_hash() if session_hash else None
    if session_hash and constant_time_compare(session_hash, session_auth_hash):
        return user
    if session_hash and any(
        constant_time_compare(session_hash, fallback)
        for fallback in user.get_session_auth_fallback_hash()
    ):
        request.session.cycle_key()
        request.session[HASH_SESSION_KEY] = session_auth_hash
        return user
    request.session.flush()
    return None


def _cached_user(request):
    if not hasattr(request, "_cached_user"):
        request._cached_user = get_user(request)
    return request._cached_user


class AuthenticationMiddleware(DjangoAuthentication):
    """Django's, with request.user from get_user() above (request.auser is Django's)."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(partial(_cached_user, request))
