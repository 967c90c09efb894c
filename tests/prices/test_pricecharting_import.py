import copy
import datetime as dt
import io
import threading
from collections import defaultdict

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection

from cards.models import Card, Game
from jobs.models import JobRun
from prices import keys, pricecharting_import, writing
from prices.guide_review import MatchConflict, match_unmatched_row
from prices.matching import REASONS
from prices.models import PricePoint, PriceSummary, UnmatchedRow
from prices.pricecharting_import import (
    import_category,
    import_price_guide,
    parse_dollars,
    parse_release_date,
)
from prices.writing import prices_changed
from tests.factories import make_card, make_set
from tests.fakes.pricecharting import (
    GUIDE_COLUMNS,
    TOKEN,
    FakePriceCharting,
    guide_csv,
    guide_row,
)

pytestmark = pytest.mark.django_db

TODAY = dt.datetime(2026, 11, 3, 9, 15, tzinfo=dt.UTC)
MIDNIGHT = dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
HEADER = ",".join(GUIDE_COLUMNS)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def pricecharting_settings(settings, fake_server):
    sources = copy.deepcopy(settings.PRICE_SOURCES)
    sources["pricecharting"].update(
        base_url=fake_server.url, credentials={"token": TOKEN}, rate_limit=None
    )
    settings.PRICE_SOURCES = sources
    return settings


@pytest.fixture
def catalog():
    """Real sets and cards from cards/catalog/*.csv."""
    base = make_set(
        game=Game.POKEMON,
        code="base1",
        name="Base",
        series="Base",
        printed_total=102,
        total=102,
        pricecharting_name="Pokemon Base Set",
    )
    sv151 = make_set(
        game=Game.POKEMON,
        code="sv3pt5",
        name="151",
        series="Scarlet & Violet",
        printed_total=165,
        total=207,
    )
    op01 = make_set(game=Game.ONEPIECE, code="OP01", name="Romance Dawn", series="")
    zoro = {"card_set": op01, "number": "OP01-001", "name": "Roronoa Zoro", "rarity": "L"}
    return {
        "base": base,
        "sv151": sv151,
        "op01": op01,
        "charizard": make_card(
            card_set=base, number="4", name="Charizard", rarity="Rare Holo", tcgplayer_id="42382"
        ),
        "blastoise": make_card(card_set=base, number="2", name="Blastoise", rarity="Rare Holo"),
        "charizard_ex": make_card(
            card_set=sv151, number="199", name="Charizard ex", rarity="Special Illustration Rare"
        ),
        "zoro": make_card(**zoro),
        "zoro_p1": make_card(**zoro, variant="p1"),
        "zoro_p2": make_card(**zoro, variant="p2"),
    }


