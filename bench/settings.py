"""Production settings for the bench's load test, with plain static files.

Everything comes from the environment as in production (DEBUG off, SECRET_KEY,
ALLOWED_HOSTS, REDIS_URL ...); only static files are served without the manifest that
`collectstatic` would build, so the bench needs no build step, and the URLs add the
trivial view the card page is compared with (bench/urls.py).
"""

from tcgtracker.settings import *  # noqa: F403
from tcgtracker.settings import STORAGES

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

ROOT_URLCONF = "bench.urls"
