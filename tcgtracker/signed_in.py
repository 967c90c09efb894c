"""Who is signed in: django.contrib.auth's own answer, with the user read through a
compiled query (tcgtracker.lib.sql.CompiledQuery).

Every signed-in request reads its user; the ORM built that lookup anew each time, which
cost more than PostgreSQL takes to answer it. Everything else is auth's: the session's
user id and backend, a backend no longer configured signing the visitor out, the
backend's own checks (an inactive user is nobody), and the session hash — a password
changed elsewhere ends the session, a hash from a rotated secret (SECRET_KEY_FALLBACKS)
is renewed. A backend that reads users its own way is asked as auth asks it.
"""

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoMiddleware
from django.contrib.auth.models import AnonymousUser
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

from tcgtracker.lib.sql import CompiledQuery

_USER = CompiledQuery(
    lambda pk: auth.get_user_model()._default_manager.filter(pk=pk),
    pk=int,
)


class AuthenticationMiddleware(DjangoMiddleware):
    """Django's, with request.user from get_user() below (cached on the request under
    the attribute Django's uses)."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _cached_user(request))


def _cached_user(request):
    if not hasattr(request, "_cached_user"):
        request._cached_user = get_user(request)
    return request._cached_user


def get_user(request):
    """auth.get_user(request), step for step, the user read by _USER where the session's
    backend reads users as ModelBackend does."""
    user = None
    try:
        # Kept in the session as a string.
        user_id = auth.get_user_model()._meta.pk.to_python(request.session[SESSION_KEY])
        backend_path = request.session[BACKEND_SESSION_KEY]
    except KeyError:
        pass
    else:
        if backend_path in settings.AUTHENTICATION_BACKENDS:
            backend = load_backend(backend_path)
            user = _backend_user(backend, user_id)
            # Verify the session, as auth.get_user does.
            if hasattr(user, "get_session_auth_hash"):
                session_hash = request.session.get(HASH_SESSION_KEY)
                if not session_hash:
                    session_hash_verified = False
                else:
                    session_auth_hash = user.get_session_auth_hash()
                    session_hash_verified = constant_time_compare(session_hash, session_auth_hash)
                if not session_hash_verified:
                    # A hash from a fallback secret: the session continues, renewed.
                    if session_hash and any(
                        constant_time_compare(session_hash, fallback_auth_hash)
                        for fallback_auth_hash in user.get_session_auth_fallback_hash()
                    ):
                        request.session.cycle_key()
                        request.session[HASH_SESSION_KEY] = session_auth_hash
                    else:
                        request.session.flush()
                        user = None
    return user or AnonymousUser()


def _backend_user(backend, user_id):
    """backend.get_user(user_id); ModelBackend's lookup (allauth's backend inherits it)
    through the compiled query."""
    if type(backend).get_user is not ModelBackend.get_user:
        return backend.get_user(user_id)
    found = _USER.objects(pk=user_id)
    if not found:
        return None
    return found[0] if backend.user_can_authenticate(found[0]) else None