def write(tmp_path, text, name="guide.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def points(card):
    return dict(
        PricePoint.objects.filter(card=card, source="pricecharting").values_list(
            "price_key", "market"
        )
    )


def run_of(path, **options):
    return import_price_guide(path, secrets=[TOKEN], **options)


# Parsing cells


@pytest.mark.parametrize(
    ("cell", "cents"),
    [
        ("$1,234.56", 123456),
        ("$1,234.56   ", 123456),
        ("$12.5", 1250),
        ("$7", 700),
        ("1234.56", 123456),
        ("$1,234,567.00", 123456700),
        ("", None),
        ("   ", None),
        ("$0.00", None),
    ],
)
def test_dollar_cells_become_cents(cell, cents):
    assert parse_dollars(cell) == cents


@pytest.mark.parametrize("cell", ["abc", "-$5.00", "$-5.00", "$1,23.00", "$1.234", "$1.2.3", "12€"])
def test_cells_that_are_not_dollar_amounts_are_refused(cell):
    with pytest.raises(ValueError):
        parse_dollars(cell)


def test_release_dates_in_both_formats():
    assert parse_release_date("1999-01-09") == dt.date(1999, 1, 9)
    assert parse_release_date("9/22/2023") == dt.date(2023, 9, 22)
    assert parse_release_date("") is None
    for bad in ("2023-13-01", "22/9/2023", "soon"):
        with pytest.raises(ValueError):
            parse_release_date(bad)


# Importing files


def test_a_comma_file_with_quoting_and_thousands_separators(tmp_path, catalog):
    path = write(
        tmp_path,
        f"{HEADER}\n"
        '630417,Pokemon Base Set,Charizard #4,$296.62,$721.47,"$1,312.50","$2,522.80",'
        '"$4,680.18","$29,643.13","$38,536.00","$7,181.73","$17,786.00",,,$200.00,$320.00,'
        ",,,,,2206,Pokemon Card,42382,,,1999-01-09\n"
        '"5001","Pokemon Scarlet & Violet 151","Charizard ex #199","$112.40",,,,,'
        '"$1,150.00",,,,,,,,,,,,,"51",Pokemon Card,,,,9/22/2023\n',
    )
    run = run_of(path)

    assert points(catalog["charizard"]) == {
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
    assert points(catalog["charizard_ex"]) == {"ungraded": 11240, "PSA 10": 115000}
    point = PricePoint.objects.filter(card=catalog["charizard"]).first()
    assert (point.observed_at, point.sample_size, point.currency) == (MIDNIGHT, 2206, "USD")
    assert (run.status, run.fetched, run.written, run.unchanged, run.rejected) == (
        JobRun.Status.SUCCEEDED,
        2,
        11,
        0,
        0,
    )
    assert run.errors == []
    assert PriceSummary.objects.filter(card=catalog["charizard"]).count() == 9


def test_a_tab_file_with_unquoted_thousands_separators_and_trailing_spaces(tmp_path, catalog):
    header = "\t".join(GUIDE_COLUMNS)
    cells = dict.fromkeys(GUIDE_COLUMNS, "")
    cells.update(
        {
            "id": "630417",
            "console-name": "Pokemon Base Set",
            "product-name": "Charizard #4",
            "loose-price": "$296.62  ",
            "manual-only-price": "$29,643.13 ",
            "graded-price": "$0.00",
            "sales-volume": "2,206",
            "genre": "Pokemon Card",
            "tcg-id": "42382",
            "release-date": "1/9/1999",
        }
    )
    row = "\t".join(cells[column] for column in GUIDE_COLUMNS)
    run = run_of(write(tmp_path, f"{header}\r\n{row}\r\n", "guide.tsv"))

    assert points(catalog["charizard"]) == {"ungraded": 29662, "PSA 10": 2964313}
    assert PricePoint.objects.filter(sample_size=2206).count() == 2
    assert (run.status, run.written, run.rejected) == (JobRun.Status.SUCCEEDED, 2, 0)


def test_blank_and_zero_cells_are_no_data(tmp_path, catalog):
    rows = [guide_row(id=1, console_name="Pokemon Base Set", product_name="Blastoise #2",
                      loose_price=4500, cib_price="$0.00", new_price="",
                      graded_price="  ")]  # fmt: skip
    run_of(write(tmp_path, guide_csv(rows)))
    assert points(catalog["blastoise"]) == {"ungraded": 4500}


def test_malformed_lines_are_reported_with_their_line_numbers_and_never_written(tmp_path, catalog):
    good = guide_row(id=1, console_name="Pokemon Base Set", product_name="Blastoise #2",
                     loose_price=4500)  # fmt: skip
    text = (
        guide_csv([good])
        + (
            "630417,Pokemon Base Set,Charizard #4,$1,234.56" + "," * 23 + "\n"  # 28 columns
            "\n"
            "5001,Pokemon Scarlet & Violet 151,Charizard ex #199,abc" + "," * 23 + "\n"
            "5002,Pokemon Scarlet & Violet 151,Charizard ex #199,$5.00,-$5.00" + "," * 22 + "\n"
            "5003,Pokemon Base Set,Charizard #4,$1.00\n"
        )
    )
    run = run_of(write(tmp_path, text))

    assert run.status == JobRun.Status.PARTIAL
    assert (run.fetched, run.rejected, run.written) == (5, 4, 1)
    assert run.errors == [
        "guide.csv:3: expected 27 columns, found 28 (an unquoted comma in a value?)",
        "guide.csv:5: loose-price: not a dollar amount: 'abc'",
        "guide.csv:6: cib-price: negative price: '-$5.00'",
        "guide.csv:7: expected 27 columns, found 4",
    ]
    assert points(catalog["charizard"]) == {}
    assert points(catalog["charizard_ex"]) == {}
    assert points(catalog["blastoise"]) == {"ungraded": 4500}
    assert not UnmatchedRow.objects.exists()


def test_a_product_id_longer_than_a_card_keeps_is_a_rejected_row_not_a_failed_import(
    tmp_path, catalog
):
    # PriceCharting's ids are a few digits; a card keeps at most 32 characters of one.
    rows = [
        guide_row(id="9" * 33, console_name="Pokemon Base Set", product_name="Charizard #4",
                  loose_price=30000),
        guide_row(id="9" * 80, console_name="Pokemon Japanese Other", product_name="Mew #1",
                  loose_price=900),
        guide_row(id=1, console_name="Pokemon Base Set", product_name="Blastoise #2",
                  loose_price=4500),
    ]  # fmt: skip

    run = run_of(write(tmp_path, guide_csv(rows)))

    assert (run.status, run.rejected, run.written) == (JobRun.Status.PARTIAL, 2, 1)
    assert run.errors == [
        "guide.csv:2: a product id of 33 characters (at most 32)",
        "guide.csv:3: a product id of 80 characters (at most 32)",
    ]
    catalog["charizard"].refresh_from_db()
    assert catalog["charizard"].pricecharting_id == ""
    assert points(catalog["charizard"]) == {}
    assert points(catalog["blastoise"]) == {"ungraded": 4500}
    assert not UnmatchedRow.objects.exists()


def test_a_bad_release_date_is_a_warning_not_a_rejection(tmp_path, catalog):
    row = guide_row(id=1, console_name="Pokemon Base Set", product_name="Blastoise #2",
                    loose_price=4500, release_date="sometime in 1999")  # fmt: skip
    run = run_of(write(tmp_path, guide_csv([row])))
    assert (run.status, run.rejected, run.written) == (JobRun.Status.SUCCEEDED, 0, 1)
    assert run.errors == ["guide.csv:2: release-date: not a date: 'sometime in 1999' (ignored)"]


def test_columns_are_read_by_name_in_any_order_with_extras_and_gaps(tmp_path, catalog):
    text = (
        "product-name,extra,loose-price,console-name,id\n"
        "Blastoise #2,whatever,$45.00,Pokemon Base Set,1\n"
    )
    run = run_of(write(tmp_path, text))
    assert run.status == JobRun.Status.SUCCEEDED
    assert points(catalog["blastoise"]) == {"ungraded": 4500}


def test_a_file_without_the_required_columns_fails_the_run(tmp_path, catalog):
    run = run_of(write(tmp_path, "id,console-name,loose-price\n1,Pokemon Base Set,$1.00\n"))
    assert run.status == JobRun.Status.FAILED
    assert run.errors == [
        "guide.csv: the header has no product-name column (found: id, console-name, loose-price)"
    ]
    assert JobRun.objects.get().status == JobRun.Status.FAILED
    assert run.finished_at is not None


def test_an_import_runs_the_garbage_collector_less_often_and_puts_it_back(
    tmp_path, catalog, monkeypatch
):
    import gc

    import prices.pricecharting_import as importing

    during = []
    feed = importing.GuideImport.feed

    def feed_noting_thresholds(self, rows):
        during.append(gc.get_threshold())
        feed(self, rows)

    monkeypatch.setattr(importing.GuideImport, "feed", feed_noting_thresholds)
    before = gc.get_threshold()
    run_of(write(tmp_path, "id,console-name,product-name\n1,Pokemon Base Set,Charizard #4\n"))
    assert during[0][0] >= 100_000
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), importing.fewer_collections():  # also when it fails
        raise RuntimeError
    assert gc.get_threshold() == before


def test_reimporting_the_same_file_writes_nothing(tmp_path, catalog):
    rows = [
        guide_row(id=630417, console_name="Pokemon Base Set", product_name="Charizard #4",
                  loose_price=29662, manual_only_price=2964313, tcg_id=42382),
        guide_row(id=2, console_name="Pokemon Base Set", product_name="Mewtwo #10",
                  loose_price=3000),
        guide_row(id=3, console_name="One Piece Romance Dawn",
                  product_name="Roronoa Zoro [Alternate Art] #OP01-001", loose_price=9000),
    ]  # fmt: skip
    path = write(tmp_path, guide_csv(rows))
    first = run_of(path)
    second = run_of(path)

    assert (first.written, first.unchanged) == (2, 0)
    assert (second.written, second.unchanged, second.status) == (0, 2, JobRun.Status.SUCCEEDED)
    assert PricePoint.objects.count() == 2
    assert UnmatchedRow.objects.count() == 2
    # The waiting row as it stands: left alone, its prices still dated by the first run.
    assert UnmatchedRow.objects.get(external_id="3").job_run == first
    assert set(UnmatchedRow.objects.get(external_id="3").candidates.all()) == {
        catalog["zoro_p1"],
        catalog["zoro_p2"],
    }


def test_a_later_day_adds_a_point_per_price(tmp_path, catalog):
    rows = [guide_row(id=1, console_name="Pokemon Base Set", product_name="Blastoise #2",
                      loose_price=4500)]  # fmt: skip
    path = write(tmp_path, guide_csv(rows))
    run_of(path)
    run = run_of(path, observed_on=dt.date(2026, 11, 4))
    assert run.written == 1
    assert sorted(PricePoint.objects.values_list("observed_at", flat=True)) == [
        MIDNIGHT,
        MIDNIGHT + dt.timedelta(days=1),
    ]


# Matching precision: a wrong match is a failure


def test_matching_precision(tmp_path, catalog):
    rows = [
        # tcg-id, although the set name is not ours at all
        guide_row(id=630417, console_name="Pokemon Base", product_name="Charizard #4",
                  tcg_id=42382, loose_price=29662),
        # set and number
        guide_row(id=5001, console_name="Pokemon Scarlet & Violet 151",
                  product_name="Charizard ex #199", loose_price=11240),
        # a 1st Edition row never takes the base print
        guide_row(id=630418, console_name="Pokemon Base Set",
                  product_name="Charizard [1st Edition] #4", loose_price=500000),
        # a Japanese set never matches the English one
        guide_row(id=7001, console_name="Pokemon Japanese Scarlet & Violet 151",
                  product_name="Charizard ex #199", loose_price=9000),
        # two One Piece parallels: ambiguous
        guide_row(id=8001, console_name="One Piece Romance Dawn",
                  product_name="Roronoa Zoro [Parallel] #OP01-001", loose_price=6000),
        # the base print of OP01-001, written without a #
        guide_row(id=8000, console_name="One Piece Romance Dawn",
                  product_name="Roronoa Zoro OP01-001", loose_price=150),
    ]  # fmt: skip
    run = run_of(write(tmp_path, guide_csv(rows)))

    assert points(catalog["charizard"]) == {"ungraded": 29662}
    assert points(catalog["charizard_ex"]) == {"ungraded": 11240}
    assert points(catalog["zoro"]) == {"ungraded": 150}
    assert points(catalog["zoro_p1"]) == points(catalog["zoro_p2"]) == {}
    assert PricePoint.objects.count() == 3

    unmatched = {row.external_id: row for row in UnmatchedRow.objects.all()}
    assert set(unmatched) == {"630418", "7001", "8001"}
    first_edition = unmatched["630418"]
    assert (first_edition.reason, first_edition.number) == ("unmatched", "4")
    assert first_edition.prices == {"ungraded": 500000}
    assert list(first_edition.candidates.all()) == [catalog["charizard"]]  # near miss, unmatched
    assert unmatched["7001"].reason == "unmatched"
    assert not unmatched["7001"].candidates.exists()
    parallel = unmatched["8001"]
    assert parallel.reason == "ambiguous"
    assert set(parallel.candidates.all()) == {catalog["zoro_p1"], catalog["zoro_p2"]}
    assert (parallel.set_name, parallel.product_name, parallel.number) == (
        "One Piece Romance Dawn",
        "Roronoa Zoro [Parallel] #OP01-001",
        "OP01-001",
    )
    assert parallel.observed_at == MIDNIGHT
    assert parallel.job_run == run
    assert "3 matched, 2 unmatched, 1 ambiguous" in run.description


def test_matched_cards_keep_the_pricecharting_id_and_a_different_one_is_never_overwritten(
    tmp_path, catalog
):
    catalog["blastoise"].pricecharting_id = "999"
    catalog["blastoise"].save()
    rows = [
        guide_row(id=630417, console_name="Pokemon Base Set", product_name="Charizard #4",
                  loose_price=29662),
        guide_row(id=630400, console_name="Pokemon Base Set", product_name="Blastoise #2",
                  loose_price=4500),
        # a second product claiming Charizard later in the same file
        guide_row(id=630499, console_name="Pokemon Base Set", product_name="Charizard #4",
                  loose_price=1),
    ]  # fmt: skip
    run_of(write(tmp_path, guide_csv(rows)))

    catalog["charizard"].refresh_from_db()
    catalog["blastoise"].refresh_from_db()
    assert catalog["charizard"].pricecharting_id == "630417"
    assert catalog["blastoise"].pricecharting_id == "999"
    assert points(catalog["charizard"]) == {"ungraded": 29662}
    assert points(catalog["blastoise"]) == {}
    conflicts = UnmatchedRow.objects.filter(reason="ambiguous")
    assert set(conflicts.values_list("external_id", flat=True)) == {"630400", "630499"}


def test_sealed_rows_only_carry_an_ungraded_price(tmp_path, catalog):
    box = make_card(card_set=catalog["sv151"], number="BB", name="Booster Box",
                    kind=Card.Kind.SEALED, tcgplayer_id="502000")  # fmt: skip
    rows = [guide_row(id=9, console_name="Pokemon Scarlet & Violet 151",
                      product_name="Booster Box", genre="Sealed Product", tcg_id=502000,
                      loose_price=21999, new_price="not even a price")]  # fmt: skip
    run = run_of(write(tmp_path, guide_csv(rows)))
    assert run.rejected == 0
    assert points(box) == {"ungraded": 21999}


# Staff review


def test_an_unmatched_row_is_one_click_matched_later(tmp_path, catalog):
    rows = [guide_row(id=630418, console_name="Pokemon Base Set",
                      product_name="Charizard [1st Edition] #4", loose_price=500000,
                      manual_only_price=40000000)]  # fmt: skip
    path = write(tmp_path, guide_csv(rows))
    run_of(path)
    row = UnmatchedRow.objects.get()
    first_edition = make_card(card_set=catalog["base"], number="4", name="Charizard",
                              variant="1st Edition")  # fmt: skip

    result = match_unmatched_row(row, first_edition)

    assert (result.written, result.rejected) == (2, 0)
    assert points(first_edition) == {"ungraded": 500000, "PSA 10": 40000000}
    first_edition.refresh_from_db()
    row.refresh_from_db()
    assert first_edition.pricecharting_id == "630418"
    assert row.matched_card == first_edition and row.resolved_at is not None
    # The next import matches the row by its id and writes nothing new the same day.
    again = run_of(path)
    assert (again.written, again.unchanged) == (0, 2)
    assert UnmatchedRow.objects.get().resolved_at == row.resolved_at


def test_a_row_waiting_with_an_id_longer_than_a_card_keeps_gives_its_prices_not_its_id(
    catalog,
):
    # Left by an import from before such ids were refused as the file is read.
    row = UnmatchedRow.objects.create(
        source="pricecharting",
        external_id="9" * 40,
        set_name="Pokemon Base Set",
        product_name="Charizard #4",
        reason=UnmatchedRow.Reason.UNMATCHED,
        prices={"ungraded": 29000},
        observed_at=MIDNIGHT,
    )
    charizard = catalog["charizard"]

    result = match_unmatched_row(row, charizard)

    assert (result.written, result.rejected) == (1, 0)
    assert points(charizard) == {"ungraded": 29000}
    charizard.refresh_from_db()
    row.refresh_from_db()
    assert charizard.pricecharting_id == ""
    assert row.matched_card == charizard and row.resolved_at is not None


def test_one_click_match_refuses_a_card_mapped_to_another_product(tmp_path, catalog):
    rows = [guide_row(id=630418, console_name="Pokemon Base Set",
                      product_name="Charizard [1st Edition] #4", loose_price=500000)]  # fmt: skip
    run_of(write(tmp_path, guide_csv(rows)))
    row = UnmatchedRow.objects.get()
    charizard = catalog["charizard"]
    charizard.pricecharting_id = "630417"
    charizard.save()
    with pytest.raises(MatchConflict):
        match_unmatched_row(row, charizard)
    assert points(charizard) == {}
    assert UnmatchedRow.objects.get().resolved_at is None
    match_unmatched_row(row, charizard, replace_id=True)
    charizard.refresh_from_db()
    assert charizard.pricecharting_id == "630418"


def test_rows_unmatched_before_are_resolved_when_they_match_now(tmp_path, catalog):
    rows = [guide_row(id=1, console_name="Pokemon Base Set (Unlimited)",
                      product_name="Blastoise #2", loose_price=4500)]  # fmt: skip
    path = write(tmp_path, guide_csv(rows))
    run_of(path)
    assert UnmatchedRow.objects.get().resolved_at is None

    catalog["base"].pricecharting_name = "Pokemon Base Set (Unlimited)"
    catalog["base"].save()
    run = run_of(path)

    row = UnmatchedRow.objects.get()
    assert row.resolved_at is not None and row.matched_card == catalog["blastoise"]
    assert run.written == 1


# Streaming, progress, dry runs, failures


def test_it_streams_the_guide_from_pricecharting(fake_server, catalog):
    fake = FakePriceCharting(fake_server)
    rows = [guide_row(id=630417, console_name="Pokemon Base Set", product_name="Charizard #4",
                      loose_price=29662, tcg_id=42382)]  # fmt: skip
    fake.guides["pokemon-cards"] = guide_csv(rows)
    run = import_category("pokemon-cards", client=fake.client())

    assert (run.status, run.written) == (JobRun.Status.SUCCEEDED, 1)
    request = fake_server.calls("GET", "/price-guide/download-custom")[0]
    assert (request.param("t"), request.param("category")) == (TOKEN, "pokemon-cards")


def test_a_refused_download_fails_the_run_without_showing_the_token(fake_server, catalog):
    fake = FakePriceCharting(fake_server, token="another-token-" + "z" * 26)
    fake.guides["pokemon-cards"] = guide_csv([])
    run = import_category("pokemon-cards", client=fake.client(token=TOKEN))

    assert run.status == JobRun.Status.FAILED
    assert "HTTP 403" in run.errors[-1]
    assert TOKEN not in str(run.errors)
    assert JobRun.objects.get().status == JobRun.Status.FAILED


def test_an_html_page_instead_of_the_guide_fails_the_run(tmp_path, catalog):
    run = run_of(write(tmp_path, "<!DOCTYPE html><html><body>Just a moment...</body></html>\n"))
    assert run.status == JobRun.Status.FAILED
    assert "HTML page" in run.errors[-1]


def test_progress_is_reported_while_streaming(tmp_path, catalog, monkeypatch):
    monkeypatch.setattr(pricecharting_import, "PROGRESS_EVERY", 2)
    rows = [guide_row(id=n, console_name="Pokemon Base Set", product_name=f"Card #{n}",
                      loose_price=100 + n) for n in range(10, 15)]  # fmt: skip
    seen = []
    run = run_of(
        write(tmp_path, guide_csv(rows)),
        progress=lambda run: seen.append((run.progress_done, run.progress_total)),
    )
    assert seen == [(2, 5), (4, 5), (5, 5)]
    assert (run.progress_done, run.progress_total, run.progress_percent) == (5, 5, 100)


def test_a_dry_run_counts_but_writes_nothing(tmp_path, catalog):
    rows = [
        guide_row(id=630417, console_name="Pokemon Base Set", product_name="Charizard #4",
                  loose_price=29662),
        guide_row(id=2, console_name="Pokemon Base Set", product_name="Mewtwo #10",
                  loose_price=3000),
    ]  # fmt: skip
    run = run_of(write(tmp_path, guide_csv(rows)), dry_run=True)

    assert (run.fetched, run.written) == (2, 1)
    assert "1 matched, 1 unmatched" in run.description and "dry run" in run.description
    assert not PricePoint.objects.exists()
    assert not UnmatchedRow.objects.exists()
    assert not JobRun.objects.exists()
    catalog["charizard"].refresh_from_db()
    assert catalog["charizard"].pricecharting_id == ""


def test_an_unexpected_error_marks_the_run_failed_scrubbed_and_is_raised(
    tmp_path, catalog, monkeypatch, pricecharting_settings
):
    def broken(observations, **options):
        raise RuntimeError(f"database said no to /api?t={TOKEN}")

    monkeypatch.setattr(writing, "record_observations", broken)
    rows = [guide_row(id=1, console_name="Pokemon Base Set", product_name="Blastoise #2",
                      loose_price=4500)]  # fmt: skip
    with pytest.raises(RuntimeError):
        import_price_guide(write(tmp_path, guide_csv(rows)))
    run = JobRun.objects.get()
    assert run.status == JobRun.Status.FAILED and run.finished_at is not None
    assert "database said no" in run.errors[-1]
    assert TOKEN not in run.errors[-1]


def test_the_import_runs_a_bounded_number_of_queries(
    tmp_path, catalog, django_assert_max_num_queries
):
    card_set = catalog["sv151"]
    Card.objects.bulk_create(
        [Card(card_set=card_set, number=str(n), name=f"Card {n}") for n in range(1, 151)]
    )
    rows = [guide_row(id=10_000 + n, console_name="Pokemon Scarlet & Violet 151",
                      product_name=f"Card {n} #{n}", loose_price=100 + n,
                      manual_only_price=5000 + n)
            for n in [*range(1, 151), *range(1001, 1151)]]  # fmt: skip
    path = write(tmp_path, guide_csv(rows))
    with django_assert_max_num_queries(60):
        run = run_of(path)
    assert (run.written, UnmatchedRow.objects.count()) == (300, 150)


# The management command


def test_the_command_imports_a_file_and_reports(tmp_path, catalog):
    rows = [
        guide_row(id=630417, console_name="Pokemon Base Set", product_name="Charizard #4",
                  loose_price=29662),
        guide_row(id=2, console_name="Pokemon Base Set", product_name="Mewtwo #10",
                  loose_price="oops"),
    ]  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    call_command("import_pricecharting", str(write(tmp_path, guide_csv(rows))), "--category",
                 "pokemon-cards", stdout=out, stderr=err)  # fmt: skip

    assert "guide.csv: 2 rows, 1 matched, 0 unmatched, 0 ambiguous, 1 rejected" in out.getvalue()
    assert "Price points: 1 written, 0 unchanged; 1 rejected." in out.getvalue()
    assert "guide.csv:3: loose-price: not a dollar amount: 'oops'" in err.getvalue()
    assert points(catalog["charizard"]) == {"ungraded": 29662}


def test_the_command_dry_run_and_date(tmp_path, catalog):
    rows = [guide_row(id=1, console_name="Pokemon Base Set", product_name="Blastoise #2",
                      loose_price=4500)]  # fmt: skip
    path = str(write(tmp_path, guide_csv(rows)))
    out = io.StringIO()
    call_command("import_pricecharting", path, "--dry-run", stdout=out)
    assert "dry run" in out.getvalue()
    assert not PricePoint.objects.exists()
    call_command("import_pricecharting", path, "--date", "2026-10-01", stdout=out)
    assert PricePoint.objects.get().observed_at == dt.datetime(2026, 10, 1, tzinfo=dt.UTC)


def test_the_command_downloads_a_category(fake_server, pricecharting_settings, catalog):
    fake = FakePriceCharting(fake_server)
    rows = [guide_row(id=630417, console_name="Pokemon Base Set", product_name="Charizard #4",
                      loose_price=29662)]  # fmt: skip
    fake.guides["pokemon-cards"] = guide_csv(rows)
    out = io.StringIO()
    call_command("import_pricecharting", "--category", "pokemon-cards", stdout=out)
    assert "pokemon-cards (download): 1 rows, 1 matched" in out.getvalue()
    assert points(catalog["charizard"]) == {"ungraded": 29662}


def test_the_command_fails_loudly(tmp_path, fake_server, pricecharting_settings, catalog):
    with pytest.raises(CommandError, match="Give a file or URL"):
        call_command("import_pricecharting")
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_pricecharting", str(tmp_path / "missing.csv"))
    FakePriceCharting(fake_server)  # no guide for the category: 404
    err = io.StringIO()
    with pytest.raises(CommandError, match="failed"):
        call_command("import_pricecharting", "--category", "one-piece-cards", stderr=err)
    assert "HTTP 404" in err.getvalue()
    assert TOKEN not in err.getvalue()


def test_an_uploaded_file_of_byte_lines_with_a_byte_order_mark(catalog):
    rows = [guide_row(id=1, console_name="Pokemon Base Set", product_name="Blastoise #2",
                      loose_price=123456)]  # fmt: skip
    data = ("\ufeff" + guide_csv(rows).replace("\n", "\r\n")).encode()
    upload = io.BytesIO(data)  # a Django UploadedFile iterates the same way: byte lines
    seen = []
    run = import_price_guide(upload, name="upload.csv", progress=lambda run: seen.append(run))
    assert (run.status, run.written) == (JobRun.Status.SUCCEEDED, 1)
    assert points(catalog["blastoise"]) == {"ungraded": 123456}
    assert run.description.startswith("upload.csv: 1 rows")
    assert (run.progress_done, run.progress_total) == (1, 1)


def test_an_unmatched_row_follows_its_prices_and_candidates(tmp_path, catalog):
    def guide(cents):
        return write(tmp_path, guide_csv([guide_row(
            id=630418, console_name="Pokemon Base Set",
            product_name="Charizard [1st Edition] #4", loose_price=cents)]))  # fmt: skip

    first = run_of(guide(500000))
    row = UnmatchedRow.objects.get()
    assert (row.prices, row.job_run, row.observed_at) == ({"ungraded": 500000}, first, MIDNIGHT)

    later = run_of(guide(510000), observed_on=dt.date(2026, 11, 4))
    row.refresh_from_db()
    assert row.prices == {"ungraded": 510000}
    assert row.job_run == later
    assert row.observed_at == MIDNIGHT + dt.timedelta(days=1)
    assert list(row.candidates.all()) == [catalog["charizard"]]

    shadowless = make_card(card_set=catalog["base"], number="4", variant="Shadowless")
    run_of(guide(510000), observed_on=dt.date(2026, 11, 4))
    assert list(UnmatchedRow.objects.get().candidates.all()) == [
        catalog["charizard"],
        shadowless,
    ]
    assert not PricePoint.objects.exists()


def test_an_import_announces_its_price_changes_once_for_the_whole_file(
    tmp_path, catalog, monkeypatch
):
    announced = []

    def listen(sender, card_ids, **kwargs):
        announced.append(set(card_ids))

    monkeypatch.setattr(pricecharting_import, "OBSERVATIONS_PER_WRITE", 1)  # a write per row
    rows = [
        guide_row(id=1, console_name="Pokemon Base Set", product_name="Blastoise #2",
                  loose_price=4500),
        guide_row(id=2, console_name="Pokemon Base Set", product_name="Charizard #4",
                  loose_price=30000),
    ]  # fmt: skip
    prices_changed.connect(listen)
    try:
        import_price_guide(write(tmp_path, guide_csv(rows)))
    finally:
        prices_changed.disconnect(listen)
    assert announced == [{catalog["blastoise"].pk, catalog["charizard"].pk}]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="fill factor and HOT updates are PostgreSQL's"
)
def test_waiting_rows_read_again_are_updated_in_place_on_postgresql(db):
    # An import moves the run and the day of every waiting row it reads again (tens of
    # thousands a day): no index may cover those columns, and each page keeps room, so that
    # PostgreSQL updates them in place rather than writing every index again.
    table = UnmatchedRow._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [table])
        assert "fillfactor=70" in cursor.fetchone()[0]
        constraints = connection.introspection.get_constraints(cursor, table)
    indexed = {
        column
        for constraint in constraints.values()
        if constraint["index"]
        for column in constraint["columns"]
    }
    assert indexed.isdisjoint({"job_run_id", "observed_at", "updated_at"})


