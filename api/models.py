import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

# What every key starts with, so a leaked one is recognisable (secret scanners, logs).
TOKEN_PREFIX = "tcg_"
# Shown in the key list to tell keys apart: "tcg_" and the first eight random characters.
PREFIX_LENGTH = len(TOKEN_PREFIX) + 8
# last_used_at is written at most this often per key, not on every request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def hash_token(token: str) -> str:
    """A key's stored form. The secret is 256 random bits, so a fast hash is enough: there
    is nothing to guess that a slow one would protect."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiKey(models.Model):
    """A user's key for the read-only JSON API. Only its hash is stored: the secret is shown
    once, when the key is created."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100, help_text="What the key is for, e.g. my spreadsheet.")
    prefix = models.CharField(max_length=PREFIX_LENGTH, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, user, name: str) -> tuple["ApiKey", str]:
        """A new key for the user and its secret, which is not kept anywhere."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        key = cls.objects.create(
            user=user, name=name, prefix=token[:PREFIX_LENGTH], hash=hash_token(token)
        )
        return key, token

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])

    def record_use(self, now: dt.datetime | None = None) -> None:
        """Set last_used_at, at most once a minute: a conditional update, so concurrent
        requests on several processes write it once between them."""
        now = now or timezone.now()
        if self.last_used_at is not None and now - self.last_used_at < LAST_USED_RESOLUTION:
            return
        stale = models.Q(last_used_at__isnull=True) | models.Q(
            last_used_at__lt=now - LAST_USED_RESOLUTION
        )
        ApiKey.objects.filter(stale, pk=self.pk).update(last_used_at=now)
        self.last_used_at = now
