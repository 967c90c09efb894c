"""Test settings: the production settings with fast, isolated parts swapped in.

DATABASE_URL and REDIS_URL still apply, so CI runs the same suite on PostgreSQL and
Redis. django-q2 reads Q_CLUSTER once at import, so sync mode has to be set here.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-" + "x" * 40)
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")

from tcgtracker.settings import *  # noqa: E402, F403
from tcgtracker.settings import CACHES, DATABASES, Q_CLUSTER, REDIS_URL, STORAGES  # noqa: E402

if not REDIS_URL:
    # Fast and private to each test process; the zero-configuration database cache is
    # tested where sharing between processes is the point.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Each test process (xdist worker) gets its own cache namespace on a shared Redis: the
# process id, since workers inherit the controller's environment.
CACHES["default"]["KEY_PREFIX"] = f"test-{os.getpid()}"

# A read replica that is the test database itself (Django's test mirror): the router is
# switched on by the tests that need it (tests/test_replica.py), the alias is always here.
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
ACCOUNT_RATE_LIMITS = False