def _writes_fail_for(monkeypatch, card, message: str) -> None:
    """From now on record_observations fails for a batch holding the card's prices."""
    record = writing.record_observations

    def failing(observations, **options):
        if any(o.card_id == card.pk for o in observations):
            raise RuntimeError(message)
        return record(observations, **options)

    monkeypatch.setattr(writing, "record_observations", failing)


BLASTOISE = {"console_name": "Pokemon Base Set", "product_name": "Blastoise #2"}
CHARIZARD = {"console_name": "Pokemon Base Set", "product_name": "Charizard #4"}


def _writing_threads(monkeypatch) -> dict[int, set[str]]:
    """From now on: the cards record_observations writes, each with the names of the
    threads it was written on."""
    threads = defaultdict(set)
    record = writing.record_observations

    def noting(observations, **options):
        for observation in observations:
            threads[observation.card_id].add(threading.current_thread().name)
        return record(observations, **options)

    monkeypatch.setattr(writing, "record_observations", noting)
    return threads


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the set-based writing path")
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_an_import_writes_its_prices_on_threads_of_their_own_one_per_card(
    tmp_path, catalog, monkeypatch
):
    monkeypatch.setattr(pricecharting_import, "OBSERVATIONS_PER_WRITE", 2)
    threads = _writing_threads(monkeypatch)
    rows = [
        guide_row(id=1, console_name="Pokemon Base Set", product_name="Blastoise #2",
                  loose_price=4500, graded_price=30000),
        guide_row(id=2, console_name="Pokemon Base Set", product_name="Charizard #4",
                  loose_price=30000),
        guide_row(id=3, console_name="Pokemon Base Set", product_name="Mew #151",
                  loose_price=900),
        guide_row(id=4, console_name="Pokemon Scarlet & Violet 151",
                  product_name="Charizard ex #199", loose_price=11240),
    ]  # fmt: skip

    run = run_of(write(tmp_path, guide_csv(rows)))

    # Three cards made one after another: both writers had work, each card one writer.
    written = {catalog[name].pk for name in ("blastoise", "charizard", "charizard_ex")}
    assert threads.keys() == written
    assert all(len(names) == 1 for names in threads.values())
    assert {name for names in threads.values() for name in names} == {"prices-0_0", "prices-1_0"}
    assert (run.status, run.written, run.unchanged) == (JobRun.Status.SUCCEEDED, 4, 0)
    assert points(catalog["blastoise"]) == {"ungraded": 4500, keys.graded("ANY", "9"): 30000}
    assert PriceSummary.objects.get(card=catalog["charizard"], price_key="ungraded").market == 30000
    assert UnmatchedRow.objects.get().external_id == "3"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the set-based writing path")
