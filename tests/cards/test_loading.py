"""The catalog loader and the load_catalog command.

Every input file is written by the test itself into tmp_path; the only data files in the
repository are the shipped demo catalog.
"""

import csv
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cards.loading import (
    FORMATS,
    Rejection,
    demo_catalog_paths,
    load_files,
    load_records,
)
from cards.models import Card, CardSet, Game
from tests.factories import make_card, make_set

pytestmark = pytest.mark.django_db

POKEMON_SETS_HEADER = "id,name,series,printed_total,total,ptcgo_code,release_date"
POKEMON_CARDS_HEADER = "id,set_id,number,name,rarity,supertype,image_small,tcgplayer_url"
ONEPIECE_SETS_HEADER = "code,name,release_date"
ONEPIECE_CARDS_HEADER = "code,variant,set_code,set_name,name,rarity,card_type,color,image_url"

BASE_SET = "base1,Base,Base,102,102,BS,1999-01-09"
JUNGLE = "base2,Jungle,Base,64,64,JU,1999-06-16"
ALAKAZAM = "base1-1,base1,1,Alakazam,Rare Holo,Pokémon,https://images.pokemontcg.io/base1/1.png,"
BLASTOISE = "base1-2,base1,2,Blastoise,Rare Holo,Pokémon,https://images.pokemontcg.io/base1/2.png,"


