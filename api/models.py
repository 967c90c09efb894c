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
    """A user's key for the JSON API. Only its hash is stored: the secret is shown once,
    when the key is created. Its scope, chosen then, says whether it may also change the
    user's alerts, collections and watchlist."""

    class Scope(models.TextChoices):
        READ = "read", "Read only"
        WRITE = "write", "Read and write"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100, help_text="What the key is for, e.g. my spreadsheet.")
    prefix = models.CharField(max_length=PREFIX_LENGTH, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)
    scope = models.CharField(
        max_length=8,
        choices=Scope.choices,
        default=Scope.READ,
        help_text="Read and write: the key may also change alerts, collections and the watchlist.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, user, name: str, scope: str = Scope.READ) -> tuple["ApiKey", str]:
        """A new key for the user and its secret, which is not kept anywhere."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        key = cls.objects.create(
            user=user,
            name=name,
            scope=scope,
            prefix=token[:PREFIX_LENGTH],
            hash=hash_token(token),
        )
        return key, token

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.WRITE

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


class IdempotentRequest(models.Model):
    """A POST sent with an Idempotency-Key header, and the answer it got: a repeat with the
    same key and body gets that answer again instead of doing the work twice (a retry
    after a lost connection creates one alert, not two). See api.idempotency."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(
        max_length=64, help_text="SHA-256 of the method, the path and the body."
    )
    # Null while the first request is still being answered.
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_unique")
        ]
        indexes = [models.Index(fields=["api_key", "created_at"])]

    def __str__(self):
        return f"{self.key} ({self.status or 'in progress'})"