@pytest.mark.django_db(transaction=True)
def test_prices_go_to_writing_threads_with_nothing_to_do_before_a_batch_is_full(
    tmp_path, catalog, monkeypatch
):
    monkeypatch.setattr(pricecharting_import, "STARVED_CHECK_EVERY", 1)
    monkeypatch.setattr(pricecharting_import, "STARVED_BATCH_MIN", 2)
    batches = []
    submit = writing.BatchWriter.submit

    def noting(self, observations, **options):
        if observations:
            batches.append({(o.card_id, o.price_key) for o in observations})
        return submit(self, observations, **options)

    monkeypatch.setattr(writing.BatchWriter, "submit", noting)
    rows = [
        guide_row(id=1, **BLASTOISE, loose_price=4500, graded_price=30000),
        guide_row(id=2, **CHARIZARD, loose_price=30000),
        guide_row(id=3, console_name="Pokemon Scarlet & Violet 151",
                  product_name="Charizard ex #199", loose_price=11240),
    ]  # fmt: skip

    run = run_of(write(tmp_path, guide_csv(rows)))

    # The threads had nothing to write when the first row was read: its two prices went
    # at once, far short of a full batch (OBSERVATIONS_PER_WRITE). Charizard's one price,
    # fewer than STARVED_BATCH_MIN, waited for the next row's.
    blastoise, charizard, ex = (
        catalog[name].pk for name in ("blastoise", "charizard", "charizard_ex")
    )
    assert batches == [
        {(blastoise, "ungraded"), (blastoise, keys.graded("ANY", "9"))},
        {(charizard, "ungraded"), (ex, "ungraded")},
    ]
    assert (run.status, run.written) == (JobRun.Status.SUCCEEDED, 4)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the set-based writing path")
