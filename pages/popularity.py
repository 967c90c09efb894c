"""Popularity: one view per visitor and card an hour, so reloads do not inflate it.

The hour is held by a key in the shared cache, so every web process counts a visitor
once. Each process also remembers the visitors it has seen lately, so that a visitor who
reloads a page costs no round trip to the shared cache.
"""

import hashlib
import time

from django.core.cache import cache
from django.db.models import F

from cards.models import Card

VIEW_DEDUPE_SECONDS = 60 * 60
# How long a process trusts that another process counted a visitor: that key may expire
# before the hour is up in this process (it was set up to an hour ago).
COUNTED_ELSEWHERE_SECONDS = 60
REMEMBERED_VISITORS = 10_000

# digest -> until when (time.monotonic()) this process need not ask the shared cache.
_counted: dict[str, float] = {}


def count_view(request, card_id: int) -> None:
    visitor = request.user.pk if request.user.is_authenticated else request.META.get("REMOTE_ADDR")
    digest = hashlib.sha256(f"{visitor}:{card_id}".encode()).hexdigest()[:24]
    now = time.monotonic()
    if _counted.get(digest, 0.0) > now:
        return
    if len(_counted) >= REMEMBERED_VISITORS:
        _counted.clear()
    counted_here = cache.add(f"card-view:{digest}", 1, VIEW_DEDUPE_SECONDS)
    _counted[digest] = now + (VIEW_DEDUPE_SECONDS if counted_here else COUNTED_ELSEWHERE_SECONDS)
    if counted_here:
        Card.objects.filter(pk=card_id).update(popularity=F("popularity") + 1)


def forget_visitors() -> None:
    """Forget the visitors this process counted (the shared cache was emptied)."""
    _counted.clear()
