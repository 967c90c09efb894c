import pytest

from cards.catalog_sync import pokemon_http, sync_catalog
from cards.models import Card, CardSet, Game
from jobs.models import JobRun
from tcgtracker.lib.http import SourceConfig, SourceHttp
from tests.factories import make_user
from tests.fakes.catalog import (
    optcg_card,
    pokemon_card,
    pokemon_set,
    serve_optcg,
    serve_pokemon,
)
from tests.fakes.server import Reply

pytestmark = pytest.mark.django_db


def http_for(server, name):
    config = SourceConfig(
        name=name,
        enabled=True,
        base_url=server.url,
        credentials={},
        rate_limit=(1000, 60),
        batch_size=250,
        options={},
    )
    return SourceHttp(config, backoff_factor=0.001, retries=1)


def test_new_pokemon_sets_and_cards_appear(fake_server):
    cards = [pokemon_card("sv3pt5", n, f"Card {n}") for n in range(1, 301)]
    serve_pokemon(fake_server, [pokemon_set("sv3pt5", "151", total=300)], cards)
    [run] = sync_catalog(Game.POKEMON, https={Game.POKEMON: http_for(fake_server, "pokemontcg")})
    assert run.status == JobRun.Status.SUCCEEDED
    assert CardSet.objects.get(code="sv3pt5").name == "151"
    assert Card.objects.filter(card_set__code="sv3pt5").count() == 300  # two pages of 250
    assert len(fake_server.calls("GET", "/cards")) == 2


def test_a_complete_set_is_not_fetched_again(fake_server):
    serve_pokemon(
        fake_server,
        [pokemon_set("sv3pt5", "151", total=2)],
        [pokemon_card("sv3pt5", 1, "Bulbasaur"), pokemon_card("sv3pt5", 2, "Ivysaur")],
    )
    https = {Game.POKEMON: http_for(fake_server, "pokemontcg")}
    sync_catalog(Game.POKEMON, https=https)
    [run] = sync_catalog(Game.POKEMON, https=https)
    assert len(fake_server.calls("GET", "/cards")) == 1
    assert run.written == 0


def test_staff_edits_survive_a_sync(fake_server, client):
    serve_pokemon(
        fake_server,
        [pokemon_set("sv3pt5", "151", total=3)],
        [pokemon_card("sv3pt5", 1, "Bulbasaur")],
    )
    https = {Game.POKEMON: http_for(fake_server, "pokemontcg")}
    sync_catalog(Game.POKEMON, https=https)
    card = Card.objects.get()
    client.force_login(make_user(is_staff=True, is_superuser=True))
    response = client.post(
        f"/admin/cards/card/{card.pk}/change/",
        {
            "card_set": card.card_set_id,
            "number": "1",
            "variant": "",
            "name": "Bulbasaur (staff)",
            "rarity": "Common",
            "kind": "single",
            "category": "Pokémon",
            "color": "",
            "printed_in": "",
            "image_url": card.image_url,
            "pricecharting_id": "",
            "tcgplayer_id": "",
            "justtcg_id": "",
            "ebay_query": "",
            "popularity": 0,
        },
    )
    assert response.status_code == 302
    sync_catalog(Game.POKEMON, https=https)
    card.refresh_from_db()
    assert card.name == "Bulbasaur (staff)"
    assert card.curated_fields == ["name"]


def test_one_piece_sets_and_parallels_appear(fake_server):
    serve_optcg(
        fake_server,
        [{"set_id": "OP-01", "set_name": "Romance Dawn"}],
        {
            "OP-01": [
                optcg_card("OP01-001", "Roronoa Zoro"),
                optcg_card("OP01-001", "Roronoa Zoro", "p1"),
            ]
        },
    )
    [run] = sync_catalog(Game.ONEPIECE, https={Game.ONEPIECE: http_for(fake_server, "optcg")})
    assert run.status == JobRun.Status.SUCCEEDED
    assert sorted(Card.objects.values_list("number", "variant")) == [
        ("OP01-001", ""),
        ("OP01-001", "p1"),
    ]


def test_a_failing_api_fails_the_run_and_writes_nothing(fake_server):
    fake_server.route("GET", "/sets", lambda request: Reply(status=503, body="down"))
    [run] = sync_catalog(Game.POKEMON, https={Game.POKEMON: http_for(fake_server, "pokemontcg")})
    assert run.status == JobRun.Status.FAILED
    assert run.errors
    assert not CardSet.objects.exists()


def test_the_api_key_is_sent_when_configured(fake_server, settings):
    settings.POKEMONTCG_API_KEY = "pokemon-key"
    settings.POKEMONTCG_BASE_URL = fake_server.url
    serve_pokemon(fake_server, [], [])
    sync_catalog(Game.POKEMON)
    assert fake_server.calls("GET", "/sets")[0].headers["x-api-key"] == "pokemon-key"
    assert pokemon_http().config.rate_limit == (30, 60)
