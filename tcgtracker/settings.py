"""Settings for the TCG Price Tracker, driven by environment variables.

Zero configuration gives a development instance on SQLite with an in-process cache and
the database as task broker. Production sets DATABASE_URL, REDIS_URL, SECRET_KEY and
ALLOWED_HOSTS; everything else has a safe default.
"""

import sys
from pathlib import Path

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from tcgtracker.lib.env import (
    check_redis_url,
    database_config,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    with_redis_timeouts,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEVELOPMENT_SECRET_KEY = "dev-only-secret-key-do-not-use-in-production"
SECRET_KEY = env_str("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
DEBUG = env_bool("DEBUG", False)
# Commands that neither serve, sign nor send anything may run without a real key, so a
# fresh checkout can check its migrations; the server, the worker and every other
# command refuse.
OFFLINE_COMMANDS = {"makemigrations", "migrate", "showmigrations", "sqlmigrate", "collectstatic"}
RUNNING_OFFLINE_COMMAND = (
    Path(sys.argv[0]).name == "manage.py" and len(sys.argv) > 1 and sys.argv[1] in OFFLINE_COMMANDS
)
if not DEBUG and SECRET_KEY == DEVELOPMENT_SECRET_KEY and not RUNNING_OFFLINE_COMMAND:
    raise ImproperlyConfigured(
        "DEBUG is off but SECRET_KEY is the development key. Set SECRET_KEY to a long "
        "random value for production, or DEBUG=true for local development."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SITE_NAME = "TCG Price Tracker"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_htmx",
    "template_partials",
    "allauth",
    "allauth.account",
    "django_q",
    "corsheaders",
    "tcgtracker",
    "csp",
    "jobs",
    "cards",
    "prices",
    "alerts",
    "collections_app",
    "api",
    "pages",
    "account_data",
]

MIDDLEWARE = [
    "tcgtracker.middleware.request_context",
    "tcgtracker.lib.replica.replica_reads",
    "django.middleware.security.SecurityMiddleware",
    "tcgtracker.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "tcgtracker.authentication.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "tcgtracker.middleware.ControlCharactersMiddleware",
]

ROOT_URLCONF = "tcgtracker.urls"
WSGI_APPLICATION = "tcgtracker.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tcgtracker.context_processors.site",
            ],
        },
    },
]

