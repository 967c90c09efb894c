"""Idempotency keys on POST: a client that did not hear the answer to a POST (a dropped
connection, a timeout) sends it again with the same `Idempotency-Key` header and gets the
first answer back, marked `Idempotent-Replayed: true`, instead of a second alert or item.

A key belongs to one API key and one request — method, path and body (a JSON body
compared by its content, not its spacing): the same key with another request is a 422.
Only a successful answer is kept; a request that failed changed nothing, so sending it
again runs it again. The first request claims the key before it runs and stores its
answer in the same transaction as its writes, so a second copy arriving meanwhile is a
409 and a crash stores nothing. A claim whose request died unanswered is taken over after
a minute. Keys are forgotten after 24 hours.
"""

import contextlib
import datetime as dt
import hashlib
import json

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone

from api.models import IdempotentRequest

HEADER = "Idempotency-Key"
KEEP_FOR = dt.timedelta(hours=24)
ABANDONED_AFTER = dt.timedelta(minutes=1)
MAX_LENGTH = 255


def answer(request, api_key, respond) -> HttpResponse:
    """The response to this POST: `respond()`'s, or the one stored for its key."""
    from api.http import ApiError, bad_parameter

    token = request.headers[HEADER]
    if not 1 <= len(token) <= MAX_LENGTH or not all(" " <= c <= "~" for c in token):
        raise bad_parameter(
            HEADER, f"{HEADER} must be 1 to {MAX_LENGTH} printable ASCII characters."
        )
    fingerprint = _fingerprint(request)
    now = timezone.now()
    IdempotentRequest.objects.filter(api_key=api_key, created_at__lt=now - KEEP_FOR).delete()
    record, claimed = _claim(api_key, token, fingerprint, now)
    if not claimed:
        if record.fingerprint != fingerprint:
            raise ApiError(
                422,
                "IDEMPOTENCY_KEY_REUSED",
                f"This {HEADER} was used for another request (a different path or body). "
                "Use a new key for each new request.",
                {"parameter": HEADER},
            )
        if record.status is None:
            raise ApiError(
                409,
                "IDEMPOTENCY_KEY_IN_USE",
                f"A request with this {HEADER} is still being answered. Try again shortly.",
                {"parameter": HEADER},
            )
        replay = HttpResponse(
            record.body.encode(), status=record.status, content_type="application/json"
        )
        replay["Idempotent-Replayed"] = "true"
        return replay
    try:
        with transaction.atomic():
            response = respond()
            if 200 <= response.status_code < 300:
                IdempotentRequest.objects.filter(pk=record.pk).update(
                    status=response.status_code, body=response.content.decode()
                )
                return response
    except BaseException:
        record.delete()
        raise
    record.delete()
    return response


def _fingerprint(request) -> str:
    body = request.body
    # Not JSON: compared as sent (and refused by the endpoint anyway).
    with contextlib.suppress(ValueError):
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def _claim(api_key, token: str, fingerprint: str, now) -> tuple[IdempotentRequest, bool]:
    """(the key's record, whether this request now owns it)."""
    for _ in range(3):
        try:
            with transaction.atomic():
                record = IdempotentRequest.objects.create(
                    api_key=api_key, key=token, fingerprint=fingerprint, created_at=now
                )
            return record, True
        except IntegrityError:
            record = IdempotentRequest.objects.filter(api_key=api_key, key=token).first()
        if record is None:
            continue  # its request failed and let it go meanwhile: claim it again
        abandoned = record.status is None and record.created_at < now - ABANDONED_AFTER
        if abandoned and record.fingerprint == fingerprint:
            taken = IdempotentRequest.objects.filter(
                pk=record.pk, status__isnull=True, created_at=record.created_at
            ).update(created_at=now)
            if taken:
                record.created_at = now
                return record, True
        return record, False
    raise RuntimeError("Idempotency key neither claimed nor found three times over.")
