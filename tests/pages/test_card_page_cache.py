"""The card page as anonymous visitors see it is cached whole (pages.card_cache)."""

import datetime as dt
import re

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.db import connection
from django.http import HttpRequest
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cards.models import Card
from pages.card_cache import CSRF_PLACEHOLDER
from prices.writing import Observation, record_observations
from tests.factories import make_card, make_user

pytestmark = pytest.mark.django_db

TOKEN_RE = re.compile(r'"X-CSRFToken": "([^"]+)"')


def price(card, cents, days_ago=0):
    moment = timezone.now().replace(microsecond=0) - dt.timedelta(days=days_ago)
    return Observation(card.pk, "pricecharting", "ungraded", cents, moment)


def get(client, url, **extra):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **extra)
    assert response.status_code == 200
    return response, len(queries.captured_queries)


def test_a_second_anonymous_visit_is_served_from_the_cache():
    card = make_card(name="Charizard")
    record_observations([price(card, 12345, days_ago=1), price(card, 13000)])
    url = card.get_absolute_url()
    first, first_queries = get(Client(), url)
    second, second_queries = get(Client(), url)
    assert "$130.00" in second.content.decode()
    assert second_queries < first_queries
    assert second_queries <= 2  # the card with its price version; a popularity update
    strip = TOKEN_RE.sub("", first.content.decode())
    assert strip == TOKEN_RE.sub("", second.content.decode())


def test_every_visitor_gets_their_own_working_csrf_token():
    card = make_card()
    url = card.get_absolute_url()
    get(Client(), url)  # cached now
    tokens = set()
    for _ in range(2):
        client = Client(enforce_csrf_checks=True)
        html = get(client, url)[0].content.decode()
        assert CSRF_PLACEHOLDER not in html
        token = TOKEN_RE.search(html).group(1)
        tokens.add(token)
        # The token works for this visitor's next POST (a failed log-in, not a 403).
        response = client.post(
            reverse("account_login"),
            {"login": "nobody@example.com", "password": "wrong"},
            HTTP_X_CSRFTOKEN=token,
        )
        assert response.status_code != 403
    assert len(tokens) == 2


def test_new_prices_show_at_once():
    card = make_card()
    record_observations([price(card, 1000, days_ago=1)])
    url = card.get_absolute_url()
    assert "$10.00" in get(Client(), url)[0].content.decode()
    record_observations([price(card, 2500)])
    html = get(Client(), url)[0].content.decode()
    assert "$25.00" in html


def test_an_edited_card_shows_at_once():
    card = make_card(rarity="Common")
    url = card.get_absolute_url()
    get(Client(), url)
    card.rarity = "Secret Rare"
    card.save()
    assert "Secret Rare" in get(Client(), url)[0].content.decode()


def test_logged_in_pages_are_neither_cached_nor_served_from_the_cache(client):
    card = make_card()
    url = card.get_absolute_url()
    anonymous = get(Client(), url)[0].content.decode()
    assert "Log in" in anonymous
    user = make_user()
    client.force_login(user)
    mine, _ = get(client, url)
    assert "Log out" in mine.content.decode()
    assert "Log out" in get(client, url)[0].content.decode()
    assert "Log out" not in get(Client(), url)[0].content.decode()


def test_periods_are_cached_apart_and_other_query_strings_not_at_all():
    card = make_card()
    record_observations([price(card, 1000, days_ago=100), price(card, 1200)])
    url = card.get_absolute_url()
    default = get(Client(), url)[0].content.decode()
    year = get(Client(), f"{url}?period=1y")[0].content.decode()
    assert 'data-period="1y" aria-current="true"' in year
    assert 'data-period="30d" aria-current="true"' in default
    _, cached = get(Client(), f"{url}?period=1y")
    _, uncached = get(Client(), f"{url}?period=1y&ref=mail")
    assert cached < uncached
    html = get(Client(), f"{url}?ref=mail")[0].content.decode()
    assert "ref%3Dmail" in html  # the log-in link comes back to the very same address