@pytest.mark.django_db(transaction=True)
def test_a_batch_failing_on_a_writers_thread_fails_the_run_and_counts_what_was_written(
    tmp_path, catalog, monkeypatch
):
    monkeypatch.setattr(pricecharting_import, "OBSERVATIONS_PER_WRITE", 1)  # a write per row
    charizard, announced = catalog["charizard"], []
    _writes_fail_for(monkeypatch, charizard, f"database said no to /api?t={TOKEN}")

    def listen(sender, card_ids, **kwargs):
        announced.append(set(card_ids))

    rows = [
        guide_row(id=1, **BLASTOISE, loose_price=4500),
        guide_row(id=2, **CHARIZARD, loose_price=30000),
        guide_row(id=3, console_name="Pokemon Scarlet & Violet 151",
                  product_name="Charizard ex #199", loose_price=11240),
    ]  # fmt: skip
    prices_changed.connect(listen)
    try:
        with pytest.raises(RuntimeError):
            run_of(write(tmp_path, guide_csv(rows)))
    finally:
        prices_changed.disconnect(listen)

    run = JobRun.objects.get()
    assert run.status == JobRun.Status.FAILED
    assert "database said no" in run.errors[-1] and TOKEN not in run.errors[-1]
    assert not PricePoint.objects.filter(card=charizard).exists()
    # Blastoise's batch went before the failure; Charizard ex's may have been written on the
    # other thread meanwhile: whatever was written is counted and announced.
    written = set(PricePoint.objects.values_list("card_id", flat=True))
    assert catalog["blastoise"].pk in written
    assert run.written == PricePoint.objects.count()
    assert announced == [written]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the set-based writing path")
