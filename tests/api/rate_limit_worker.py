"""One of the processes of test_rate_limit's cross-process test: counts requests for one
API key through api.ratelimit against the Redis it is given, and prints, as JSON, the
count each request was given.

    python -m tests.api.rate_limit_worker REDIS_URL KEY_PREFIX KEY_ID REQUESTS LIMIT NOW START_AT

NOW fixes the moment every request is counted at (epoch seconds), so that all processes
count in the same window; START_AT (epoch seconds) lines the processes up so that they
really count at the same time.
"""

import datetime as dt
import json
import sys
import time

import django
from django.conf import settings


def main(redis_url, prefix, key_id, requests, limit, now, start_at):
    settings.configure(
        USE_TZ=True,
        CACHES={
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": redis_url,
                "KEY_PREFIX": prefix,
            }
        },
        API_RATE_LIMIT_PER_HOUR=limit,
    )
    django.setup()
    from api import ratelimit

    moment = dt.datetime.fromtimestamp(now, dt.UTC)
    while time.time() < start_at:
        time.sleep(0.001)
    counts = [ratelimit.hit(key_id, now=moment).used for _ in range(requests)]
    print(json.dumps(counts))


if __name__ == "__main__":
    redis_url, prefix, key_id, requests, limit, now, start_at = sys.argv[1:]
    main(redis_url, prefix, int(key_id), int(requests), int(limit), float(now), float(start_at))
