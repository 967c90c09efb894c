import pytest

from cards.models import Card, Game
from prices.matching import (
    AMBIGUOUS,
    MATCHED,
    UNMATCHED,
    VIA_PRICECHARTING_ID,
    VIA_SET_NUMBER,
    VIA_TCG_ID,
    CatalogIndex,
    Product,
    fold,
    loose_name,
    loose_set_names,
    name_key,
    number_key,
    printed_set_code,
    product_card_name,
    product_number,
    variant_fits,
    variant_markers,
)
from tests.factories import make_card, make_set

pytestmark = pytest.mark.django_db


# Real sets and cards from cards/catalog/*.csv


def base_set(**overrides):
    fields = {
        "game": Game.POKEMON,
        "code": "base1",
        "name": "Base",
        "series": "Base",
        "printed_total": 102,
        "total": 102,
        "pricecharting_name": "Pokemon Base Set",
    }
    return make_set(**{**fields, **overrides})


def pokemon_151():
    return make_set(
        game=Game.POKEMON,
        code="sv3pt5",
        name="151",
        series="Scarlet & Violet",
        printed_total=165,
        total=207,
    )


def romance_dawn():
    return make_set(game=Game.ONEPIECE, code="OP01", name="Romance Dawn", series="")


def product(name, console="Pokemon Base Set", id="1", **fields):
    return Product(id=str(id), console_name=console, product_name=name, **fields)


def match(product_, game=None):
    return CatalogIndex.load(game).match(product_)


# Reading product names


@pytest.mark.parametrize(
    ("name", "one_piece", "number"),
    [
        ("Charizard #4", False, "4"),
        ("Charizard ex #199", False, "199"),
        ("Charizard [1st Edition] #4", False, "4"),
        ("Monkey.D.Luffy [Alternate Art Manga] #OP05-119", True, "OP05-119"),
        ("Roronoa Zoro #OP01-001", True, "OP01-001"),
        ("Roronoa Zoro OP01-001", True, "OP01-001"),
        ("Roronoa Zoro OP01-001", False, ""),
        ("Booster Box", False, ""),
    ],
)
def test_it_reads_the_number_after_the_hash(name, one_piece, number):
    assert product_number(name, one_piece=one_piece) == number


def test_numbers_compare_without_leading_zeros_case_or_spaces():
    assert number_key("004") == number_key("4") == "4"
    assert number_key("svp 085") == "SVP085"
    assert number_key("OP01-001") == "OP01-001"


def test_set_names_fold_case_accents_and_punctuation():
    assert fold("Pokémon Scarlet & Violet: 151") == "pokemon scarlet and violet 151"


@pytest.mark.parametrize(
    ("console", "game", "loose"),
    [
        ("Pokemon Base Set", Game.POKEMON, "base"),
        ("Pokemon Base Set 2", Game.POKEMON, "baseset2"),
        ("Pokemon Fire Red & Leaf Green", Game.POKEMON, "fireredandleafgreen"),
        ("Pokemon Japanese Scarlet & Violet 151", Game.POKEMON, "scarletandviolet151"),
        ("One Piece Romance Dawn", Game.ONEPIECE, "romancedawn"),
    ],
)
def test_the_tolerant_comparison_drops_prefix_set_language_and_punctuation(console, game, loose):
    assert loose_name(console, game) == loose


def test_a_set_answers_to_its_name_with_and_without_its_series():
    assert loose_set_names(base_set(pricecharting_name="")) == {"base", "basebase"}
    assert loose_set_names(pokemon_151()) == {"151", "scarletandviolet151"}
    assert loose_set_names(romance_dawn()) == {"romancedawn"}


@pytest.mark.parametrize(
    ("product_name", "card_name"),
    [
        ("Charizard #4", "Charizard"),
        ("Charizard [1st Edition] #4", "Charizard"),
        ("Monkey.D.Luffy [Alternate Art Manga] #OP05-119", "Monkey D. Luffy"),
        ("Roronoa Zoro OP01-001", "Roronoa Zoro"),
        ("Nidoran Male #55", "Nidoran ♂"),
        ("Farfetch'd #27", "Farfetchd"),
        ("Pokemon Center #85", "Pokémon Center"),
    ],
)
def test_card_names_compare_without_accents_punctuation_or_spaces(product_name, card_name):
    assert name_key(product_card_name(product_name)) == name_key(card_name)


def test_names_that_differ_stay_different():
    assert name_key("Charizard") != name_key("Dark Charizard")
    assert name_key("Nidoran ♂") != name_key("Nidoran ♀")


