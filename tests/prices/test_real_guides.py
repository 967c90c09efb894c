"""Price guides in the shapes PriceCharting exports, imported into the shipped catalog.

The catalog is the one `make run` loads (cards/catalog/*.csv: every set with its
PriceCharting console-name, the Base Set, 151, OP01 and ST01 cards), plus a few real
cards of sets it lists without cards. The rows are written as PriceCharting writes its
CSV guide: 27 columns, dollar strings, the sales volume and TCGplayer id as text.
"""

import datetime as dt
import io

import pytest
from django.core.management import call_command

from cards.models import Card, CardSet, Game
from jobs.models import JobRun
from prices.models import PricePoint, UnmatchedRow
from prices.pricecharting_import import import_price_guide
from tests.factories import make_card
from tests.fakes.pricecharting import TOKEN, guide_csv, guide_row

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 30)


@pytest.fixture
def catalog():
    call_command("load_catalog", demo=True, stdout=io.StringIO())

    def add(code, number, name, game=Game.POKEMON, **fields):
        card_set = CardSet.objects.get(game=game, code=code)
        return make_card(card_set=card_set, number=number, name=name, **fields)

    # Real cards of sets the demo catalog lists without their cards.
    add("base4", "4", "Charizard", rarity="Rare Holo")
    add("basep", "1", "Pikachu", rarity="Promo")
    add("basep", "8", "Mew", rarity="Promo")
    add("xy0", "1", "Chespin", rarity="Common")
    add("tk1a", "1", "Latias", rarity="Rare Holo")
    add("tk1a", "2", "Swablu", rarity="Common")
    add("tk1a", "3", "Swablu", rarity="Common", variant="Reverse Holo")


def card(code, number, variant="", game=None):
    cards = Card.objects.filter(card_set__code=code, number=number, variant=variant)
    return cards.get(card_set__game=game) if game else cards.get()


def row(pc_id, console, product, loose=1999, **fields):
    """A guide row as PriceCharting writes it; prices in cents become "$1,234.56"."""
    one_piece = console.startswith("One Piece")
    defaults = {
        "id": pc_id,
        "console_name": console,
        "product_name": product,
        "loose_price": loose,
        "sales_volume": "41",
        "genre": "One Piece Card" if one_piece else "Pokemon Card",
        "release_date": "2022-12-02" if one_piece else "1/9/1999",
    }
    return guide_row(**{**defaults, **fields})


def import_rows(tmp_path, *rows, **options):
    path = tmp_path / "price-guide.csv"
    path.write_text(guide_csv(list(rows)), encoding="utf-8")
    return import_price_guide(path, observed_on=DAY, secrets=[TOKEN], **options)


def prices_of(card_):
    return dict(
        PricePoint.objects.filter(card=card_, source="pricecharting").values_list(
            "price_key", "market"
        )
    )


def waiting(pc_id):
    return UnmatchedRow.objects.get(external_id=str(pc_id))


def test_base_set_rows_match_the_shipped_base_set(catalog, tmp_path):
    # The API documentation's own example, as the guide writes it.
    charizard = row(
        "630417",
        "Pokemon Base Set",
        "Charizard #4",
        loose=29662,
        cib_price=72147,
        new_price=131250,
        graded_price=252280,
        box_only_price=468018,
        manual_only_price=2964313,
        bgs_10_price=3853600,
        condition_17_price=718173,
        condition_18_price=1778600,
        retail_loose_buy=20000,
        sales_volume="2206",
        tcg_id="42382",
    )
    blastoise = row("630405", "Pokemon Base Set", "Blastoise #2", loose=9350)
    run = import_rows(tmp_path, charizard, blastoise)
    assert (run.report["matched"], run.report["unmatched"], run.report["ambiguous"]) == (2, 0, 0)
    assert prices_of(card("base1", "4")) == {
        "ungraded": 29662,
        "ANY 7": 72147,
        "ANY 8": 131250,
        "ANY 9": 252280,
        "ANY 9.5": 468018,
        "PSA 10": 2964313,
        "BGS 10": 3853600,
        "CGC 10": 718173,
        "SGC 10": 1778600,
    }
    assert card("base1", "4").pricecharting_id == "630417"
    assert prices_of(card("base1", "2")) == {"ungraded": 9350}


