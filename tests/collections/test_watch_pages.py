import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from collections_app.models import Watch
from prices.writing import Observation, record_observations
from tests.factories import make_card, make_user, record_prices

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def user():
    return make_user()


@pytest.fixture
def client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def card():
    return make_card(name="Charizard")


def test_watch_toggles_on_and_off(user, client, card):
    url = reverse("collections:toggle_watch", args=[card.pk])

    client.post(url)
    assert Watch.objects.filter(user=user, card=card).exists()
    client.post(url)
    assert not Watch.objects.filter(user=user, card=card).exists()


def test_an_explicit_watch_is_not_undone_by_a_second_click(user, client, card):
    url = reverse("collections:toggle_watch", args=[card.pk])

    client.post(url, {"watch": "1"})
    client.post(url, {"watch": "1"})

    assert Watch.objects.filter(user=user, card=card).count() == 1


def test_the_htmx_answer_is_the_pressed_button(client, card):
    response = client.post(
        reverse("collections:toggle_watch", args=[card.pk]), {"watch": "1"}, **HTMX
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<form method="post"')
    assert 'aria-pressed="true"' in html
    assert "Watching" in html
    assert 'name="watch" value="0"' in html


def test_without_javascript_it_goes_back_to_a_safe_next_or_the_card(client, card):
    url = reverse("collections:toggle_watch", args=[card.pk])

    back = client.post(url, {"watch": "1", "next": "/cards/search/?q=char"})
    assert back["Location"] == "/cards/search/?q=char"

    unsafe = client.post(url, {"watch": "0", "next": "https://evil.example/"})
    assert unsafe["Location"] == card.get_absolute_url()

    scheme_relative = client.post(url, {"watch": "1", "next": "//evil.example/"})
    assert scheme_relative["Location"] == card.get_absolute_url()


def test_watching_an_unknown_card_is_a_404(client):
    response = client.post(reverse("collections:toggle_watch", args=[999999]))

    assert response.status_code == 404


def test_the_card_page_button_says_watching_once_watched(user, client, card):
    Watch.objects.create(user=user, card=card)

    html = client.get(card.get_absolute_url()).content.decode()

    assert 'aria-pressed="true"' in html
    assert "Watching" in html


def test_the_watchlist_shows_the_raw_price_and_its_7_day_change(user, client, card):
    now = timezone.now().replace(microsecond=0)
    record_observations(
        Observation(
            card_id=card.pk,
            source="pricecharting",
            price_key="ungraded",
            market=cents,
            observed_at=now - dt.timedelta(days=days, hours=1),
        )
        for days, cents in [(7, 4000), (0, 5000)]
    )
    record_prices(card, {"PSA 10": 90000})
    Watch.objects.create(user=user, card=card)

    response = client.get(reverse("collections:watchlist"))

    html = response.content.decode()
    assert "Charizard" in html
    assert "$50.00" in html
    assert "+25.0%" in html
    assert "$900.00" not in html
    assert 'aria-label="Unwatch Charizard"' in html


def test_the_watchlist_says_when_a_card_has_no_price_and_when_it_is_empty(user, client, card):
    empty = client.get(reverse("collections:watchlist")).content.decode()
    assert "You are not watching any cards." in empty

    Watch.objects.create(user=user, card=card)
    listed = client.get(reverse("collections:watchlist")).content.decode()
    assert "No raw price yet" in listed


def test_demo_prices_on_the_watchlist_are_tagged_simulated(user, client, card):
    record_prices(card, {"ungraded": 1000}, source="demo")
    Watch.objects.create(user=user, card=card)

    html = client.get(reverse("collections:watchlist")).content.decode()

    assert "Simulated" in html
    assert "Demo prices are a simulation, not market data." in html


def test_unwatching_from_the_watchlist_removes_the_row(user, client, card):
    Watch.objects.create(user=user, card=card)
    Watch.objects.create(user=user, card=make_card())

    response = client.post(
        reverse("collections:toggle_watch", args=[card.pk]),
        {"watch": "0", "from": "watchlist"},
        **HTMX,
    )

    assert response.status_code == 200
    assert response.content == b""
    assert not Watch.objects.filter(card=card).exists()


def test_unwatching_the_last_card_on_the_watchlist_shows_the_empty_state(user, client, card):
    Watch.objects.create(user=user, card=card)

    response = client.post(
        reverse("collections:toggle_watch", args=[card.pk]),
        {"watch": "0", "from": "watchlist"},
        **HTMX,
    )

    assert response["HX-Retarget"] == "#watchlist"
    assert response["HX-Reswap"] == "outerHTML"
    assert "You are not watching any cards." in response.content.decode()
    assert not Watch.objects.exists()


def test_the_watchlist_query_count_does_not_grow_with_watches(user, client):
    def watch(count):
        for _ in range(count):
            card = make_card()
            record_prices(card, {"ungraded": 1000, "NM": 1200})
            Watch.objects.create(user=user, card=card)

    watch(1)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("collections:watchlist"))
    watch(9)
    with CaptureQueriesContext(connection) as ten:
        response = client.get(reverse("collections:watchlist"))
    assert response.content.decode().count('<tr id="watch-') == 10
    assert len(ten) == len(one)


def test_the_admin_names_watches_in_plain_english(client):
    client.force_login(make_user(is_staff=True, is_superuser=True))
    html = client.get("/admin/").content.decode()
    assert ">Watches<" in html
    assert "Watchs" not in html
