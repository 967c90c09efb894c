"""Client-credentials tokens (eBay, TCGplayer), shared by every process through the cache."""

import hashlib
import time

from django.core.cache import cache

from tcgtracker.lib.http import PermanentError

TOKEN_REFRESH_MARGIN = 300


class TokenRefused(PermanentError):
    """A source would not issue a token: every call of the batch would fail alike."""


class CachedToken:
    def __init__(self, source: str, client_id: str, default_lifetime: int):
        # Keyed by a digest of the client id: new credentials never reuse an old token.
        digest = hashlib.sha256(client_id.encode()).hexdigest()[:16]
        self.key = f"price-source-token:{source}:{digest}"
        self.default_lifetime = default_lifetime

    def current(self, mint, http, *, fresh: bool = False) -> str:
        """The cached token, or a new one from mint() (always a new one when fresh). An
        error body may echo the token bare, without "Bearer": http masks it like the keys."""
        token = (None if fresh else self.get()) or mint()
        http.remember_secret(token)
        return token

    def get(self) -> str | None:
        cached = cache.get(self.key)
        # The refresh time travels with the token: a cache's own expiry runs on its
        # server's clock, and a token must not be used into its last minutes.
        if cached and time.time() < cached["refresh_at"]:
            return cached["token"]
        return None

    def store(self, answer: object, label: str) -> str:
        """Cache the token of a token endpoint's answer and return it."""
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise TokenRefused(f"{label}'s token answer has no access_token")
        try:
            lifetime = int(answer.get("expires_in") or 0)
        except (TypeError, ValueError):
            lifetime = 0
        lifetime = lifetime if lifetime > 0 else self.default_lifetime
        margin = min(TOKEN_REFRESH_MARGIN, lifetime // 10)
        cache.set(
            self.key,
            {"token": token, "refresh_at": time.time() + lifetime - margin},
            timeout=lifetime - margin,
        )
        return token