def write(tmp_path, name, *lines, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def write_json(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def snapshot():
    """Every set and card with its last-modified time: equal snapshots, no change."""
    return (
        sorted(CardSet.objects.values_list("pk", "updated")),
        sorted(Card.objects.values_list("pk", "updated", "search_document")),
    )


def data_rows(path):
    with path.open(encoding="utf-8-sig", newline="") as f:
        return sum(1 for _ in csv.DictReader(f))


@pytest.fixture
def base_set_files(tmp_path):
    sets = write(tmp_path, "sets.csv", POKEMON_SETS_HEADER, BASE_SET, JUNGLE)
    cards = write(tmp_path, "cards.csv", POKEMON_CARDS_HEADER, ALAKAZAM, BLASTOISE)
    return sets, cards


# --- The demo catalog ---------------------------------------------------------------


def test_demo_catalog_loads_every_set_and_card():
    report = load_files(demo_catalog_paths())

    assert report.ok and report.rejections == []
    created = {file.name: (file.sets.created, file.cards.created) for file in report.files}
    assert created == {
        "pokemon_sets.csv": (177, 0),
        "onepiece_sets.csv": (45, 0),
        "pokemon_cards.csv": (0, 309),
        "onepiece_cards.csv": (0, 271),
    }
    assert CardSet.objects.filter(game=Game.POKEMON).count() == 177
    assert CardSet.objects.filter(game=Game.ONEPIECE).count() == 45
    assert Card.objects.filter(card_set__game=Game.POKEMON).count() == 309
    assert Card.objects.filter(card_set__game=Game.ONEPIECE).count() == 271


def test_demo_catalog_counts_match_the_shipped_files():
    sizes = {path.name: data_rows(path) for path in demo_catalog_paths()}

    assert sizes == {
        "pokemon_sets.csv": 177,
        "onepiece_sets.csv": 45,
        "pokemon_cards.csv": 309,
        "onepiece_cards.csv": 271,
    }


def test_demo_catalog_paths_list_sets_files_first():
    paths = demo_catalog_paths()

    assert [path.name for path in paths] == [
        "pokemon_sets.csv",
        "onepiece_sets.csv",
        "pokemon_cards.csv",
        "onepiece_cards.csv",
    ]
    assert all(path.is_file() for path in paths)


def test_demo_catalog_one_piece_prints_keep_their_variant_and_product():
    load_files(demo_catalog_paths())

    prints = {
        card.variant: card.printed_in
        for card in Card.objects.filter(card_set__code="OP01", number="OP01-001")
    }
    assert prints == {"": "", "p1": "", "p2": "Premium Card Collection -25th Edition-"}


def test_loaded_cards_get_their_search_document_and_sort_number():
    load_files(demo_catalog_paths())

    charizard = Card.objects.get(card_set__code="sv3pt5", number="199")
    assert charizard.sort_number == 199
    assert "charizard" in charizard.search_document
    assert "sv3pt5" in charizard.search_document
    assert "151" in charizard.search_document  # the set's name
    zoro_parallel = Card.objects.get(number="OP01-001", variant="p1")
    assert zoro_parallel.sort_number == 1
    assert "parallel 1" in zoro_parallel.search_document
    assert not Card.objects.filter(search_document="").exists()


# --- Idempotence and updates -----------------------------------------------------------


def test_loading_twice_changes_nothing():
    load_files(demo_catalog_paths())
    before = snapshot()

    report = load_files(demo_catalog_paths())

    assert report.ok
    unchanged = {file.name: (file.sets.unchanged, file.cards.unchanged) for file in report.files}
    assert unchanged == {
        "pokemon_sets.csv": (177, 0),
        "onepiece_sets.csv": (45, 0),
        "pokemon_cards.csv": (0, 309),
        "onepiece_cards.csv": (0, 271),
    }
    assert not any(file.sets.created + file.sets.updated for file in report.files)
    assert not any(file.cards.created + file.cards.updated for file in report.files)
    assert snapshot() == before


def test_a_changed_row_is_updated_and_the_others_are_unchanged(tmp_path, base_set_files):
    load_files(base_set_files)
    blastoise_before = Card.objects.get(number="2")
    changed = write(
        tmp_path,
        "cards-v2.csv",
        POKEMON_CARDS_HEADER,
        ALAKAZAM.replace("Rare Holo", "Rare Holo Star"),
        BLASTOISE,
    )

    report = load_files([changed])

    cards = report.files[0].cards
    assert (cards.created, cards.updated, cards.unchanged) == (0, 1, 1)
    alakazam = Card.objects.get(number="1")
    assert alakazam.rarity == "Rare Holo Star"
    assert "rare holo star" in alakazam.search_document
    assert alakazam.updated > alakazam.created
    assert Card.objects.get(number="2").updated == blastoise_before.updated


def test_a_cards_file_is_written_in_bulk_not_row_by_row(tmp_path):
    sets, cards = demo_catalog_paths()[0], demo_catalog_paths()[2]
    load_files([sets])
    renamed = tmp_path / "renamed.csv"
    renamed.write_text(cards.read_text(encoding="utf-8").replace(",Pokémon,", ",Pokemon,"))

    with CaptureQueriesContext(connection) as first_load:
        load_files([cards])
    with CaptureQueriesContext(connection) as reload:
        report = load_files([renamed])

    assert report.files[0].cards.updated == 254
    # Two reads, then inserts or updates in batches (SQLite caps a statement's
    # parameters, so its batches are smaller than PostgreSQL's single statement).
    assert len(first_load) < 15
    assert len(reload) < 15


def test_renaming_a_set_refreshes_its_cards_search_documents(tmp_path, base_set_files):
    load_files(base_set_files)
    renamed = write(
        tmp_path, "sets-v2.csv", POKEMON_SETS_HEADER, BASE_SET.replace(",Base,", ",Base Set,", 1)
    )

    report = load_files([renamed])

    assert report.files[0].sets.updated == 1
    assert CardSet.objects.get(code="base1").name == "Base Set"
    assert all("base set" in card.search_document for card in Card.objects.all())


def test_staff_external_ids_survive_a_reload(base_set_files):
    load_files(base_set_files)
    Card.objects.filter(number="1").update(
        pricecharting_id="pc-1", tcgplayer_id="42382", justtcg_id="jt-1", ebay_query="alakazam base"
    )

    load_files(base_set_files)

    card = Card.objects.get(number="1")
    assert (card.pricecharting_id, card.tcgplayer_id, card.justtcg_id, card.ebay_query) == (
        "pc-1",
        "42382",
        "jt-1",
        "alakazam base",
    )


def test_a_blank_value_in_a_file_does_not_wipe_a_stored_one(tmp_path):
    card_set = make_set(game=Game.ONEPIECE, code="ST01", name="Straw Hat Crew", release_date=None)
    CardSet.objects.filter(pk=card_set.pk).update(release_date="2022-12-02")
    sets = write(tmp_path, "op_sets.csv", ONEPIECE_SETS_HEADER, "ST01,Straw Hat Crew,")

    report = load_files([sets])

    assert report.files[0].sets.unchanged == 1
    assert str(CardSet.objects.get(code="ST01").release_date) == "2022-12-02"


def test_a_tcgplayer_product_url_fills_the_tcgplayer_id(tmp_path, base_set_files):
    sets, _ = base_set_files
    cards = write(
        tmp_path,
        "cards.csv",
        POKEMON_CARDS_HEADER,
        ALAKAZAM + "https://www.tcgplayer.com/product/42382/pokemon-base-set-alakazam",
    )

    load_files([sets, cards])

    assert Card.objects.get(number="1").tcgplayer_id == "42382"


# --- Rejected rows ---------------------------------------------------------------------


BAD_SETS_LINES = [
    POKEMON_SETS_HEADER,  # line 1
    BASE_SET,  # line 2: good
    "base2,,Base,64,64,JU,1999-06-16",  # line 3: no name
    "base3,Fossil,Base,62,62,FO,1999-13-10",  # line 4: no 13th month
    "base4,Base Set 2,Base,130,lots,B2,2000-02-24",  # line 5: total not a number
    f"base5,{'Team Rocket' * 20},Base,82,83,TR,2000-04-24",  # line 6: name too long
    "base1,Base again,Base,102,102,BS,1999-01-09",  # line 7: duplicate of line 2
    "gym1,Gym Heroes,Gym,132,132,G1,2000-08-14",  # line 8: good
]


def test_bad_rows_are_reported_with_file_line_and_reason(tmp_path):
    path = write(tmp_path, "bad_sets.csv", *BAD_SETS_LINES)

    report = load_files([path])

    assert [(r.file, r.line) for r in report.rejections] == [
        ("bad_sets.csv", line) for line in (3, 4, 5, 6, 7)
    ]
    reasons = [r.reason for r in report.rejections]
    assert reasons[0] == "name is missing"
    assert reasons[1] == "release_date '1999-13-10' is not a date (YYYY-MM-DD or YYYY/MM/DD)"
    assert reasons[2] == "total 'lots' is not a whole number (0 to 2147483647)"
    assert reasons[3] == "name is 220 characters long; at most 200 fit"
    assert reasons[4] == "duplicate of line 2 (set 'base1')"
    assert str(report.rejections[0]) == "bad_sets.csv line 3: name is missing"
    assert report.files[0].sets.rejected == 5
    assert not report.ok


def test_a_file_with_bad_rows_writes_nothing_by_default(tmp_path):
    path = write(tmp_path, "bad_sets.csv", *BAD_SETS_LINES)

    report = load_files([path])

    assert not report.files[0].written
    assert not CardSet.objects.exists()


def test_skip_bad_rows_writes_the_good_rows(tmp_path):
    path = write(tmp_path, "bad_sets.csv", *BAD_SETS_LINES)

    report = load_files([path], skip_bad_rows=True)

    assert report.ok and report.files[0].written
    assert report.files[0].sets.created == 2
    assert len(report.rejections) == 5
    assert set(CardSet.objects.values_list("code", flat=True)) == {"base1", "gym1"}


def test_a_card_of_an_unknown_set_is_rejected(tmp_path, base_set_files):
    sets, _ = base_set_files
    cards = write(
        tmp_path,
        "cards.csv",
        POKEMON_CARDS_HEADER,
        ALAKAZAM,
        ALAKAZAM.replace("base1", "xyz"),
    )

    report = load_files([sets, cards])

    assert report.rejections == [
        Rejection("cards.csv", 3, "unknown set 'xyz' — load its sets file first")
    ]
    assert not Card.objects.exists()
    assert CardSet.objects.count() == 2  # the sets file is its own transaction


def test_a_card_of_a_set_from_another_game_is_an_unknown_set(tmp_path):
    make_set(game=Game.ONEPIECE, code="base1", name="Not Pokémon")
    cards = write(tmp_path, "cards.csv", POKEMON_CARDS_HEADER, ALAKAZAM)

    report = load_files([cards])

    assert report.rejections[0].reason == "unknown set 'base1' — load its sets file first"


def test_bad_card_fields_are_each_named(tmp_path, base_set_files):
    sets, _ = base_set_files
    cards = write(
        tmp_path,
        "cards.csv",
        POKEMON_CARDS_HEADER,
        "base1-3,base1,,,Rare Holo,Pokémon,ftp://example.com/3.png,",
        "base1-4,base1,4,Charizard,Rare Holo,Pokémon",
    )

    report = load_files([sets, cards])

    assert [str(r) for r in report.rejections] == [
        "cards.csv line 2: number is missing; name is missing; "
        "image_small 'ftp://example.com/3.png' is not an http(s) URL",
        "cards.csv line 3: has 6 fields; the header has 8",
    ]


def test_a_row_is_reported_at_the_line_it_starts_on(tmp_path, base_set_files):
    sets, _ = base_set_files
    cards = write(
        tmp_path,
        "cards.csv",
        POKEMON_CARDS_HEADER,
        'base1-1,base1,1,"Alakazam\nthe second",Rare Holo,Pokémon,,',
        "base1-2,base1,,Blastoise,Rare Holo,Pokémon,,",
    )

    report = load_files([sets, cards], skip_bad_rows=True)

    assert [(r.line, r.reason) for r in report.rejections] == [(4, "number is missing")]


def test_a_crash_mid_file_rolls_the_whole_file_back(tmp_path, monkeypatch):
    cards = write_json(tmp_path, "optcg.json", [optcg_card("OP01-001")])

    def fail(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(Card.objects, "bulk_create", fail)

    with pytest.raises(RuntimeError):
        load_files([cards], skip_bad_rows=True)

    assert not CardSet.objects.exists()  # the set the file created went with it


# --- Dry run and order -------------------------------------------------------------------


def test_dry_run_writes_nothing(base_set_files):
    report = load_files(base_set_files, dry_run=True)

    assert report.ok
    assert [file.sets.created + file.cards.created for file in report.files] == [2, 2]
    assert not any(file.written for file in report.files)
    assert not CardSet.objects.exists() and not Card.objects.exists()


def test_dry_run_changes_nothing_on_a_loaded_catalog(tmp_path, base_set_files):
    load_files(base_set_files)
    before = snapshot()
    renamed = write(
        tmp_path, "sets-v2.csv", POKEMON_SETS_HEADER, BASE_SET.replace(",Base,", ",Base Set,", 1)
    )

    report = load_files([renamed], dry_run=True)

    assert report.files[0].sets.updated == 1
    assert snapshot() == before


def test_sets_files_load_before_cards_files_whatever_the_order_given(base_set_files):
    sets, cards = base_set_files

    report = load_files([cards, sets])

    assert [file.name for file in report.files] == ["sets.csv", "cards.csv"]
    assert report.ok and Card.objects.count() == 2


# --- Whole-file problems -----------------------------------------------------------------


def test_a_file_with_an_unknown_header_is_rejected_as_a_whole(tmp_path):
    path = write(tmp_path, "prices.csv", "card,price", "Alakazam,12.00")

    report = load_files([path])

    assert not report.ok
    error = report.files[0].error
    assert error.startswith("header (card,price) matches no catalog format; known headers: ")
    assert POKEMON_SETS_HEADER in error
    assert report.rejections == [Rejection("prices.csv", None, error)]


def test_a_file_that_is_not_utf8_is_rejected_with_a_clear_message(tmp_path):
    path = write(
        tmp_path,
        "latin1.csv",
        POKEMON_SETS_HEADER,
        "base1,Basé,Base,102,102,BS,1999-01-09",
        encoding="latin-1",
    )

    report = load_files([path])

    assert report.files[0].error == "not valid UTF-8 (byte 0xe9 on line 2); save it as UTF-8"
    assert not CardSet.objects.exists()


def test_a_file_that_is_not_valid_json_is_rejected_with_a_clear_message(tmp_path):
    path = tmp_path / "sets.json"
    path.write_text('[{"id": "base1", "name": "Base",}]', encoding="utf-8")

    report = load_files([path])

    assert report.files[0].error.startswith("not valid JSON (line 1 column 33: ")


def test_json_objects_of_no_known_shape_are_rejected(tmp_path):
    path = write_json(tmp_path, "prices.json", [{"product": "Alakazam", "price": 12}])

    report = load_files([path])

    assert report.files[0].error.startswith("JSON objects with keys (price, product) match no")


def test_an_empty_or_missing_file_is_rejected(tmp_path):
    empty = write(tmp_path, "empty.csv", "")

    report = load_files([empty, tmp_path / "missing.csv"])

    assert [file.error for file in report.files] == [
        "empty file",
        "cannot be read: No such file or directory",
    ]


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "sets.csv"
    path.write_bytes(("\ufeff" + POKEMON_SETS_HEADER + "\n" + BASE_SET + "\n").encode())

    report = load_files([path])

    assert report.ok and CardSet.objects.get().code == "base1"


def test_an_unreadable_file_does_not_stop_the_others(tmp_path, base_set_files):
    report = load_files([tmp_path / "missing.csv", *base_set_files])

    assert not report.ok
    assert Card.objects.count() == 2


# --- Pokémon TCG API JSON ---------------------------------------------------------------


API_SETS = [
    {
        "id": "sv3pt5",
        "name": "151",
        "series": "Scarlet & Violet",
        "printedTotal": 165,
        "total": 207,
        "ptcgoCode": "MEW",
        "releaseDate": "2023/09/22",
        "updatedAt": "2023/09/22 15:00:00",
        "images": {"symbol": "https://images.pokemontcg.io/sv3pt5/symbol.png"},
    }
]


def api_card(number, name, **extra):
    return {
        "id": f"sv3pt5-{number}",
        "name": name,
        "supertype": "Pokémon",
        "number": str(number),
        "rarity": "Special Illustration Rare",
        "images": {
            "small": f"https://images.pokemontcg.io/sv3pt5/{number}.png",
            "large": f"https://images.pokemontcg.io/sv3pt5/{number}_hires.png",
        },
        **extra,
    }


@pytest.mark.parametrize("wrapped", [True, False], ids=["data-wrapper", "bare-array"])
def test_pokemon_tcg_api_sets_load_with_or_without_the_data_wrapper(tmp_path, wrapped):
    payload = {"data": API_SETS, "page": 1, "count": 1} if wrapped else API_SETS
    path = write_json(tmp_path, "sets.json", payload)

    report = load_files([path])

    assert report.files[0].format == "pokemontcg-api-sets"
    card_set = CardSet.objects.get(game=Game.POKEMON, code="sv3pt5")
    assert (card_set.name, card_set.series, card_set.ptcgo_code) == (
        "151",
        "Scarlet & Violet",
        "MEW",
    )
    assert (card_set.printed_total, card_set.total, str(card_set.release_date)) == (
        165,
        207,
        "2023-09-22",
    )


def test_pokemon_tcg_api_cards_load_with_and_without_a_set_key(tmp_path):
    sets = write_json(tmp_path, "sets.json", {"data": API_SETS})
    with_set = api_card(
        199,
        "Charizard ex",
        set={"id": "sv3pt5", "name": "151"},
        tcgplayer={"url": "https://prices.pokemontcg.io/tcgplayer/sv3pt5-199"},
    )
    # The data repository's per-set files have no "set" key: the id says the set.
    without_set = api_card(4, "Charmander")
    cards = write_json(tmp_path, "cards.json", {"data": [with_set, without_set]})

    report = load_files([cards, sets])

    assert report.ok, report.rejections
    assert report.files[1].format == "pokemontcg-api-cards"
    assert report.files[1].cards.created == 2
    charizard = Card.objects.get(number="199")
    assert charizard.card_set.code == "sv3pt5"
    assert charizard.image_url == "https://images.pokemontcg.io/sv3pt5/199.png"
    assert charizard.category == "Pokémon"
    assert charizard.tcgplayer_id == ""  # a price redirect, not a product page
    assert Card.objects.get(number="4").card_set.code == "sv3pt5"


def test_bad_json_items_are_reported_by_item_number(tmp_path):
    make_set(code="sv3pt5", name="151")
    items = [api_card(1, "Bulbasaur"), "not an object", api_card(3, "")]
    path = write_json(tmp_path, "cards.json", items)

    report = load_files([path])

    assert [str(r) for r in report.rejections] == [
        "cards.json item 2: is text, not a JSON object",
        "cards.json item 3: name is missing",
    ]
    assert not Card.objects.exists()


def test_load_records_takes_already_parsed_api_objects():
    make_set(code="sv3pt5", name="151")

    report = load_records(
        "pokemontcg-api-cards", [api_card(1, "Bulbasaur"), {"id": "sv3pt5-2"}], "cards page 1"
    )

    # The counts say what the file would do; with a rejected row it does nothing.
    assert (report.cards.created, report.written) == (1, False)
    assert not Card.objects.exists()
    assert [str(r) for r in report.rejections] == [
        "cards page 1 item 2: number is missing; name is missing"
    ]
    report = load_records(
        "pokemontcg-api-cards", [api_card(1, "Bulbasaur")], "cards page 1", dry_run=True
    )
    assert report.cards.created == 1 and not Card.objects.exists()


def test_load_records_refuses_an_unknown_format():
    with pytest.raises(ValueError, match="Unknown catalog format 'pokemon'"):
        load_records("pokemon", [], "x")
    assert "optcg-api-cards" in FORMATS


# --- OPTCG API JSON ------------------------------------------------------------------------


def optcg_card(code, image_id=None, *, set_id="OP-01", set_name="Romance Dawn", **extra):
    return {
        "card_set_id": code,
        "card_image_id": image_id or code,
        "card_name": "Roronoa Zoro",
        "set_id": set_id,
        "set_name": set_name,
        "rarity": "L",
        "card_color": "Red",
        "card_type": "LEADER",
        "card_image": f"https://optcgapi.com/media/static/Card_Images/{image_id or code}.jpg",
        "market_price": 1.5,
        **extra,
    }


def test_optcg_cards_create_their_set_and_keep_parallels_apart(tmp_path):
    cards = [
        optcg_card("OP01-001"),
        optcg_card("OP01-001", "OP01-001_p1"),
        optcg_card("OP01-001", "OP01-001_p2", set_id="PRB-01", set_name="Premium Booster"),
    ]
    path = write_json(tmp_path, "op01.json", cards)

    report = load_files([path])

    assert report.ok, report.rejections
    file = report.files[0]
    assert file.format == "optcg-api-cards"
    assert (file.cards.created, file.sets.created) == (3, 1)
    assert file.summary == (
        "op01.json: cards 3 created, 0 updated, 0 unchanged, 0 rejected; "
        "sets 1 created, 0 updated, 0 unchanged, 0 rejected"
    )
    card_set = CardSet.objects.get()
    assert (card_set.game, card_set.code, card_set.name) == (Game.ONEPIECE, "OP01", "Romance Dawn")
    prints = {card.variant: card.printed_in for card in card_set.cards.all()}
    assert prints == {"": "", "p1": "", "p2": "Premium Booster"}
    assert card_set.cards.get(variant="p1").color == "Red"


def test_optcg_cards_reload_unchanged(tmp_path):
    path = write_json(tmp_path, "op01.json", [optcg_card("OP01-001"), optcg_card("OP01-002")])
    load_files([path])
    before = snapshot()

    report = load_files([path])

    assert (report.files[0].cards.unchanged, report.files[0].sets.created) == (2, 0)
    assert snapshot() == before


def test_an_optcg_card_cannot_create_a_set_it_was_only_reprinted_from(tmp_path):
    reprint = optcg_card("OP05-119", "OP05-119_p2", set_id="PRB-01", set_name="Premium Booster")
    path = write_json(tmp_path, "prb01.json", [reprint])

    report = load_files([path])

    assert [str(r) for r in report.rejections] == [
        "prb01.json item 1: unknown set 'OP05' — load its sets file first"
    ]


def test_optcg_all_sets_load_with_normalised_codes(tmp_path):
    all_sets = [
        {"set_id": "OP-01", "set_name": "Romance Dawn"},
        {"set_id": "ST-01", "set_name": "Straw Hat Crew"},
        {"set_id": "PRB-01", "set_name": "Premium Booster"},
    ]
    path = write_json(tmp_path, "allSets.json", all_sets)

    report = load_files([path])

    assert report.files[0].format == "optcg-api-sets"
    codes = CardSet.objects.filter(game=Game.ONEPIECE).values_list("code", flat=True)
    assert sorted(codes) == ["OP01", "PRB01", "ST01"]


def test_optcg_sets_do_not_touch_what_the_csv_loaded(tmp_path):
    load_files(demo_catalog_paths()[1:2])  # onepiece_sets.csv, with release dates
    path = write_json(tmp_path, "allSets.json", [{"set_id": "OP-01", "set_name": "Romance Dawn"}])

    report = load_files([path])

    assert report.files[0].sets.unchanged == 1
    assert str(CardSet.objects.get(code="OP01").release_date) == "2022-12-02"


def test_a_bad_optcg_image_id_is_rejected(tmp_path):
    path = write_json(tmp_path, "op01.json", [optcg_card("OP01-001", "OP01-002_p1")])

    report = load_files([path])

    assert report.rejections[0].reason == (
        "card_image_id 'OP01-002_p1' is neither 'OP01-001' nor 'OP01-001' + '_<variant>'"
    )


# --- One Piece CSV ------------------------------------------------------------------------


def test_one_piece_cards_csv_stores_the_product_only_when_it_is_not_the_set(tmp_path):
    make_set(game=Game.ONEPIECE, code="OP01", name="Romance Dawn")
    url = "https://en.onepiece-cardgame.com/images/cardlist/card/OP01-016"
    path = write(
        tmp_path,
        "op.csv",
        ONEPIECE_CARDS_HEADER,
        f"OP01-016,,OP01,Romance Dawn,Nami,R,CHARACTER,Red,{url}.png",
        f"OP01-016,p1,OP01,Tournament Pack Vol.2,Nami,R,CHARACTER,Red,{url}_p1.png?240419",
    )

    report = load_files([path])

    assert report.ok, report.rejections
    prints = {card.variant: (card.printed_in, card.category) for card in Card.objects.all()}
    assert prints == {"": ("", "CHARACTER"), "p1": ("Tournament Pack Vol.2", "CHARACTER")}


def test_one_piece_duplicate_prints_are_rejected(tmp_path):
    make_set(game=Game.ONEPIECE, code="OP01", name="Romance Dawn")
    row = "OP01-016,p1,OP01,Romance Dawn,Nami,R,CHARACTER,Red,"
    path = write(tmp_path, "op.csv", ONEPIECE_CARDS_HEADER, row, row)

    report = load_files([path])

    assert [str(r) for r in report.rejections] == [
        "op.csv line 3: duplicate of line 2 (card 'OP01-016' variant 'p1' of set 'OP01')"
    ]


def test_existing_cards_made_elsewhere_are_matched_not_duplicated(tmp_path, base_set_files):
    sets, cards = base_set_files
    load_files([sets])
    made = make_card(card_set=CardSet.objects.get(code="base1"), number="1", name="Alakazam")

    report = load_files([cards])

    assert (report.files[0].cards.created, report.files[0].cards.updated) == (1, 1)
    assert Card.objects.get(number="1").pk == made.pk


# --- The command ---------------------------------------------------------------------------


def run_command(*args):
    stdout, stderr = StringIO(), StringIO()
    call_command("load_catalog", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def test_command_prints_one_line_per_file(base_set_files):
    stdout, stderr = run_command(*map(str, base_set_files))

    assert stdout.splitlines() == [
        "sets.csv: sets 2 created, 0 updated, 0 unchanged, 0 rejected",
        "cards.csv: cards 2 created, 0 updated, 0 unchanged, 0 rejected",
    ]
    assert stderr == ""


def test_command_loads_the_demo_catalog():
    stdout, _ = run_command("--demo")

    assert "pokemon_cards.csv: cards 309 created, 0 updated, 0 unchanged, 0 rejected" in stdout
    assert "onepiece_cards.csv: cards 271 created, 0 updated, 0 unchanged, 0 rejected" in stdout
    assert Card.objects.count() == 580


def test_command_fails_and_names_each_rejected_row(tmp_path, base_set_files):
    sets, _ = base_set_files
    cards = write(
        tmp_path, "pokemon_cards.csv", POKEMON_CARDS_HEADER, ALAKAZAM.replace("base1", "xyz")
    )
    stdout, stderr = StringIO(), StringIO()

    with pytest.raises(CommandError, match="1 rows rejected in pokemon_cards.csv"):
        call_command("load_catalog", str(sets), str(cards), stdout=stdout, stderr=stderr)

    assert (
        "pokemon_cards.csv: cards 0 created, 0 updated, 0 unchanged, 1 rejected "
        "(rows rejected: nothing written)"
    ) in stdout.getvalue()
    assert stderr.getvalue().splitlines() == [
        "pokemon_cards.csv line 2: unknown set 'xyz' — load its sets file first"
    ]


def test_command_skip_bad_rows_succeeds_and_still_lists_them(tmp_path):
    path = write(tmp_path, "bad_sets.csv", *BAD_SETS_LINES)

    stdout, stderr = run_command(str(path), "--skip-bad-rows")

    assert stdout == "bad_sets.csv: sets 2 created, 0 updated, 0 unchanged, 5 rejected\n"
    assert len(stderr.splitlines()) == 5
    assert CardSet.objects.count() == 2


def test_command_dry_run_says_so_and_writes_nothing(base_set_files):
    stdout, _ = run_command("--dry-run", *map(str, base_set_files))

    assert stdout.splitlines()[0] == (
        "sets.csv: sets 2 created, 0 updated, 0 unchanged, 0 rejected (dry run: nothing written)"
    )
    assert not CardSet.objects.exists()


def test_command_fails_on_an_unreadable_file(tmp_path):
    path = write_json(tmp_path, "broken.json", {"nothing": "here"})
    stderr = StringIO()

    with pytest.raises(CommandError, match="Could not read broken.json"):
        call_command("load_catalog", str(path), stdout=StringIO(), stderr=stderr)

    assert stderr.getvalue().startswith("broken.json: JSON is neither an array")


def test_command_needs_a_path_or_demo():
    with pytest.raises(CommandError, match="Give one or more catalog files, or --demo"):
        call_command("load_catalog", stdout=StringIO())


def test_command_is_quiet_at_verbosity_zero():
    stdout = StringIO()

    call_command("load_catalog", demo=True, verbosity=0, stdout=stdout)

    assert stdout.getvalue() == ""
    assert CardSet.objects.count() == 222
