"""Looking up the key a request presents, and the per-user limit on keys."""

from django.conf import settings
from django.db import router

from api.models import TOKEN_PREFIX, ApiKey, hash_token
from tcgtracker.lib.compiled_sql import CompiledQuery

DEFAULT_MAX_KEYS_PER_USER = 10
# Longer than any key we issue; anything longer is not worth hashing.
MAX_TOKEN_LENGTH = 200


def max_keys_per_user() -> int:
    return getattr(settings, "API_MAX_KEYS_PER_USER", DEFAULT_MAX_KEYS_PER_USER)


def _key_and_user(hash):
    return ApiKey.objects.select_related("user").filter(hash=hash)[:1]


# Every API request looks its key up: the query compiled once (tcgtracker.lib.compiled_sql),
# its one row made into the key and its user as select_related would make them. The
# stand-in is no sha256 hex digest.
KEY_QUERY = CompiledQuery(_key_and_user, hash="not a hash")
USER_MODEL = ApiKey._meta.get_field("user").related_model
# The columns as the compiler selects them: the key's concrete fields, then its user's.
KEY_COLUMNS = [field.attname for field in ApiKey._meta.concrete_fields]
USER_COLUMNS = [field.attname for field in USER_MODEL._meta.concrete_fields]


def find_key(token: str) -> ApiKey | None:
    """The key with this secret, revoked or not (the caller tells them apart), with its
    user; one query."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        return None
    db = router.db_for_read(ApiKey)
    rows = KEY_QUERY.rows(db, hash=hash_token(token))
    if not rows:
        return None
    row = rows[0]
    key = ApiKey.from_db(db, KEY_COLUMNS, row[: len(KEY_COLUMNS)])
    user = USER_MODEL.from_db(db, USER_COLUMNS, row[len(KEY_COLUMNS) :])
    ApiKey.user.field.set_cached_value(key, user)
    return key


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