def test_base_set_2_rows_go_to_base_set_2_not_base_set(catalog, tmp_path):
    import_rows(tmp_path, row("1101", "Pokemon Base Set 2", "Charizard #4", loose=15500))
    assert prices_of(card("base4", "4")) == {"ungraded": 15500}
    assert prices_of(card("base1", "4")) == {}


def test_wizards_black_star_promos_match_under_pokemon_promo(catalog, tmp_path):
    run = import_rows(
        tmp_path,
        row("2201", "Pokemon Promo", "Pikachu #1", loose=1200),
        row("2208", "Pokemon Promo", "Mew #8", loose=5400),
        # A later era's promo the catalog does not have.
        row("2299", "Pokemon Promo", "Pikachu #SWSH020", loose=300),
        # Another era's promo numbered 1 (Nintendo's): not the Wizards Pikachu.
        row("2300", "Pokemon Promo", "Kyogre ex #1", loose=900),
    )
    assert prices_of(card("basep", "1")) == {"ungraded": 1200}
    assert prices_of(card("basep", "8")) == {"ungraded": 5400}
    assert waiting(2299).reason == UnmatchedRow.Reason.UNMATCHED
    kyogre = waiting(2300)
    assert kyogre.reason == UnmatchedRow.Reason.AMBIGUOUS
    assert list(kyogre.candidates.all()) == [card("basep", "1")]
    assert "another name" in kyogre.detail
    assert run.report["matched"] == 2


def test_151_rows_match_by_its_console_name(catalog, tmp_path):
    import_rows(tmp_path, row("4811", "Pokemon Scarlet & Violet 151", "Charizard ex #199", 52000))
    assert prices_of(card("sv3pt5", "199")) == {"ungraded": 52000}


def test_a_starter_deck_console_matches_its_cards(catalog, tmp_path):
    import_rows(
        tmp_path,
        row("5001", "One Piece Starter Deck 1: Straw Hat Crew", "Monkey.D.Luffy #ST01-001", 350),
        # A One Piece row without a "#", as some are.
        row("5012", "One Piece Starter Deck 1: Straw Hat Crew", "Monkey.D.Luffy ST01-012", 120),
    )
    assert prices_of(card("ST01", "ST01-001")) == {"ungraded": 350}
    assert prices_of(card("ST01", "ST01-012")) == {"ungraded": 120}


def test_an_alternate_art_goes_to_the_parallel_printed_in_that_console(catalog, tmp_path):
    import_rows(
        tmp_path,
        # OP01-016 Nami: p1 printed in Romance Dawn, p4 in OP05, p8 in the Premium Booster.
        row("6016", "One Piece Romance Dawn", "Nami [Alternate Art] #OP01-016", 4500),
        row("6017", "One Piece Awakening of the New Era", "Nami [Alternate Art] #OP01-016", 900),
        row("6018", "One Piece Premium Booster", "Nami [Alternate Art] #OP01-016", 1100),
        row("6019", "One Piece Romance Dawn", "Nami #OP01-016", 40),
        # ST01-012 Luffy: p1 printed in Pillars of Strength, the starter deck's own card.
        row("6020", "One Piece Pillars of Strength", "Monkey.D.Luffy [Alternate Art] #ST01-012",
            2500),
    )  # fmt: skip
    assert prices_of(card("OP01", "OP01-016", "p1")) == {"ungraded": 4500}
    assert prices_of(card("OP01", "OP01-016", "p4")) == {"ungraded": 900}
    assert prices_of(card("OP01", "OP01-016", "p8")) == {"ungraded": 1100}
    assert prices_of(card("OP01", "OP01-016")) == {"ungraded": 40}
    assert prices_of(card("ST01", "ST01-012", "p1")) == {"ungraded": 2500}
    assert prices_of(card("ST01", "ST01-012")) == {}


