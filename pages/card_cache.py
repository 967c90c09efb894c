"""The card page as anonymous visitors see it, cached whole.

For a minute at most (its "2 h ago" figures age) and only while the card and its prices
are as it shows them: when the card, its set and its summaries were last written and how
many summaries there are. Each response carries the visitor's own CSRF token.

Checking that version is a query; a cached page skips it while nothing in the catalog or
its prices was written since it was checked last: every price write and every save of a
card or set moves one generation number in the cache (pages.receivers), and a page whose
generation is current is served with no query at all. After a write, each cached page is
checked once more, and then again served as it is.

Each process also keeps the pages it served and the generation, read again from the
shared cache at most once a second, so that a popular page is served with no round trip
to the shared cache either: a write in another process shows within that second, one in
this process at once.
"""

import datetime as dt
import time

from django.contrib import messages
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from cards.models import Card, CardSet
from prices import history
from prices.models import PriceSummary

CARD_PAGE_CACHE_SECONDS = 60
# Stands for the visitor's own CSRF token in a cached page; replaced on every response.
CSRF_PLACEHOLDER = "csrf-token-placeholder-5b0e9c1d"
CARD_PAGE_QUERIES = {""} | {f"period={period}" for period in history.PERIODS}


def is_anonymous_card_page(request) -> bool:
    """Whether this card page request may be served from (and stored in) the cache: an
    anonymous visitor (a logged-in user's page is theirs) with no messages waiting, and no
    query string but a chart period (the page links back to its full path)."""
    return (
        not request.user.is_authenticated
        and request.META.get("QUERY_STRING", "") in CARD_PAGE_QUERIES
        and not len(messages.get_messages(request))
    )


GENERATION_KEY = "cards:page:generation"
GENERATION_RECHECK_SECONDS = 1.0
LOCAL_PAGES = 500

# This process's copies: the pages it served lately (key -> cache entry) and the
# generation with when (time.monotonic()) it was read.
_local_pages: dict[str, tuple] = {}
_generation = {"value": 0, "read_at": None}


def new_generation() -> None:
    """Something a card page shows was written: every cached page is checked again."""
    cache.add(GENERATION_KEY, 0, None)
    cache.incr(GENERATION_KEY)
    forget_local_pages()


def forget_local_pages() -> None:
    _local_pages.clear()
    _generation["read_at"] = None


def cached_card_page(request, pk: int) -> HttpResponse | None:
    """The cached page of card `pk` when it is cached at this address and still shows the
    card and prices as they are: at once while the generation is the one it was checked
    at, otherwise after one plain query (compiling one would cost more than running it)
    for when the card, its set and its summaries were last written."""
    key = _card_page_key(request, pk)
    current = current_generation()
    entry = _local_pages.get(key)
    if entry is None or entry[4] != current:
        entry = cache.get(key)
    if entry is None:
        return None
    version, path, content, rendered_at, generation = entry
    left = CARD_PAGE_CACHE_SECONDS - (time.time() - rendered_at)
    if path != request.path or left <= 0:
        return None
    if generation != current:
        with connection.cursor() as cursor:
            cursor.execute(_CARD_VERSION_SQL, [pk])
            row = cursor.fetchone()
        if row is None or _card_version(*row) != version:
            return None
        entry = (version, path, content, rendered_at, current)
        cache.set(key, entry, max(1, int(left)))
    _keep_local(key, entry)
    return _with_csrf_token(request, content)


def current_generation() -> int:
    """Read before the card and prices a page shows: a write in between leaves the page
    one generation behind, so it is checked again next time. (A generation up to a second
    old is as safe: a page labelled with it is checked again sooner, never later.)"""
    now = time.monotonic()
    read_at = _generation["read_at"]
    if read_at is None or now - read_at >= GENERATION_RECHECK_SECONDS:
        _generation.update(value=cache.get(GENERATION_KEY, 0), read_at=now)
    return _generation["value"]


def _keep_local(key: str, entry: tuple) -> None:
    if len(_local_pages) >= LOCAL_PAGES:
        _local_pages.clear()
    _local_pages[key] = entry


def cache_card_page(request, card, context: dict, template: str, generation: int) -> HttpResponse:
    """Render the card page with a placeholder where the CSRF token goes, cache it with
    the version of the card and prices it shows, and answer it.

    Every response carries the visitor's own token (get_token also sets its cookie, as
    rendering the token would)."""
    response = render(request, template, {**context, "csrf_token": CSRF_PLACEHOLDER})
    content = response.content.decode(response.charset)
    prices = context["prices"]
    version = _card_version(
        card.updated,
        card.card_set.updated,
        len(prices),
        max((summary.updated_at for summary in prices), default=None),
    )
    entry = (version, request.path, content, time.time(), generation)
    key = _card_page_key(request, card.pk)
    cache.set(key, entry, CARD_PAGE_CACHE_SECONDS)
    _keep_local(key, entry)
    return _with_csrf_token(request, content)


_CARD_VERSION_SQL = f"""
SELECT c.updated, s.updated,
       (SELECT count(*) FROM {PriceSummary._meta.db_table} p WHERE p.card_id = c.id),
       (SELECT max(p.updated_at) FROM {PriceSummary._meta.db_table} p WHERE p.card_id = c.id)
FROM {Card._meta.db_table} c JOIN {CardSet._meta.db_table} s ON s.id = c.card_set_id
WHERE c.id = %s
"""


def _card_page_key(request, pk: int) -> str:
    return f"cards:page:v2:{pk}:{request.META.get('QUERY_STRING', '')}"


def _card_version(card_updated, set_updated, summaries: int, summaries_updated) -> tuple:
    return (_moment(card_updated), _moment(set_updated), summaries, _moment(summaries_updated))


def _moment(value) -> float | None:
    """A timestamp from a model's datetime or a plain query's (a string on SQLite)."""
    if isinstance(value, str):
        value = parse_datetime(value)
        if timezone.is_naive(value):
            value = timezone.make_aware(value, dt.UTC)
    return value.timestamp() if value is not None else None


def _with_csrf_token(request, content: str) -> HttpResponse:
    return HttpResponse(content.replace(CSRF_PLACEHOLDER, get_token(request)))
