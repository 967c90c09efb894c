"""With the cache down, every page and login still render, and the cache comes back by
itself. The outage is real: a Redis address where nothing listens, or a private
redis-server stopped halfway."""

import logging

import pytest
from django.core.cache import cache
from django.test import override_settings

from api.models import ApiKey
from tcgtracker.lib import cache as fail_open
from tests.factories import make_card, make_user, record_prices
from tests.services import RedisServer

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
# allauth's defaults, which the suite otherwise switches off: they live in the cache.
ALLAUTH_RATE_LIMITS = {"login": "30/m/ip", "login_failed": "10/m/ip,5/5m/key"}


def redis_cache(url: str) -> dict:
    return {
        "default": {
            "BACKEND": "tcgtracker.lib.cache.FailOpenRedisCache",
            "LOCATION": url,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }


@pytest.fixture
def catalog():
    card = make_card(name="Charizard", rarity="Rare Holo")
    record_prices(card, {"ungraded": 29662, "PSA 10": 2500000})
    return card


def walk(client, card, api_secret):
    """Every kind of public page, the API and a log-in: (url, status) of each."""
    seen = []
    urls = [
        "/",
        "/cards/",
        "/cards/?q=charizard",
        f"/cards/?set={card.card_set.code}",
        card.get_absolute_url(),
        f"/cards/{card.pk}/prices/table/",
        f"/cards/{card.pk}/prices/history/?period=30d",
        "/sets/",
        f"/sets/{card.card_set.game}/{card.card_set.code}/",
        "/movers/",
        "/accounts/login/",
        "/health/",
    ]
    for url in urls:
        seen.append((url, client.get(url).status_code))
    api = client.get("/api/v1/cards?q=charizard", headers={"X-API-Key": api_secret})
    seen.append(("/api/v1/cards", api.status_code))
    user = make_user(password=PASSWORD)
    login = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    seen.append(("POST /accounts/login/", login.status_code))
    seen.append(("/collections/ (logged in)", client.get("/collections/").status_code))
    return seen


def test_every_page_and_login_render_with_the_cache_down(client, catalog, caplog):
    _, secret = ApiKey.issue(make_user(), "script")
    caplog.set_level(logging.WARNING, logger="tcgtracker.lib.cache")
    # Port 1 on loopback: connections are refused, as when Redis is stopped.
    with override_settings(
        CACHES=redis_cache("redis://127.0.0.1:1/3"), ACCOUNT_RATE_LIMITS=ALLAUTH_RATE_LIMITS
    ):
        seen = walk(client, catalog, secret)
    assert [(url, status) for url, status in seen if status >= 400] == []
    assert dict(seen)["POST /accounts/login/"] == 302  # logged in, sent on
    # Logged once for the whole outage, not once per cache call.
    outage_lines = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(outage_lines) == 1


def test_the_api_rate_limit_lets_requests_through_while_the_cache_is_down(client, settings):
    settings.API_RATE_LIMIT_PER_HOUR = 2
    _, secret = ApiKey.issue(make_user(), "script")
    with override_settings(CACHES=redis_cache("redis://127.0.0.1:1/4")):
        answers = [client.get("/api/v1/sets", headers={"X-API-Key": secret}) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200] * 4


def test_the_cache_comes_back_by_itself_when_redis_does(client, catalog, monkeypatch, caplog):
    monkeypatch.setattr(fail_open, "RETRY_SECONDS", 0.0)
    caplog.set_level(logging.WARNING, logger="tcgtracker.lib.cache")
    redis = RedisServer().start()
    try:
        with override_settings(CACHES=redis_cache(redis.url)):
            cache.set("before", 1)
            assert cache.get("before") == 1
            redis.stop()
            assert client.get("/cards/?q=charizard").status_code == 200
            assert cache.get("before") is None and cache.add("lock", 1) is True
            redis.start()  # the same port, empty
            assert client.get("/cards/?q=charizard").status_code == 200
            cache.set("after", 2)
            assert cache.get("after") == 2
            assert client.get("/health/").json()["checks"]["cache"] == "ok"
    finally:
        redis.stop()
    messages = [r.getMessage() for r in caplog.records]
    assert any("unreachable" in m for m in messages)
    assert any("answers again" in m for m in messages)


def test_clearing_the_cache_deletes_only_this_installs_keys():
    """Two installs (or test processes, or a task broker) may share one Redis database:
    clearing one's cache leaves the others' keys alone."""
    redis = RedisServer().start()
    try:
        ours = {**redis_cache(redis.url)["default"], "KEY_PREFIX": "ours"}
        theirs = {**ours, "KEY_PREFIX": "theirs"}
        with override_settings(CACHES={"default": ours, "other": theirs}):
            from django.core.cache import caches

            caches["default"].set("page", "ours")
            caches["other"].set("page", "theirs")
            caches["default"].clear()
            assert caches["default"].get("page") is None
            assert caches["other"].get("page") == "theirs"
    finally:
        redis.stop()