@pytest.mark.django_db(transaction=True)
def test_a_download_cut_off_while_a_writer_fails_reports_the_download(
    catalog, monkeypatch, pricecharting_settings
):
    monkeypatch.setattr(pricecharting_import, "OBSERVATIONS_PER_WRITE", 1)  # a write per row
    _writes_fail_for(monkeypatch, catalog["blastoise"], "the database went away")
    # Blastoise's batch, the last, fails on its writer's thread as the download breaks.
    text = guide_csv([guide_row(id=2, **CHARIZARD, loose_price=30000),
                      guide_row(id=1, **BLASTOISE, loose_price=4500)])  # fmt: skip

    def cut_off():
        yield from text.splitlines(keepends=True)
        raise OSError("connection reset by peer")

    run = import_price_guide(cut_off(), secrets=[TOKEN])

    assert run.status == JobRun.Status.FAILED
    assert "connection reset by peer" in run.errors[-1]
    assert set(PricePoint.objects.values_list("card_id", flat=True)) == {catalog["charizard"].pk}
    assert run.written == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the set-based writing path")
@pytest.mark.django_db(transaction=True)
def test_a_waiting_row_is_resolved_only_once_the_prices_it_matched_with_are_written(
    tmp_path, catalog, monkeypatch
):
    monkeypatch.setattr(pricecharting_import, "OBSERVATIONS_PER_WRITE", 1)  # a write per row
    charizard = catalog["charizard"]
    _writes_fail_for(monkeypatch, charizard, "the database went away")
    waiting = UnmatchedRow.objects.create(
        source="pricecharting",
        external_id="2",
        set_name=CHARIZARD["console_name"],
        product_name=CHARIZARD["product_name"],
        reason=UnmatchedRow.Reason.UNMATCHED,
        prices={"ungraded": 29000},
        observed_at=MIDNIGHT - dt.timedelta(days=1),
    )
    rows = [guide_row(id=1, **BLASTOISE, loose_price=4500),
            guide_row(id=2, **CHARIZARD, loose_price=30000)]  # fmt: skip

    with pytest.raises(RuntimeError):
        run_of(write(tmp_path, guide_csv(rows)))

    # Blastoise's prices were written: its PriceCharting id is kept. Charizard's were not:
    # its row still waits for review, and the card has no id from it.
    for card in catalog.values():
        card.refresh_from_db()
    assert catalog["blastoise"].pricecharting_id == "1"
    assert charizard.pricecharting_id == ""
    waiting.refresh_from_db()
    assert waiting.resolved_at is None and waiting.matched_card is None
    assert not PricePoint.objects.filter(card=charizard).exists()