@pytest.mark.parametrize(
    ("printed_in", "code"),
    [
        ("-ONE PIECE CARD THE BEST- [PRB-01]", "PRB01"),
        ("OP-05", "OP05"),
        ("-The Three Captains-[ST-10]", "ST10"),
        ("-PILLARS OF STRENGTH- [OP03]", "OP03"),
        ("Pre-Release OP03", ""),
        ("Premium Card Collection -25th Edition-", ""),
        ("Tournament Pack Vol.2", ""),
    ],
)
def test_the_product_a_one_piece_print_came_in_names_its_set(printed_in, code):
    assert printed_set_code(printed_in) == code


@pytest.mark.parametrize(
    ("variant", "name", "fits"),
    [
        ("", "Charizard #4", True),
        ("", "Charizard [1st Edition] #4", False),
        ("1st Edition", "Charizard [1st Edition] #4", True),
        ("1st Edition", "Charizard #4", False),
        ("Reverse Holo", "Pikachu [Reverse Holo] #58", True),
        ("Reverse Holo", "Pikachu [1st Edition] #58", False),
        ("p1", "Roronoa Zoro [Alternate Art] #OP01-001", True),
        ("p1", "Roronoa Zoro [Parallel] #OP01-001", True),
        ("p2", "Monkey.D.Luffy [Alternate Art Manga] #OP05-119", True),
        ("p1", "Roronoa Zoro #OP01-001", False),
        ("p1", "Roronoa Zoro [Pre-Release] #OP01-001", False),
    ],
)
def test_variant_markers_must_describe_the_variant(variant, name, fits):
    assert variant_fits(variant, variant_markers(name)) is fits


# Matching


def test_tcg_id_matches_the_card_with_that_tcgplayer_id():
    charizard = make_card(card_set=base_set(), number="4", name="Charizard", tcgplayer_id="42382")
    found = match(product("Charizard #4", console="Pokemon Base Set", tcg_id="42382"))
    assert (found.status, found.card_id, found.via) == (MATCHED, charizard.pk, VIA_TCG_ID)


def test_tcg_id_matches_even_when_the_set_name_is_unknown():
    charizard = make_card(
        card_set=base_set(pricecharting_name=""), number="4", name="Charizard", tcgplayer_id="42382"
    )
    assert match(product("Charizard #4", tcg_id="42382")).card_id == charizard.pk


def test_tcg_id_of_a_card_with_another_number_is_ambiguous_not_a_guess():
    wrong = make_card(card_set=base_set(), number="5", tcgplayer_id="42382")
    found = match(product("Charizard #4", tcg_id="42382"))
    assert (found.status, found.candidates) == (AMBIGUOUS, (wrong.pk,))


def test_a_reverse_holo_row_does_not_take_the_base_print_sharing_its_tcgplayer_id():
    # TCGplayer prices printings of one product under one id.
    pikachu = make_card(card_set=base_set(), number="58", tcgplayer_id="42500")
    found = match(product("Pikachu [Reverse Holo] #58", tcg_id="42500"))
    assert found.status == UNMATCHED
    assert found.candidates == (pikachu.pk,)  # for staff to look at, not matched


def test_set_and_number_match_with_generated_set_names():
    card_set = pokemon_151()
    charizard = make_card(card_set=card_set, number="199", name="Charizard ex")
    make_card(card_set=card_set, number="6", name="Charizard")
    found = match(product("Charizard ex #199", console="Pokemon Scarlet & Violet 151"))
    assert (found.status, found.card_id, found.via) == (MATCHED, charizard.pk, VIA_SET_NUMBER)


def test_a_first_edition_row_never_matches_the_base_print():
    card_set = base_set()
    unlimited = make_card(card_set=card_set, number="4", name="Charizard")
    first = match(product("Charizard [1st Edition] #4"))
    assert first.status == UNMATCHED
    assert first.card_id is None
    assert first.candidates == (unlimited.pk,)

    first_edition = make_card(
        card_set=card_set, number="4", name="Charizard", variant="1st Edition"
    )
    assert match(product("Charizard [1st Edition] #4")).card_id == first_edition.pk
    assert match(product("Charizard #4")).card_id == unlimited.pk


def test_japanese_sets_never_match_english_sets():
    card_set = pokemon_151()
    charizard = make_card(card_set=card_set, number="199", tcgplayer_id="517045")
    for japanese in (
        product("Charizard ex #199", console="Pokemon Japanese Scarlet & Violet 151"),
        product("Charizard ex #199", console="Pokemon Japanese 151", tcg_id="517045"),
    ):
        found = match(japanese)
        assert found.status == UNMATCHED
        assert found.card_id is None
    # Not even when staff gave the English set a Japanese name by mistake.
    card_set.pricecharting_name = "Pokemon Japanese 151"
    card_set.save()
    assert match(product("Charizard ex #199", console="Pokemon Japanese 151")).status == UNMATCHED
    assert charizard.pricecharting_id == ""