def test_parallels_that_where_printed_cannot_tell_apart_are_ambiguous(catalog, tmp_path):
    run = import_rows(
        tmp_path,
        # OP01-120 Shanks has two parallels printed in Romance Dawn.
        row("6120", "One Piece Romance Dawn", "Shanks [Alternate Art] #OP01-120", 30000),
        # ST01-012 Luffy: p2 and p3 were both printed in OP05.
        row("6121", "One Piece Awakening of the New Era", "Monkey.D.Luffy [Parallel] #ST01-012",
            800),
        # A promo console the catalog has no set for: the code alone does not choose a print.
        row("6122", "One Piece Promo", "Monkey.D.Luffy [Alternate Art] #ST01-012", 700),
    )  # fmt: skip
    assert run.report["matched"] == 0
    shanks = waiting(6120)
    assert shanks.reason == UnmatchedRow.Reason.AMBIGUOUS
    assert {c.variant for c in shanks.candidates.all()} == {"p1", "p2"}
    assert {c.variant for c in waiting(6121).candidates.all()} == {"p2", "p3"}
    assert waiting(6122).reason == UnmatchedRow.Reason.AMBIGUOUS
    assert not PricePoint.objects.exists()


def test_a_name_disagreement_is_ambiguous_even_on_an_exact_set(catalog, tmp_path):
    run = import_rows(
        tmp_path,
        row("7001", "Pokemon Base Set", "Blastoise #4", 9350),
        row("7002", "One Piece Romance Dawn", "Nami #OP01-001", 100),
    )
    assert run.report["ambiguous"] == 2
    assert run.report["reasons"] == [["card name differs from the product's", 2]]
    assert list(waiting(7001).candidates.all()) == [card("base1", "4")]
    assert list(waiting(7002).candidates.all()) == [card("OP01", "OP01-001")]
    assert not PricePoint.objects.exists()
    assert card("base1", "4").pricecharting_id == ""


def test_japanese_first_edition_shadowless_and_reverse_holo_rows_never_match(catalog, tmp_path):
    run = import_rows(
        tmp_path,
        row("8001", "Pokemon Base Set", "Charizard [1st Edition] #4", 1_250_000),
        row("8002", "Pokemon Base Set", "Charizard [Shadowless] #4", 900_000),
        row("8003", "Pokemon Scarlet & Violet 151", "Bulbasaur [Reverse Holo] #1", 150),
        row("8004", "Pokemon Japanese Base Set", "Charizard #6", 80_000),
        row("8005", "Pokemon Japanese Scarlet & Violet 151", "Charizard ex #201", 30_000),
        row("8006", "One Piece Japanese Romance Dawn", "Roronoa Zoro #OP01-001", 2_000),
        row("8007", "Pokemon Base Set", "Charizard [1st Edition] #4", 1_250_000, tcg_id="42382"),
        row("8008", "Pokemon Scarlet & Violet 151", "Booster Box", 14_000, genre="Sealed Product"),
    )
    assert run.report["matched"] == 0
    assert not PricePoint.objects.exists()
    assert not Card.objects.exclude(pricecharting_id="").exists()
    reasons = dict(run.report["reasons"])
    assert reasons["no print fits its markers or console"] == 4
    assert reasons["another language's product, no such set in the catalog"] == 3


def test_a_set_without_a_console_name_is_found_only_with_number_and_name(catalog, tmp_path):
    # The Kalos Starter Set ships without a PriceCharting name: the tolerant comparison
    # proposes it for "Pokemon Kalos Starter Set".
    import_rows(
        tmp_path,
        row("9001", "Pokemon Kalos Starter Set", "Chespin #1", 75),
        row("9002", "Pokemon Kalos Starter Set", "Fennekin #1", 80),
        row("9003", "Pokemon Kalos Starter Set", "Froakie #99", 90),
    )
    assert prices_of(card("xy0", "1")) == {"ungraded": 75}
    assert waiting(9002).reason == UnmatchedRow.Reason.AMBIGUOUS
    assert waiting(9003).reason == UnmatchedRow.Reason.UNMATCHED