def test_inside_a_transaction_an_import_writes_its_prices_on_its_own_connection(
    tmp_path, catalog, monkeypatch
):
    # The test runs in a transaction: a connection of the writer's own would not see the
    # catalog, nor be rolled back with it.
    threads = _writing_threads(monkeypatch)
    rows = [guide_row(id=1, console_name="Pokemon Base Set", product_name="Blastoise #2",
                      loose_price=4500)]  # fmt: skip

    run = run_of(write(tmp_path, guide_csv(rows)))

    assert threads == {catalog["blastoise"].pk: {threading.current_thread().name}}
    assert run.written == 1 and points(catalog["blastoise"]) == {"ungraded": 4500}


# A day's guide repeating the day before's


def _waiting_guide(tmp_path, *, release_date="", first=()):
    """A guide of one row waiting for staff (no 1st Edition Charizard in the catalog), after
    the rows in `first`."""
    waiting = guide_row(
        id=630418,
        console_name="Pokemon Base Set",
        product_name="Charizard [1st Edition] #4",
        loose_price=500000,
        release_date=release_date,
    )
    return write(tmp_path, guide_csv([*first, waiting]))


@pytest.fixture
def matched_products(monkeypatch):
    """The product ids the import matches, in order."""
    seen = []
    match = pricecharting_import.CatalogIndex.match

    def recording(index, product):
        seen.append(product.id)
        return match(index, product)

    monkeypatch.setattr(pricecharting_import.CatalogIndex, "match", recording)
    return seen


