"""Looking up the key a request presents, and the per-user limit on keys."""

from django.conf import settings

from api.models import TOKEN_PREFIX, ApiKey, hash_token
from tcgtracker.lib.sql import CompiledQuery

DEFAULT_MAX_KEYS_PER_USER = 10
# Longer than any key we issue; anything longer is not worth hashing.
MAX_TOKEN_LENGTH = 200


def max_keys_per_user() -> int:
    return getattr(settings, "API_MAX_KEYS_PER_USER", DEFAULT_MAX_KEYS_PER_USER)


# Every API request looks its key up: the query compiled once (tcgtracker.lib.sql).
KEY_QUERY = CompiledQuery(
    lambda hash: ApiKey.objects.select_related("user").filter(hash=hash)[:1], hash=str
)


def find_key(token: str) -> ApiKey | None:
    """The key with this secret, revoked or not (the caller tells them apart), with its
    user; one query."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        return None
    found = KEY_QUERY.objects(hash=hash_token(token))
    return found[0] if found else None


def key_limit_error(user) -> str | None:
    """The message when the user may not create one more key, else None."""
    limit = max_keys_per_user()
    active = ApiKey.objects.filter(user=user, revoked_at__isnull=True).count()
    if active < limit:
        return None
    return (
        f"You have {active} active API keys, the most allowed ({limit}). "
        "Revoke one you no longer use first."
    )