# Database: DATABASE_URL (postgres://user:pass@host:5432/name) or a local SQLite file. On
# PostgreSQL each process pools up to DATABASE_POOL_MAX connections (0: no pool). With
# DATABASE_REPLICA_URL (a streaming replica of it), the catalog and price reads of GET
# pages go there (tcgtracker/lib/replica.py); everything else stays on the primary.
DATABASE_URL = env_str("DATABASE_URL")
DATABASE_POOL_MAX = env_int("DATABASE_POOL_MAX", 4)
DATABASES = {"default": database_config(DATABASE_URL, BASE_DIR, DATABASE_POOL_MAX)}
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL")
DATABASE_ROUTERS = []
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = database_config(
        DATABASE_REPLICA_URL, BASE_DIR, DATABASE_POOL_MAX, name="DATABASE_REPLICA_URL"
    )
    DATABASE_ROUTERS = ["tcgtracker.lib.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache and task broker: Redis when REDIS_URL is set; otherwise a cache table in the
# database and the database as broker. Either way every process of the install (web and
# worker) shares one cache, so rate limits, budgets and locks hold across processes.
REDIS_URL = check_redis_url(env_str("REDIS_URL"))
CACHE_KEY_PREFIX = env_str("CACHE_KEY_PREFIX", "tcg")
if REDIS_URL:
    CACHES = {
        "default": {
            # Pages and logins carry on without the cache while Redis is down.
            "BACKEND": "tcgtracker.lib.cache.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }
else:
    CACHES = {
        "default": {
            # Created by `migrate` (tcgtracker.apps runs createcachetable after it).
            "BACKEND": "tcgtracker.lib.cache.DatabaseCache",
            "LOCATION": "tcgtracker_cache",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"MAX_ENTRIES": 20000},
        }
    }

Q_TIMEOUT = env_int("Q_TIMEOUT", 600)
Q_CLUSTER = {
    "name": "tcgtracker",
    "workers": env_int("Q_WORKERS", 2),
    "timeout": Q_TIMEOUT,
    "retry": Q_TIMEOUT + 60,
    "max_attempts": 3,
    "catch_up": False,
    "save_limit": 1000,
    "label": "Tasks",
}
if REDIS_URL:
    # A worker's wait for a task is 1 s; anything longer means Redis is not answering.
    Q_CLUSTER["redis"] = with_redis_timeouts(REDIS_URL)
else:
    # Clusters report their status through the (shared) default cache, where /health/
    # and the staff page see it.
    Q_CLUSTER["orm"] = "default"

# Jobs that can die: a running job's process refreshes its run's heartbeat this often, and
# a run whose heartbeat is older than JOB_STALE_AFTER_SECONDS is taken for dead (marked
# interrupted, its lock released) by the next run of its job or the sweep.
JOB_HEARTBEAT_SECONDS = env_int("JOB_HEARTBEAT_SECONDS", 30)
JOB_STALE_AFTER_SECONDS = env_int("JOB_STALE_AFTER_SECONDS", 4 * JOB_HEARTBEAT_SECONDS)
if JOB_STALE_AFTER_SECONDS <= JOB_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        "JOB_STALE_AFTER_SECONDS must be longer than JOB_HEARTBEAT_SECONDS, or every live "
        "job would look dead between two heartbeats."
    )
# A price sync takes no new batch past this many seconds, so it ends cleanly before the
# worker's timeout kills it; the cards it did not reach stay due for the next run.
PRICE_SYNC_TIME_BUDGET_SECONDS = env_int("PRICE_SYNC_TIME_BUDGET_SECONDS", Q_TIMEOUT * 4 // 5)
# Staff price-guide uploads are kept until their import ends, at most this long.
UPLOAD_MAX_AGE_HOURS = env_int("UPLOAD_MAX_AGE_HOURS", 24)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# Accounts: sign up and log in by email, with mandatory verification.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
# The same work, and so the same time, for a known email address as for a new one.
ACCOUNT_FORMS = {"signup": "tcgtracker.accounts.SignupForm"}
# Our wording in allauth's emails; accounts named by their email address.
ACCOUNT_ADAPTER = "tcgtracker.accounts.AccountAdapter"
ACCOUNT_USER_DISPLAY = "tcgtracker.accounts.user_display"
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "account_login"

# Email: the console unless an SMTP host is configured.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "TCG Price Tracker <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Security: strict unless DEBUG is on. Behind a TLS-terminating proxy that sets
# X-Forwarded-Proto; SECURE_SSL_REDIRECT=false for a plain-HTTP private deployment.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# The database backend's sessions, with its per-request lookup compiled once.
SESSION_ENGINE = "tcgtracker.sessions"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts, styles, fonts and requests from this site
# only — no inline script, event handler attribute, inline style or eval anywhere (htmx
# is configured for it in templates/base.html; Chart.js and htmx are vendored). Card
# images come from the catalog sources' servers, over HTTPS.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "https:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SILENCED_SYSTEM_CHECKS = env_list("SILENCED_SYSTEM_CHECKS", [])

# Logs: plain lines, or one JSON object per line (LOG_FORMAT=json) for a log shipper;
# either way each carries the request id or job run id it belongs to.
LOG_FORMAT = env_choice("LOG_FORMAT", ["plain", "json"], "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "tcgtracker.lib.logs.ContextFilter"},
        # Every line, whichever logger wrote it, with the credentials this process knows masked.
        "scrub_secrets": {"()": "tcgtracker.lib.secrets.ScrubSecretsFilter"},
    },
    "formatters": {
        "plain": {
            "()": "tcgtracker.lib.logs.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {"()": "tcgtracker.lib.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context", "scrub_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# /metrics answers staff, and scrapers sending `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env_str("METRICS_TOKEN")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 32 characters long.")

# Cards per page: search results, and a set page (a whole base set fits on one).
SEARCH_PAGE_SIZE = env_int("SEARCH_PAGE_SIZE", 24)
SET_PAGE_SIZE = env_int("SET_PAGE_SIZE", 120)
# The card page's grading helper starts from this cost of grading one card, in US dollars.
GRADING_COST_DEFAULT = env_int("GRADING_COST_DEFAULT", 25)
if not 0 <= GRADING_COST_DEFAULT <= 10_000:
    raise ImproperlyConfigured("GRADING_COST_DEFAULT must be from 0 to 10000 (US dollars).")
SECURE_REDIRECT_EXEMPT = [r"^health/$"]

# Price sources. Secrets stay in the environment; each base URL can be overridden so
# staging and tests point a client at a fake server. A source without its credentials is
# never called, whatever `enabled` says.
PRICE_SOURCES = {
    "pricecharting": {
        "enabled": env_bool("PRICECHARTING_ENABLED", True),
        "base_url": env_str("PRICECHARTING_BASE_URL", "https://www.pricecharting.com"),
        "credentials": {"token": env_str("PRICECHARTING_TOKEN")},
        "rate_limit": (env_int("PRICECHARTING_CALLS_PER_MINUTE", 60), 60),
        "batch_size": 20,
    },
    "ebay": {
        "enabled": env_bool("EBAY_ENABLED", True),
        "base_url": env_str("EBAY_BASE_URL", "https://api.ebay.com"),
        "credentials": {
            "client_id": env_str("EBAY_CLIENT_ID"),
            "client_secret": env_str("EBAY_CLIENT_SECRET"),
        },
        "rate_limit": (env_int("EBAY_CALLS_PER_DAY", 5000), 86400),
        "batch_size": 20,
        "marketplace": env_str("EBAY_MARKETPLACE", "EBAY_US"),
        "category_single": env_str("EBAY_CATEGORY_SINGLE", "183454"),
        "category_sealed": env_str("EBAY_CATEGORY_SEALED", "183456"),
        "item_location_country": env_str("EBAY_ITEM_LOCATION_COUNTRY", "US"),
    },
    "justtcg": {
        "enabled": env_bool("JUSTTCG_ENABLED", True),
        "base_url": env_str("JUSTTCG_BASE_URL", "https://api.justtcg.com/v1"),
        "credentials": {"api_key": env_str("JUSTTCG_API_KEY")},
        "rate_limit": (env_int("JUSTTCG_CALLS_PER_MINUTE", 10), 60),
        "batch_size": env_int("JUSTTCG_BATCH_SIZE", 20),
    },
    "tcgplayer": {
        "enabled": env_bool("TCGPLAYER_ENABLED", True),
        "base_url": env_str("TCGPLAYER_BASE_URL", "https://api.tcgplayer.com"),
        "credentials": {
            "public_key": env_str("TCGPLAYER_PUBLIC_KEY"),
            "private_key": env_str("TCGPLAYER_PRIVATE_KEY"),
        },
        "rate_limit": (env_int("TCGPLAYER_CALLS_PER_MINUTE", 300), 60),
        "batch_size": 100,
    },
    "demo": {
        "enabled": env_bool("DEMO_PRICES_ENABLED", DEBUG),
        "base_url": "",
        "credentials": {},
        "rate_limit": None,
        "batch_size": 500,
    },
}
# How often a sync asks again: cards someone owns, watches or has an alert on, and the rest.
PRICE_SYNC_HOT_INTERVAL_MINUTES = env_int("PRICE_SYNC_HOT_INTERVAL_MINUTES", 60)
PRICE_SYNC_INTERVAL_HOURS = env_int("PRICE_SYNC_INTERVAL_HOURS", 24)
# Price points older than this are folded into one per day.
PRICE_RETENTION_DAYS = env_int("PRICE_RETENTION_DAYS", 90)
# Catalog sources (sync_catalog).
POKEMONTCG_BASE_URL = env_str("POKEMONTCG_BASE_URL", "https://api.pokemontcg.io/v2")
POKEMONTCG_API_KEY = env_str("POKEMONTCG_API_KEY")
OPTCG_BASE_URL = env_str("OPTCG_BASE_URL", "https://optcgapi.com/api")
CATALOG_SYNC_ENABLED = env_bool("CATALOG_SYNC_ENABLED", False)

# Alerts: how many active alerts a user may have; delivery attempts per alert email.
ALERTS_MAX_ACTIVE_PER_USER = env_int("ALERTS_MAX_ACTIVE_PER_USER", 50)
ALERT_EMAIL_MAX_ATTEMPTS = env_int("ALERT_EMAIL_MAX_ATTEMPTS", 5)

# Webhook channels (Discord, Slack-compatible, Telegram, signed JSON), see
# docs/notifications.md. Destinations must be public internet addresses over https unless
# WEBHOOK_ALLOW_PRIVATE is on (a chat server on your own network; allows plain http too).
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)
WEBHOOK_MAX_PER_USER = env_int("WEBHOOK_MAX_PER_USER", 10)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 5)
# Deliveries refused for good in a row (unknown webhook, revoked bot) before a channel is
# turned off and its owner emailed.
WEBHOOK_DISABLE_AFTER = env_int("WEBHOOK_DISABLE_AFTER", 3)
TELEGRAM_API_URL = env_str("TELEGRAM_API_URL", "https://api.telegram.org").rstrip("/")

# Collection CSV imports, per user: the largest file, uploads in the last hour, and what
# open imports (uploaded, not yet imported or discarded) may hold at once. Every import
# is deleted this many days after its upload.
COLLECTION_IMPORT_MAX_BYTES = env_int("COLLECTION_IMPORT_MAX_BYTES", 5 * 1024 * 1024)
COLLECTION_IMPORT_UPLOADS_PER_HOUR = env_int("COLLECTION_IMPORT_UPLOADS_PER_HOUR", 10)
COLLECTION_IMPORT_MAX_OPEN = env_int("COLLECTION_IMPORT_MAX_OPEN", 5)
COLLECTION_IMPORT_MAX_OPEN_BYTES = env_int("COLLECTION_IMPORT_MAX_OPEN_BYTES", 10 * 1024 * 1024)
COLLECTION_IMPORT_KEEP_DAYS = env_int("COLLECTION_IMPORT_KEEP_DAYS", 7)

# JSON API: requests per key per hour (a fixed window, counted in the shared cache).
API_RATE_LIMIT_PER_HOUR = env_int("API_RATE_LIMIT_PER_HOUR", 1000)
# Cross-origin calls (a browser extension, a spreadsheet on another site) to /api/ only,
# from these origins (e.g. https://sheets.example.com); none by default. Keys travel in a
# header, never a cookie, so no credentials are allowed across origins.
CORS_URLS_REGEX = r"^/api/"
CORS_ALLOWED_ORIGINS = env_list("API_CORS_ORIGINS", [])
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST"]
CORS_ALLOW_HEADERS = ["accept", "content-type", "idempotency-key", "if-none-match", "x-api-key"]
CORS_EXPOSE_HEADERS = [
    "ETag",
    "Idempotent-Replayed",
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
]