def test_the_match_report_counts_outcomes_reasons_and_consoles(catalog, tmp_path):
    lines = [
        row("1", "Pokemon Base Set", "Charizard #4"),
        row("2", "Pokemon Base Set", "Blastoise #4"),
        row("3", "Pokemon Mystery Box", "Missingno #0"),
        row("4", "Pokemon Mystery Box", "Missingno #1"),
        row("5", "Pokemon Base Set", "Charizard [1st Edition] #4"),
        row("6", "Pokemon Base Set", "Pikachu #58", loose_price="$12.34.56"),
    ]
    run = import_rows(tmp_path, *lines)
    report = run.report
    assert {key: report[key] for key in ("rows", "matched", "ambiguous", "unmatched")} == {
        "rows": 6,
        "matched": 1,
        "ambiguous": 1,
        "unmatched": 3,
    }
    assert report["rejected"] == 1
    assert dict(report["rejections"]) == {"a price that is not a dollar amount": 1}
    assert report["consoles"] == [["Pokemon Base Set", 1, 1], ["Pokemon Mystery Box", 2, 0]]
    assert dict(report["reasons"]) == {
        "console names no set of the catalog": 2,
        "card name differs from the product's": 1,
        "no print fits its markers or console": 1,
    }


def test_the_command_prints_the_match_report(catalog, tmp_path):
    path = tmp_path / "guide.csv"
    path.write_text(
        guide_csv(
            [
                row("1", "Pokemon Base Set", "Charizard #4"),
                row("3", "Pokemon Mystery Box", "Missingno #0"),
            ]
        ),
        encoding="utf-8",
    )
    out = io.StringIO()
    call_command("import_pricecharting", str(path), stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    assert "Rows: 2 — 1 matched, 0 ambiguous, 1 unmatched, 0 rejected." in text
    assert "1  console names no set of the catalog" in text
    assert "Pokemon Mystery Box" in text


def test_a_nul_far_into_a_guide_is_a_rejected_row_and_the_rest_is_written(catalog, tmp_path):
    filler = [row(str(100 + n), "Pokemon Mystery Box", f"Filler {n} #{n}") for n in range(200)]
    rows = [
        *filler,
        row("630417", "Pokemon Base Set", "Charizard \x00#4"),
        row("2", "Pokemon Base Set", "Blastoise #2"),
    ]
    run = import_rows(tmp_path, *rows)  # fmt: skip
    assert run.status == JobRun.Status.PARTIAL
    assert dict(run.report["rejections"]) == {"control characters in the line": 1}
    assert prices_of(card("base1", "2")) == {"ungraded": 1999}
    assert run.report["unmatched"] == 200


def test_reloading_the_catalog_keeps_a_console_name_staff_set(catalog):
    base = CardSet.objects.get(game=Game.POKEMON, code="base1")
    assert base.pricecharting_name == "Pokemon Base Set"
    base.pricecharting_name = "Pokemon Base Set Unlimited"
    base.curated_fields = ["pricecharting_name"]
    base.save()
    call_command("load_catalog", demo=True, stdout=io.StringIO())
    base.refresh_from_db()
    assert base.pricecharting_name == "Pokemon Base Set Unlimited"


def test_every_shipped_set_with_a_console_name_keeps_to_its_own_game(catalog):
    named = CardSet.objects.exclude(pricecharting_name="")
    assert named.count() >= 190  # every One Piece set, all but a few Pokémon sets
    for card_set in named:
        prefix = "Pokemon " if card_set.game == Game.POKEMON else "One Piece "
        assert card_set.pricecharting_name.startswith(prefix), card_set
        assert "Japanese" not in card_set.pricecharting_name