def test_a_repeated_waiting_line_is_counted_and_not_read_again(tmp_path, catalog, matched_products):
    first = run_of(_waiting_guide(tmp_path))
    row = UnmatchedRow.objects.get()
    assert (row.code, row.line_digest is not None) == ("no-print", True)
    matched_products.clear()

    later = run_of(_waiting_guide(tmp_path), observed_on=dt.date(2026, 11, 4))

    assert matched_products == []
    assert later.report == first.report
    assert (later.report["unmatched"], later.report["reasons"]) == (1, [[REASONS["no-print"], 1]])
    assert later.report["consoles"] == [["Pokemon Base Set", 1, 0]]
    # Left as it stands: its prices still dated by the run that read them.
    unchanged = UnmatchedRow.objects.get()
    assert (unchanged.job_run, unchanged.observed_at) == (first, MIDNIGHT)
    assert unchanged.updated_at == row.updated_at


def test_a_repeated_waiting_line_is_matched_again_once_the_catalog_changes(tmp_path, catalog):
    run_of(_waiting_guide(tmp_path))
    first_edition = make_card(
        card_set=catalog["base"], number="4", name="Charizard", variant="1st Edition"
    )

    later = run_of(_waiting_guide(tmp_path), observed_on=dt.date(2026, 11, 4))

    assert (later.report["matched"], later.report["unmatched"]) == (1, 0)
    assert points(first_edition) == {"ungraded": 500000}
    assert UnmatchedRow.objects.get().matched_card == first_edition


def test_lines_after_a_new_match_in_the_file_are_matched_again(tmp_path, catalog, matched_products):
    run_of(_waiting_guide(tmp_path))
    # A new match gives its card a PriceCharting id: rows after it could match otherwise.
    new_match = guide_row(
        id=77, console_name="Pokemon Base Set", product_name="Blastoise #2", loose_price=4000
    )
    matched_products.clear()

    run_of(_waiting_guide(tmp_path, first=[new_match]), observed_on=dt.date(2026, 11, 4))

    assert matched_products == ["77", "630418"]
    # Matched against a changed index, the row cannot be told by its line next time.
    assert UnmatchedRow.objects.get().line_digest is None


def test_a_waiting_row_read_from_another_line_keeps_that_lines_digest(
    tmp_path, catalog, matched_products
):
    run_of(_waiting_guide(tmp_path))
    before = UnmatchedRow.objects.get()
    # A column the row does not keep changes: the row stands, its line is another.
    changed = _waiting_guide(tmp_path, release_date="1999-01-09")
    run_of(changed, observed_on=dt.date(2026, 11, 4))
    after = UnmatchedRow.objects.get()
    assert (after.observed_at, after.prices) == (before.observed_at, before.prices)
    assert after.line_digest not in (None, before.line_digest)
    matched_products.clear()

    run_of(changed, observed_on=dt.date(2026, 11, 5))

    assert matched_products == []


def test_a_repeated_waiting_line_that_warned_is_read_and_warns_again(
    tmp_path, catalog, matched_products
):
    guide = _waiting_guide(tmp_path, release_date="someday")
    first = run_of(guide)
    assert any("release-date" in message for message in first.errors)
    matched_products.clear()

    later = run_of(guide, observed_on=dt.date(2026, 11, 4))

    assert matched_products == ["630418"]
    assert any("release-date" in message for message in later.errors)
    assert later.report == first.report
