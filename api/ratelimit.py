"""Requests per API key per hour: a fixed window counted in the shared cache.

The counter is keyed by the key's id and the window's start, created with `cache.add`
and counted with `cache.incr`: on Redis both are single atomic commands, so every web
process shares one count and no two requests read the same number. (Locmem counts per
process: fine for one process, which is what runs without REDIS_URL.)

X-RateLimit-Reset is the window's end in epoch seconds (UTC), as GitHub sends it.
"""

import datetime as dt
import math
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

WINDOW_SECONDS = 60 * 60
# The counter outlives its window a little, so a clock a few seconds apart between
# processes cannot restart a window that is still being counted.
EXPIRY_MARGIN_SECONDS = 60


@dataclass(frozen=True)
class RateLimit:
    limit: int
    used: int
    reset_at: int  # epoch seconds
    now: float

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def retry_after(self) -> int:
        """Whole seconds until the window ends, at least one."""
        return max(1, math.ceil(self.reset_at - self.now))

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }


def limit_per_hour() -> int:
    return settings.API_RATE_LIMIT_PER_HOUR


def hit(key_id: int, *, limit: int | None = None, now: dt.datetime | None = None) -> RateLimit:
    """Count one request for this key and say whether it is within the limit."""
    limit = limit_per_hour() if limit is None else limit
    moment = (now or timezone.now()).timestamp()
    window_start = int(moment // WINDOW_SECONDS) * WINDOW_SECONDS
    counter = f"api:rate:v1:{key_id}:{window_start}"
    timeout = WINDOW_SECONDS + EXPIRY_MARGIN_SECONDS
    cache.add(counter, 0, timeout)
    try:
        used = cache.incr(counter)
    except ValueError:
        # Evicted between add and incr: start it again.
        cache.add(counter, 0, timeout)
        used = cache.incr(counter)
    return RateLimit(limit=limit, used=used, reset_at=window_start + WINDOW_SECONDS, now=moment)