def test_a_visitor_with_messages_waiting_sees_them():
    card = make_card()
    url = card.get_absolute_url()
    get(Client(), url)
    client = Client()
    # A message left by an earlier request, in the messages cookie.
    storage = CookieStorage(HttpRequest())
    client.cookies["messages"] = storage._encode([Message(constants.INFO, "Signed out.")])
    assert "Signed out." in get(client, url)[0].content.decode()


def test_cached_visits_still_count_towards_popularity():
    card = make_card()
    url = card.get_absolute_url()
    get(Client(REMOTE_ADDR="10.0.0.1"), url)
    get(Client(REMOTE_ADDR="10.0.0.2"), url)
    get(Client(REMOTE_ADDR="10.0.0.2"), url)
    assert Card.objects.get(pk=card.pk).popularity == 2


def test_old_addresses_still_redirect_and_missing_cards_are_404():
    card = make_card(name="Pikachu")
    url = card.get_absolute_url()
    get(Client(), url)
    response = Client().get(f"/cards/{card.pk}/old-name/")
    assert (response.status_code, response["Location"]) == (301, url)
    Card.objects.filter(pk=card.pk).delete()
    assert Client().get(url).status_code == 404


def test_a_cached_page_is_served_without_a_query_until_something_is_written():
    card, other = make_card(), make_card()
    record_observations([price(card, 1000)])
    url = card.get_absolute_url()
    visitor = Client()
    get(visitor, url)  # rendered and cached (and this visitor's view counted)
    assert get(visitor, url)[1] == 0
    record_observations([price(other, 500)])  # another card's price: checked once more
    assert get(visitor, url)[1] == 1
    assert get(visitor, url)[1] == 0


def test_an_edited_set_shows_at_once():
    card = make_card()
    url = card.get_absolute_url()
    get(Client(), url)
    card.card_set.name = "Renamed Expansion"
    card.card_set.save()
    assert "Renamed Expansion" in get(Client(), url)[0].content.decode()


class SharedCacheCalls:
    """The shared cache, counting the calls made to it."""

    def __init__(self, cache):
        self.cache, self.calls = cache, []

    def __getattr__(self, name):
        method = getattr(self.cache, name)

        def counted(*args, **kwargs):
            self.calls.append(name)
            return method(*args, **kwargs)

        return counted


@pytest.fixture
def shared_cache(monkeypatch):
    from django.core.cache import cache

    from pages import card_cache, popularity

    calls = SharedCacheCalls(cache)
    monkeypatch.setattr(card_cache, "cache", calls)
    monkeypatch.setattr(popularity, "cache", calls)
    return calls


def test_a_popular_page_reloaded_costs_no_round_trip_to_the_shared_cache(shared_cache):
    card = make_card()
    url = card.get_absolute_url()
    visitor = Client(REMOTE_ADDR="10.0.0.7")
    get(visitor, url)
    get(visitor, url)
    shared_cache.calls.clear()
    response, queries = get(visitor, url)
    assert (shared_cache.calls, queries) == ([], 0)
    assert card.name in response.content.decode()
    assert Card.objects.get(pk=card.pk).popularity == 1


def test_a_write_in_another_process_is_checked_within_the_recheck_interval(monkeypatch):
    from django.core.cache import cache

    from pages import card_cache

    card = make_card()
    url = card.get_absolute_url()
    get(Client(), url)
    assert get(Client(), url)[1] == 0
    monkeypatch.setattr(card_cache, "GENERATION_RECHECK_SECONDS", 0.0)
    cache.incr(card_cache.GENERATION_KEY)  # what a worker's price write does
    Card.objects.filter(pk=card.pk).update(rarity="Rarity set elsewhere", updated=timezone.now())
    assert "Rarity set elsewhere" in get(Client(), url)[0].content.decode()


def test_a_visitor_counted_by_another_process_is_not_counted_again():
    from pages import popularity

    card = make_card()
    visitor = Client(REMOTE_ADDR="10.0.0.9")
    get(visitor, card.get_absolute_url())
    popularity.forget_visitors()  # as if this visit had been counted by another process
    get(visitor, card.get_absolute_url())
    assert Card.objects.get(pk=card.pk).popularity == 1
