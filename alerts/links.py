"""Signed links in alert emails: pause one alert, or unsubscribe from alert emails.

They work without logging in, so each token names the user and (for pausing) the alert;
a token for another user's alert does not verify.
"""

from django.conf import settings
from django.core import signing
from django.urls import reverse

PAUSE_SALT = "alerts.pause"
UNSUBSCRIBE_SALT = "alerts.unsubscribe"


def pause_token(alert) -> str:
    return signing.dumps({"alert": alert.pk, "user": alert.user_id}, salt=PAUSE_SALT)


def read_pause_token(token: str) -> dict | None:
    try:
        return signing.loads(token, salt=PAUSE_SALT)
    except signing.BadSignature:
        return None


def unsubscribe_token(user) -> str:
    return signing.dumps({"user": user.pk}, salt=UNSUBSCRIBE_SALT)


def read_unsubscribe_token(token: str) -> dict | None:
    try:
        return signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None


def pause_url(alert) -> str:
    return settings.SITE_URL + reverse("alerts:pause_link", args=[pause_token(alert)])


def unsubscribe_url(user) -> str:
    return settings.SITE_URL + reverse("alerts:unsubscribe", args=[unsubscribe_token(user)])
