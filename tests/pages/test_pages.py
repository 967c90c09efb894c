import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cards.models import Card, Game
from tests.factories import make_card, make_set, make_user

pytestmark = pytest.mark.django_db


def test_home_lists_sets_that_have_cards(client):
    card_set = make_set(name="Scarlet & Violet 151", code="sv3pt5")
    make_card(card_set=card_set)
    make_set(name="Empty Set", code="empty1")
    html = client.get("/").content.decode()
    assert "Scarlet &amp; Violet 151" in html
    assert "Empty Set" not in html


def test_home_has_an_empty_state_without_a_catalog(client):
    assert "No Pokémon cards in the catalog yet" in client.get("/").content.decode()


def test_set_list_is_per_game(client):
    make_set(game=Game.POKEMON, name="Base", code="base1")
    make_set(game=Game.ONEPIECE, name="Romance Dawn", code="OP01")
    pokemon = client.get("/sets/").content.decode()
    assert "Base" in pokemon and "Romance Dawn" not in pokemon
    onepiece = client.get("/sets/", {"game": "onepiece"}).content.decode()
    assert "Romance Dawn" in onepiece and ">Base<" not in onepiece


def test_set_page_lists_cards_in_number_order(client):
    card_set = make_set(code="base1", name="Base")
    for number in ["10", "2", "1"]:
        make_card(card_set=card_set, number=number, name=f"Card {number}")
    response = client.get("/sets/pokemon/base1/")
    assert [card.number for card in response.context["page"].object_list] == ["1", "2", "10"]


def test_a_large_set_is_paged(client, settings):
    settings.SET_PAGE_SIZE = 2
    card_set = make_set(code="big1")
    for number in range(1, 6):
        make_card(card_set=card_set, number=str(number))
    html = client.get("/sets/pokemon/big1/", {"page": 3}).content.decode()
    assert "Cards 5–5 of 5" in html
    assert 'rel="prev"' in html


def test_set_page_redirects_to_the_canonical_code_case(client):
    make_set(game=Game.ONEPIECE, code="OP01", name="Romance Dawn")
    response = client.get("/sets/onepiece/op01/")
    assert response.status_code == 301
    assert response["Location"] == "/sets/onepiece/OP01/"


def test_unknown_set_and_card_are_404(client):
    assert client.get("/sets/pokemon/nope/").status_code == 404
    assert client.get("/cards/999999/").status_code == 404


def test_card_page_shows_facts_and_an_honest_prices_placeholder(client):
    card_set = make_set(code="base1", name="Base", printed_total=102)
    card = make_card(
        card_set=card_set,
        number="4",
        name="Charizard",
        rarity="Rare Holo",
        image_url="https://images.pokemontcg.io/base1/4.png",
    )
    response = client.get(card.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "Charizard" in html and "4/102" in html and "Rare Holo" in html
    assert 'alt="Charizard, Base 4/102"' in html
    assert "No prices recorded for this card yet" in html


def test_card_page_links_other_prints_of_the_same_number(client):
    card_set = make_set(game=Game.ONEPIECE, code="OP01", name="Romance Dawn", printed_total=None)
    base = make_card(card_set=card_set, number="OP01-001", name="Roronoa Zoro")
    parallel = make_card(card_set=card_set, number="OP01-001", variant="p1", name="Roronoa Zoro")
    html = client.get(base.get_absolute_url()).content.decode()
    assert parallel.get_absolute_url() in html
    assert "Parallel 1" in html


def test_card_short_url_redirects_to_the_slugged_one(client):
    card = make_card(name="Mr. Mime")
    response = client.get(f"/cards/{card.pk}/")
    assert response.status_code == 301
    assert response["Location"] == f"/cards/{card.pk}/mr-mime/"


def test_the_redirect_to_the_card_s_full_address_keeps_the_chart_period(client):
    card = make_card(name="Mr. Mime")
    response = client.get(f"/cards/{card.pk}/", {"period": "1y"})
    assert response.status_code == 301
    assert response["Location"] == f"/cards/{card.pk}/mr-mime/?period=1y"
    old_slug = client.get(f"/cards/{card.pk}/mime/?period=all&q=a%26b")
    assert old_slug["Location"] == f"/cards/{card.pk}/mr-mime/?period=all&q=a%26b"


def test_set_page_query_count_does_not_grow_with_cards(client):
    card_set = make_set(code="grow2")
    make_card(card_set=card_set)

    def count():
        cache.clear()  # the set's value and most valuable cards are cached
        with CaptureQueriesContext(connection) as context:
            client.get(card_set.get_absolute_url())
        return len(context.captured_queries)

    few = count()
    for _ in range(20):
        make_card(card_set=card_set)
    assert count() == few


def test_pages_work_at_phone_width_markup(client):
    html = client.get("/").content.decode()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert 'class="skip-link"' in html


@pytest.fixture
def staff_client(client):
    admin = make_user(is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_admin_catalog_pages_render(staff_client):
    card = make_card(name="Charizard", pricecharting_id="630417")
    urls = [
        "/admin/",
        "/admin/cards/cardset/",
        "/admin/cards/cardset/?game__exact=pokemon",
        f"/admin/cards/cardset/{card.card_set.pk}/change/",
        "/admin/cards/cardset/add/",
        "/admin/cards/card/",
        "/admin/cards/card/?q=charizard",
        "/admin/cards/card/?card_set__game=pokemon&kind__exact=single",
        f"/admin/cards/card/{card.pk}/change/",
        "/admin/cards/card/add/",
    ]
    for url in urls:
        assert staff_client.get(url).status_code == 200, url


def test_admin_bulk_action_marks_cards_sealed(staff_client):
    cards = [make_card(), make_card()]
    response = staff_client.post(
        "/admin/cards/card/",
        {"action": "mark_sealed", "_selected_action": [card.pk for card in cards]},
        follow=True,
    )
    assert response.status_code == 200
    assert set(Card.objects.values_list("kind", flat=True)) == {Card.Kind.SEALED}


def test_renaming_a_set_in_the_admin_refreshes_its_cards_search_words(staff_client):
    card = make_card(card_set=make_set(name="Old Name", code="old1"))
    card_set = card.card_set
    response = staff_client.post(
        f"/admin/cards/cardset/{card_set.pk}/change/",
        {"game": card_set.game, "code": "old1", "name": "Shiny New Name", "language": "en"},
    )
    assert response.status_code == 302
    card.refresh_from_db()
    assert "shiny new name" in card.search_document


def test_admin_is_staff_only(client):
    make_user()
    assert client.get("/admin/cards/card/").status_code == 302


def test_admin_action_syncs_the_selected_cards_now(staff_client, settings):
    from jobs.models import JobRun
    from prices.models import PricePoint

    settings.PRICE_SOURCES = {
        **settings.PRICE_SOURCES,
        "demo": {**settings.PRICE_SOURCES["demo"], "enabled": True},
    }
    card = make_card()
    make_card()
    response = staff_client.post(
        "/admin/cards/card/",
        {"action": "sync_prices_now", "_selected_action": [card.pk]},
        follow=True,
    )
    assert "Price sync of 1 cards queued for demo" in response.content.decode()
    assert JobRun.objects.get().source == "demo"
    assert set(PricePoint.objects.values_list("card_id", flat=True)) == {card.pk}


def test_card_views_count_towards_popularity_once_per_visitor(client):
    card = make_card()
    client.get(card.get_absolute_url())
    client.get(card.get_absolute_url())
    client.get(card.get_absolute_url(), REMOTE_ADDR="10.0.0.9")
    card.refresh_from_db()
    assert card.popularity == 2
