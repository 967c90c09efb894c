"""Watches and collections feed the rest of the product: syncs, the digest, movers, home."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.models import EmailPreferences
from alerts.tasks import digest_card_ids, send_daily_digests
from cards.models import Card, Game
from collections_app.models import Watch
from pages.views import HOME_WATCHLIST_SIZE
from prices import movers, sync
from prices.models import SyncState
from prices.writing import Observation, record_observations
from tests.factories import make_card, make_collection, make_item, make_set, make_user

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def move(card, before, after, *, days=7, source="pricecharting", key="ungraded"):
    """A price of `before` cents `days` days ago and `after` now."""
    start = NOW.replace(hour=0) - days * DAY
    record_observations(
        Observation(card_id=card.pk, source=source, price_key=key, market=cents, observed_at=when)
        for cents, when in ((before, start), (after, NOW.replace(hour=0)))
    )


# Syncs


def test_owned_and_watched_cards_are_due_at_the_hot_interval(settings):
    settings.PRICE_SYNC_HOT_INTERVAL_MINUTES = 60
    settings.PRICE_SYNC_INTERVAL_HOURS = 24
    owned, watched, cold = make_card(), make_card(), make_card()
    make_item(card=owned)
    Watch.objects.create(user=make_user(), card=watched)
    SyncState.objects.bulk_create(
        SyncState(card=card, source="pricecharting", checked_at=NOW - dt.timedelta(hours=2))
        for card in (owned, watched, cold)
    )

    assert set(sync.due_cards("pricecharting")) == {owned, watched}


def test_owned_and_watched_cards_are_not_due_again_within_the_hot_interval(settings):
    settings.PRICE_SYNC_HOT_INTERVAL_MINUTES = 60
    owned = make_card()
    make_item(card=owned)
    SyncState.objects.create(
        card=owned, source="pricecharting", checked_at=NOW - dt.timedelta(minutes=30)
    )

    assert list(sync.due_cards("pricecharting")) == []


# The daily digest


def test_the_digest_covers_alerted_watched_and_owned_cards_only():
    user = make_user()
    watched, owned, other_s = make_card(), make_card(), make_card()
    Watch.objects.create(user=user, card=watched)
    make_item(make_collection(user=user), owned)
    make_item(card=other_s)  # someone else's collection
    Watch.objects.create(user=make_user(), card=other_s)

    assert set(Card.objects.filter(pk__in=digest_card_ids(user))) == {watched, owned}


def test_the_digest_reports_a_watched_card_s_move():
    user = make_user(email="brock@example.com")
    preferences = EmailPreferences.for_user(user)
    preferences.daily_digest = True
    preferences.save()
    onix = make_card(name="Onix")
    Watch.objects.create(user=user, card=onix)
    move(onix, 1000, 1250, days=1)

    assert send_daily_digests()["sent"] == 1

    [message] = mail.outbox
    assert "Onix" in message.body
    assert "+25.0%" in message.body
    assert "Among the cards you own, watch or have alerts on." in message.body


# Movers: most watched


def test_movers_list_the_most_watched_cards_of_the_game(client):
    pokemon = make_set(game=Game.POKEMON)
    favourite, liked, unwatched = (make_card(card_set=pokemon, name=n) for n in "ABC")
    luffy = make_card(card_set=make_set(game=Game.ONEPIECE), name="Luffy")
    move(favourite, 1000, 1100)
    collectors = [make_user() for _ in range(3)]
    for card, watchers in [(favourite, collectors), (liked, collectors[:1]), (luffy, collectors)]:
        Watch.objects.bulk_create(Watch(user=user, card=card) for user in watchers)
    movers.refresh_rankings()  # the movers-refresh job (bulk_create sends no signal)

    response = client.get("/movers/")

    rows = response.context["movers"].most_watched
    assert [(card.name, price and price.period_change) for card, price in rows] == [
        ("A", 10.0),
        ("B", None),
    ]
    html = response.content.decode()
    assert "Most watched" in html and "Most viewed" not in html
    assert "Nobody watches a One Piece card yet." not in html
    onepiece = client.get("/movers/", {"game": "onepiece"}).context["movers"].most_watched
    assert [card.name for card, _ in onepiece] == ["Luffy"]


def test_movers_say_when_nobody_watches_a_game_s_card(client):
    make_card(card_set=make_set(game=Game.ONEPIECE))
    html = client.get("/movers/", {"game": "onepiece"}).content.decode()
    assert "Nobody watches a One Piece card yet." in html


# Home: my watchlist


def watch_cards(user, count, card_set=None):
    card_set = card_set or make_set()
    cards = []
    for n in range(count):
        card = make_card(card_set=card_set, name=f"Watched {n}")
        move(card, 1000, 1000 + 10 * (n + 1))
        Watch.objects.create(user=user, card=card)
        cards.append(card)
    return cards


def watchlist_section(html: str) -> str:
    start = html.index('id="watchlist-heading"')
    return html[start : html.index("</section>", start)]


def test_home_shows_a_signed_in_user_s_watchlist_with_price_and_weekly_change(client):
    user = make_user()
    [card] = watch_cards(user, 1)
    client.force_login(user)

    html = client.get("/").content.decode()

    section = watchlist_section(html)
    assert "My watchlist" in section
    assert card.name in section and card.get_absolute_url() in section
    assert "$10.10" in section and "+1.0%" in section
    assert 'href="/collections/watchlist/"' in section


def test_home_watchlist_shows_the_latest_twelve_and_links_to_all(client):
    user = make_user()
    cards = watch_cards(user, HOME_WATCHLIST_SIZE + 2)
    client.force_login(user)

    response = client.get("/")

    rows = response.context["watchlist"]["rows"]
    assert len(rows) == HOME_WATCHLIST_SIZE
    assert rows[0][0] == cards[-1]  # the latest watched first
    assert "All your watched cards" in watchlist_section(response.content.decode())


def test_home_watchlist_without_prices_or_watches_says_what_to_do(client):
    user = make_user()
    client.force_login(user)
    section = watchlist_section(client.get("/").content.decode())
    assert "You are not watching any cards yet." in section
    assert "choose <strong>Watch</strong>" in section

    Watch.objects.create(user=user, card=make_card(name="Unpriced"))
    section = watchlist_section(client.get("/").content.decode())
    assert "Unpriced" in section and "No price" in section


def test_home_has_no_watchlist_for_anonymous_visitors(client):
    watch_cards(make_user(), 2)
    html = client.get("/").content.decode()
    assert "My watchlist" not in html
    assert "watchlist" not in client.get("/").context


def test_home_watchlist_takes_the_same_queries_for_one_or_twelve_cards(client):
    user = make_user()
    client.force_login(user)

    def queries():
        client.get("/")  # the movers' ranking is cached: count it out of both
        with CaptureQueriesContext(connection) as context:
            assert client.get("/").status_code == 200
        return len(context.captured_queries)

    watch_cards(user, 1)
    few = queries()
    watch_cards(user, HOME_WATCHLIST_SIZE + 3)
    assert queries() == few


def test_watching_and_unwatching_a_card_ranks_the_most_watched_again(client):
    card = make_card(card_set=make_set(game=Game.POKEMON), name="Favourite")
    move(card, 1000, 1100)
    client.force_login(make_user())

    client.post(f"/collections/watch/{card.pk}/", {"watch": "1"})
    watched = client.get("/movers/").context["movers"].most_watched
    assert [c.name for c, _ in watched] == ["Favourite"]

    client.post(f"/collections/watch/{card.pk}/", {"watch": "0"})
    assert client.get("/movers/").context["movers"].most_watched == []