def test_a_japanese_set_of_ours_matches_its_japanese_console_name():
    card_set = make_set(
        game=Game.POKEMON,
        code="sv2a",
        name="Pokemon Card 151",
        language="ja",
        pricecharting_name="Pokemon Japanese Scarlet & Violet 151",
    )
    card = make_card(card_set=card_set, number="201", name="Charizard ex")
    found = match(product("Charizard ex #201", console="Pokemon Japanese Scarlet & Violet 151"))
    assert found.card_id == card.pk


def test_one_piece_parallels_are_ambiguous_when_there_are_several():
    card_set = romance_dawn()
    base = make_card(card_set=card_set, number="OP01-001", name="Roronoa Zoro")
    p1 = make_card(card_set=card_set, number="OP01-001", name="Roronoa Zoro", variant="p1")
    p2 = make_card(card_set=card_set, number="OP01-001", name="Roronoa Zoro", variant="p2")
    console = "One Piece Romance Dawn"

    for marker in ("[Alternate Art]", "[Parallel]"):
        found = match(product(f"Roronoa Zoro {marker} #OP01-001", console=console))
        assert (found.status, found.card_id) == (AMBIGUOUS, None)
        assert found.candidates == (p1.pk, p2.pk)

    assert match(product("Roronoa Zoro #OP01-001", console=console)).card_id == base.pk
    assert match(product("Roronoa Zoro OP01-001", console=console)).card_id == base.pk


def test_a_single_parallel_matches_its_marker():
    card_set = romance_dawn()
    make_card(card_set=card_set, number="OP01-120", name="Shanks")
    p1 = make_card(card_set=card_set, number="OP01-120", name="Shanks", variant="p1")
    found = match(product("Shanks [Alternate Art] #OP01-120", console="One Piece Romance Dawn"))
    assert found.card_id == p1.pk


def test_a_card_already_mapped_to_another_product_is_a_conflict():
    charizard = make_card(card_set=base_set(), number="4", name="Charizard", pricecharting_id="999")
    found = match(product("Charizard #4", id="630417"))
    assert (found.status, found.candidates) == (AMBIGUOUS, (charizard.pk,))
    assert "999" in found.reason


def test_the_pricecharting_id_a_card_carries_wins():
    charizard = make_card(
        card_set=base_set(pricecharting_name=""), number="4", pricecharting_id="7"
    )
    found = match(product("Anything at all", console="Somewhere", id="7"))
    assert (found.card_id, found.via) == (charizard.pk, VIA_PRICECHARTING_ID)


def test_a_product_claimed_earlier_in_an_import_blocks_a_second_one():
    charizard = make_card(card_set=base_set(), number="4", name="Charizard")
    index = CatalogIndex.load()
    first = index.match(product("Charizard #4", id="1"))
    index.assign(first.card_id, "1")
    assert index.match(product("Charizard #4", id="1")).card_id == charizard.pk
    assert index.match(product("Charizard #4", id="2")).status == AMBIGUOUS


def test_two_sets_under_one_name_with_the_same_number_are_ambiguous():
    one = make_card(card_set=make_set(name="Promo", series="Promo"), number="1")
    two = make_card(card_set=make_set(name="Promo", series="Black Star"), number="1")
    found = match(product("Pikachu #1", console="Pokemon Promo"))
    assert (found.status, found.candidates) == (AMBIGUOUS, tuple(sorted([one.pk, two.pk])))


def test_sealed_products_match_only_sealed_cards_and_only_by_id():
    card_set = pokemon_151()
    box = make_card(
        card_set=card_set,
        number="BB",
        name="Booster Box",
        kind=Card.Kind.SEALED,
        tcgplayer_id="502000",
    )
    make_card(card_set=card_set, number="1", name="Bulbasaur", tcgplayer_id="502001")
    console = "Pokemon Scarlet & Violet 151"
    sealed = {"genre": "Sealed Product", "console": console}
    assert match(product("Booster Box", tcg_id="502000", **sealed)).card_id == box.pk
    assert match(product("Booster Box", **sealed)).status == UNMATCHED
    assert match(product("Booster Pack #1", **sealed)).status == UNMATCHED
    # A single whose TCGplayer id disagrees with the product's: a doubt, not a match.
    assert match(product("Bulbasaur #1", console=console, tcg_id="502000")).status == AMBIGUOUS


def test_matching_runs_no_queries_once_the_index_is_built(django_assert_num_queries):
    card_set = pokemon_151()
    for number in range(1, 21):
        make_card(card_set=card_set, number=str(number), name=f"Card {number}")
    with django_assert_num_queries(2):
        index = CatalogIndex.load(Game.POKEMON)
    with django_assert_num_queries(0):
        results = [
            index.match(product(f"Card {n} #{n}", console="Pokemon 151", id=str(n)))
            for n in range(1, 41)
        ]
    assert sum(result.matched for result in results) == 20
