import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from collections_app import importing
from collections_app.exporting import OWN_COLUMNS, escape_cell, unescape_cell
from collections_app.models import CollectionImport, CollectionItem, ImportRow, Watch
from tests.collections.import_samples import (
    COLLECTR_FILE,
    TCGPLAYER_FILE,
    make_catalog,
    record_backfills,
    to_csv,
)
from tests.factories import make_collection, make_item, make_user, record_prices

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
ITEM_FIELDS = [
    "card_id",
    "quantity",
    "condition",
    "grader",
    "grade",
    "grade_label",
    "purchase_price",
    "purchase_date",
    "acquired_from",
    "notes",
]


@pytest.fixture
def catalog():
    return make_catalog()


@pytest.fixture
def owner():
    return make_user()


@pytest.fixture
def collection(owner):
    return make_collection(owner, name="Binder")


@pytest.fixture
def client(owner):
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def backfills(monkeypatch):
    return record_backfills(monkeypatch)


def own_row(card, **fields) -> dict:
    row = {
        "card_id": str(card.pk),
        "game": card.card_set.game,
        "set_code": card.card_set.code,
        "set_name": card.card_set.name,
        "number": card.number,
        "variant": card.variant,
        "name": card.name,
        "quantity": "1",
        "condition": "NM",
    }
    row.update(fields)
    return row


def own_file(rows) -> str:
    return to_csv(OWN_COLUMNS, rows)


def upload(client, collection, content, name="collection.csv"):
    data = content.encode("utf-8") if isinstance(content, str) else content
    return client.post(
        reverse("collections:import", args=[collection.pk]),
        {"file": SimpleUploadedFile(name, data, content_type="text/csv")},
    )


def uploaded(client, collection, content, name="collection.csv") -> CollectionImport:
    response = upload(client, collection, content, name)
    assert response.status_code == 302, response.content.decode()[:2000]
    collection_import = collection.imports.get()
    assert response["Location"] == collection_import.get_absolute_url()
    return collection_import


def rows_of(collection_import):
    return list(collection_import.rows.order_by("line"))


def commit_url(collection_import):
    return reverse(
        "collections:import_commit", args=[collection_import.collection_id, collection_import.pk]
    )


def row_url(row):
    collection_import = row.collection_import
    return reverse(
        "collections:import_row",
        args=[collection_import.collection_id, collection_import.pk, row.pk],
    )


def item_values(collection):
    return list(collection.items.order_by("pk").values_list(*ITEM_FIELDS))


# --- Export and round trip -----------------------------------------------------------------


def test_exporting_then_importing_reproduces_the_collection_exactly(
    client, owner, collection, catalog, backfills
):
    make_item(
        collection,
        catalog.charizard,
        quantity=2,
        condition="LP",
        purchase_price=12345,
        purchase_date=dt.date(2023, 5, 1),
        acquired_from='=HYPERLINK("http://evil")',
        notes='Line one\nline "two", with a comma',
    )
    # A second lot of the same card stays its own item.
    make_item(collection, catalog.charizard, quantity=1, condition="NM", purchase_price=0)
    make_item(
        collection,
        catalog.charizard_1st,
        condition="",
        grader="BGS",
        grade=Decimal("10"),
        grade_label="black label",
        purchase_price=None,
        notes="'tis the season",
    )
    make_item(
        collection,
        catalog.zoro_parallel,
        condition="",
        grader="CGC",
        grade=Decimal("9.5"),
        purchase_date=dt.date(2024, 2, 29),
        acquired_from="+Local shop",
        notes="-1 corner @home; Pokémon café ☕",
    )
    make_item(collection, catalog.bulbasaur_reverse, quantity=40, condition="DMG")

    response = client.get(reverse("collections:export", args=[collection.pk]))
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Disposition"] == 'attachment; filename="binder.csv"'
    content = b"".join(response.streaming_content)
    text = content.decode("utf-8-sig")
    assert text.splitlines()[0] == ",".join(OWN_COLUMNS)
    assert "'=HYPERLINK" in text and "'+Local shop" in text
    assert ",'tis the season" in text  # an apostrophe before plain text is left alone

    empty = make_collection(owner, name="Copy")
    collection_import = uploaded(client, empty, content, "binder.csv")
    assert collection_import.format == CollectionImport.Format.OWN
    assert {row.status for row in rows_of(collection_import)} == {ImportRow.Status.MATCHED}
    response = client.post(commit_url(collection_import))
    assert response.status_code == 302
    assert response["Location"] == empty.get_absolute_url()

    assert item_values(empty) == [(card_id, *rest) for card_id, *rest in item_values(collection)]
    assert backfills == [(empty.pk, dt.date(2023, 5, 1))]


def test_the_extremes_the_item_form_accepts_export_and_import_again(
    client, owner, collection, catalog, backfills
):
    response = client.post(
        reverse("collections:add_item", args=[collection.pk]),
        {
            "card": catalog.charizard.pk,
            "quantity": "100000",
            "condition": "NM",
            "purchase_price": "10000000.00",
            "purchase_date": "1996-01-01",
            "notes": "n" * 10_000,
        },
    )
    assert response.status_code == 302
    content = b"".join(client.get(reverse("collections:export", args=[collection.pk])))

    empty = make_collection(owner, name="Copy")
    collection_import = uploaded(client, empty, content)
    assert [row.reason for row in rows_of(collection_import)] == [""]
    client.post(commit_url(collection_import))

    assert item_values(empty) == item_values(collection)


def test_importing_items_bought_in_the_past_backfills_the_value_history(
    client, collection, catalog
):
    record_prices(
        catalog.blastoise, {"NM": 2000}, observed_at=dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)
    )
    text = own_file([own_row(catalog.blastoise, purchase_date="2024-03-05")])
    client.post(commit_url(uploaded(client, collection, text)))
    first = collection.snapshots.order_by("day").first()
    assert (first.day, first.value) == (dt.date(2024, 3, 5), 2000)


def test_the_export_is_a_header_only_file_for_an_empty_collection(client, collection):
    response = client.get(reverse("collections:export", args=[collection.pk]))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert text == ",".join(OWN_COLUMNS) + "\r\n"


@pytest.mark.parametrize(
    "text", ["=1+1", "+31 6", "-5", "@SUM(A1)", "\tx", "'", "'=", "''", "'plain", "plain", ""]
)
def test_escaping_a_cell_is_undone_exactly_by_the_importer(text):
    escaped = escape_cell(text)
    assert not escaped.startswith(("=", "+", "-", "@", "\t"))
    assert unescape_cell(escaped) == text


def test_an_apostrophe_a_person_typed_before_ordinary_text_is_kept():
    assert escape_cell("'tis") == "'tis"
    assert unescape_cell("'tis") == "'tis"


# --- Formats -------------------------------------------------------------------------------


def test_a_collectr_export_is_matched_and_watchlist_rows_become_watches(
    client, owner, collection, catalog, backfills
):
    collection_import = uploaded(client, collection, COLLECTR_FILE, "collectr.csv")
    assert collection_import.format == CollectionImport.Format.COLLECTR
    rows = rows_of(collection_import)
    assert [(row.line, row.status, row.card_id) for row in rows] == [
        (2, "matched", catalog.charizard.pk),
        (3, "matched", catalog.mew_ex.pk),
        (4, "matched", catalog.bulbasaur_reverse.pk),
        (5, "matched", catalog.shanks_parallel.pk),
        (6, "matched", catalog.zoro.pk),
    ]
    assert rows[0].data == {
        "quantity": 1,
        "condition": "",
        "grader": "PSA",
        "grade": "10",
        "grade_label": "",
        "purchase_price": 123456,
        "purchase_date": "2024-03-05",
        "acquired_from": "",
        "notes": "Graded 2021",
    }
    assert (rows[1].data["quantity"], rows[1].data["condition"]) == (3, "NM")
    assert rows[1].data["purchase_price"] == 1250
    assert (rows[2].data["condition"], rows[2].data["purchase_date"]) == ("LP", None)
    assert (rows[3].data["grader"], rows[3].data["grade"]) == ("BGS", "9.5")
    assert rows[4].watch_only

    client.post(commit_url(collection_import))
    assert collection.items.count() == 4
    assert Watch.objects.filter(user=owner).get().card == catalog.zoro
    # "0.00" in Collectr means no cost was entered.
    assert collection.items.get(card=catalog.bulbasaur_reverse).purchase_price is None
    assert backfills == [(collection.pk, dt.date(2024, 3, 5))]


def test_a_tcgplayer_export_matches_on_product_id_first_then_set_number_and_printing(
    client, collection, catalog
):
    collection_import = uploaded(client, collection, TCGPLAYER_FILE, "tcgplayer.csv")
    assert collection_import.format == CollectionImport.Format.TCGPLAYER
    rows = rows_of(collection_import)
    assert [
        (row.status, row.card_id, row.data["condition"], row.data["quantity"]) for row in rows
    ] == [
        ("matched", catalog.charizard.pk, "NM", 2),
        ("matched", catalog.charizard_1st.pk, "LP", 1),
        ("matched", catalog.bulbasaur_reverse.pk, "MP", 1),
        ("matched", catalog.shanks.pk, "DMG", 4),
    ]
    # The Price column is the market price of the export day, not a purchase price.
    assert all(row.data["purchase_price"] is None for row in rows)


def test_a_product_id_pointing_at_a_card_with_another_number_is_ambiguous(
    client, collection, catalog
):
    header = TCGPLAYER_FILE.splitlines()[0]
    line = "1,Blastoise,Blastoise,Base Set,4/102,BS,Holofoil,Near Mint,English,Holo Rare,42380,,1"
    text = f"{header}\r\n{line}\r\n"
    row = rows_of(uploaded(client, collection, text))[0]
    assert row.status == ImportRow.Status.AMBIGUOUS
    assert "TCGplayer product 42380 is card number 2" in row.reason
    assert list(row.candidates.all()) == [catalog.blastoise]


def test_an_unknown_header_is_refused_naming_the_formats_we_read(client, collection):
    response = upload(client, collection, "foo,bar\n1,2\n")
    assert response.status_code == 422
    page = response.content.decode()
    assert "not a header we know" in page
    for label in ["TCG Price Tracker CSV", "Collectr export", "TCGplayer collection export"]:
        assert label in page
    assert not CollectionImport.objects.exists()


def test_a_header_missing_a_needed_column_says_which(client, collection):
    header = COLLECTR_FILE.splitlines()[0].replace("Watchlist,", "")
    response = upload(client, collection, header + "\n")
    assert response.status_code == 422
    assert "looks like a Collectr export but has no column watchlist" in response.content.decode()


def test_semicolon_separated_files_are_read_too(client, collection, catalog):
    text = own_file([own_row(catalog.blastoise, quantity="3")]).replace(",", ";")
    row = rows_of(uploaded(client, collection, text))[0]
    assert (row.status, row.card_id, row.data["quantity"]) == ("matched", catalog.blastoise.pk, 3)


# --- Matching ------------------------------------------------------------------------------


def test_rows_that_fit_several_cards_offer_them_as_candidates(client, collection, catalog):
    text = to_csv(
        importing.COLLECTR_COLUMNS,
        [
            {
                "Portfolio Name": "Main",
                "Category": "One Piece Card Game",
                "Set": "Romance Dawn",
                "Product Name": "Roronoa Zoro",
                "Card Number": "OP01-001",
                "Variance": "Parallel",
                "Grade": "Ungraded",
                "Quantity": "1",
                "Watchlist": "false",
            }
        ],
    )
    from tests.factories import make_card

    second_parallel = make_card(
        card_set=catalog.op01, number="OP01-001", name="Roronoa Zoro", variant="p2"
    )
    row = rows_of(uploaded(client, collection, text))[0]
    assert row.status == ImportRow.Status.AMBIGUOUS
    assert set(row.candidates.all()) == {catalog.zoro_parallel, second_parallel}


def test_a_card_missing_from_the_catalog_is_rejected_with_its_line(client, collection, catalog):
    text = to_csv(
        importing.COLLECTR_COLUMNS,
        [
            {
                "Portfolio Name": "Main",
                "Category": "Pokemon",
                "Set": "Base Set",
                "Product Name": "Charizard",
                "Card Number": "4/102",
                "Grade": "Ungraded",
                "Quantity": "1",
                "Watchlist": "false",
            },
            {
                "Portfolio Name": "Main",
                "Category": "Pokemon",
                "Set": "Base Set",
                "Product Name": "Missingno",
                "Card Number": "150/102",
                "Grade": "Ungraded",
                "Quantity": "1",
                "Watchlist": "false",
            },
            {
                "Portfolio Name": "Main",
                "Category": "Pokemon",
                "Set": "Neo Destiny",
                "Product Name": "Shining Charizard",
                "Card Number": "107/105",
                "Quantity": "1",
                "Watchlist": "false",
            },
        ],
    )
    collection_import = uploaded(client, collection, text)
    rows = rows_of(collection_import)
    assert [row.status for row in rows] == ["matched", "rejected", "rejected"]
    assert rows[1].reason == "no card Base Set 150/102 'Missingno'"
    assert rows[2].reason == "no set 'Neo Destiny' in the catalog"
    page = client.get(collection_import.get_absolute_url()).content.decode()
    assert "Line 3: no card Base Set 150/102 &#x27;Missingno&#x27;" in page


def test_our_own_format_uses_the_card_id_to_choose_between_prints_a_file_names_loosely(
    client, collection, catalog
):
    row = own_row(catalog.charizard_1st)
    row["variant"] = "1st edition"  # case as typed by hand
    imported = rows_of(uploaded(client, collection, own_file([row])))[0]
    assert (imported.status, imported.card_id) == ("matched", catalog.charizard_1st.pk)


def test_a_card_id_that_is_not_a_plain_number_is_ignored(client, collection, catalog):
    # "²" passes isdigit() but not int(): it once failed reading the whole file.
    collection_import = uploaded(
        client, collection, own_file([own_row(catalog.blastoise, card_id="²")])
    )
    collection_import.refresh_from_db()
    assert collection_import.status == CollectionImport.Status.READY
    row = collection_import.rows.get()
    assert (row.status, row.card_id) == ("matched", catalog.blastoise.pk)


@pytest.mark.parametrize("grade", ["NaN", "sNaN", "Infinity", "-inf", "1e999"])
def test_a_grade_that_is_no_number_is_a_row_error_and_the_rest_of_the_file_is_read(
    client, collection, catalog, grade
):
    rows = [
        own_row(catalog.blastoise, condition="", grader="PSA", grade=grade),
        own_row(catalog.charizard, condition="", grader="PSA", grade="9"),
    ]
    collection_import = uploaded(client, collection, own_file(rows))
    collection_import.refresh_from_db()
    assert collection_import.status == CollectionImport.Status.READY
    bad, good = rows_of(collection_import)
    assert bad.status == "rejected"
    assert f"grade '{grade}' is not a grade from 1 to 10" in bad.reason
    assert (good.status, good.card_id, good.data["grade"]) == ("matched", catalog.charizard.pk, "9")


def test_a_card_id_from_another_installation_does_not_override_set_and_number(
    client, collection, catalog
):
    row = own_row(catalog.blastoise, card_id=str(catalog.charizard.pk))
    imported = rows_of(uploaded(client, collection, own_file([row])))[0]
    assert (imported.status, imported.card_id) == ("matched", catalog.blastoise.pk)


# --- Validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"quantity": "abc"}, "quantity 'abc' is not a whole number"),
        ({"quantity": "0"}, "quantity 0 is less than 1"),
        ({"quantity": ""}, "quantity is missing"),
        ({"condition": "Mint-ish"}, "condition 'Mint-ish' is not one of Near Mint"),
        ({"condition": "", "grader": "PSA", "grade": "10.5"}, "grade '10.5' is not a grade"),
        ({"condition": "", "grader": "XYZ", "grade": "9"}, "grader 'XYZ' is not one of PSA"),
        ({"condition": "", "grader": "PSA"}, "a graded item needs a grade"),
        ({"grader": "PSA", "grade": "9"}, "an item has a condition or a grade, not both"),
        ({"condition": ""}, "no condition, and no grader and grade"),
        ({"purchase_price": "-5.00"}, "purchase price '-5.00' is negative"),
        ({"purchase_price": "twelve"}, "purchase price 'twelve' is not an amount in dollars"),
        ({"purchase_price": "1.999"}, "has more than two decimals"),
        # No more than the item form accepts, or the imported item could not be edited.
        ({"purchase_price": "10000000.01"}, "'10000000.01' is more than $10,000,000"),
        ({"purchase_date": "31/12/2023"}, "purchase date '31/12/2023' is not a date"),
        ({"purchase_date": "2999-01-01"}, "purchase date 2999-01-01 is in the future"),
        ({"acquired_from": "x" * 201}, "where acquired is 201 characters long; at most 200 fit"),
        ({"notes": "x" * 10_001}, "notes is 10,001 characters long; at most 10,000 fit"),
        ({"game": "magic"}, "game 'magic' is not one of pokemon, onepiece"),
    ],
)
def test_invalid_fields_reject_the_row_with_a_reason(client, collection, catalog, fields, reason):
    text = own_file([own_row(catalog.blastoise, **fields)])
    row = rows_of(uploaded(client, collection, text))[0]
    assert row.status == ImportRow.Status.REJECTED
    assert reason in row.reason
    assert row.data == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PSA 10", ("PSA", "10", "")),
        ("BGS 9.5", ("BGS", "9.5", "")),
        ("CGC 10 Pristine", ("CGC", "10", "pristine")),
        ("BGS 10 Black Label", ("BGS", "10", "black label")),
        ("psa10", ("PSA", "10", "")),
        ("Ungraded", None),
        ("", None),
    ],
)
def test_grades_are_read_as_grader_grade_and_label(text, expected):
    assert importing.parse_grading(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Near Mint", ("NM", "")),
        ("Lightly Played", ("LP", "")),
        ("Moderately Played", ("MP", "")),
        ("Heavily Played", ("HP", "")),
        ("Damaged", ("DMG", "")),
        ("Near Mint Holofoil", ("NM", "Holofoil")),
        ("Lightly Played 1st Edition Holofoil", ("LP", "1st Edition Holofoil")),
        ("nm", ("NM", "")),
    ],
)
def test_conditions_are_read_from_their_names_and_codes(text, expected):
    assert importing.parse_condition(text) == expected


@pytest.mark.parametrize(
    ("text", "cents"),
    [("$1,234.56", 123456), ("12.5", 1250), ("0", 0), (" 7 ", 700), (".99", 99), ("", None)],
)
def test_dollar_amounts_become_cents(text, cents):
    assert importing.parse_money(text) == cents


@pytest.mark.parametrize("text", ["2024-03-05", "03/05/2024", "3/5/2024", "2024-03-05 14:02:11"])
def test_iso_and_us_dates_are_read(text):
    assert importing.parse_date(text) == "2024-03-05"


# --- Uploading -----------------------------------------------------------------------------


def test_a_windows_1252_file_is_read_with_a_note(client, collection, catalog):
    text = own_file([own_row(catalog.blastoise, notes="Café — 5€")])
    response = upload(client, collection, text.encode("cp1252"))
    assert response.status_code == 302
    row = rows_of(collection.imports.get())[0]
    assert row.data["notes"] == "Café — 5€"
    page = client.get(response["Location"]).content.decode()
    assert "it was read as Windows-1252" in page


def test_a_utf16_file_with_its_byte_order_mark_is_read(client, collection, catalog):
    text = own_file([own_row(catalog.blastoise, notes="Pokémon")])
    response = upload(client, collection, text.encode("utf-16"))
    assert response.status_code == 302
    assert rows_of(collection.imports.get())[0].data["notes"] == "Pokémon"


def test_a_binary_file_is_refused(client, collection):
    response = upload(client, collection, b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)))
    assert response.status_code == 422
    assert "looks like a binary file" in response.content.decode()
    assert not CollectionImport.objects.exists()


def test_a_file_over_the_size_limit_is_refused(client, collection, catalog, settings):
    settings.COLLECTION_IMPORT_MAX_BYTES = 1000
    text = own_file([own_row(catalog.blastoise, notes="x" * 2000)])
    response = upload(client, collection, text)
    assert response.status_code == 422
    assert "files up to" in response.content.decode()
    assert not CollectionImport.objects.exists()


def test_an_empty_file_is_refused(client, collection):
    response = upload(client, collection, b"")
    assert response.status_code == 422
    assert not CollectionImport.objects.exists()


def test_a_header_without_rows_fails_reading_with_the_reason(client, collection):
    collection_import = uploaded(client, collection, ",".join(OWN_COLUMNS) + "\r\n")
    collection_import.refresh_from_db()
    assert collection_import.status == CollectionImport.Status.FAILED
    assert collection_import.error == "The file has a header but no rows to import."
    page = client.get(collection_import.get_absolute_url()).content.decode()
    assert "The file could not be read" in page and "no rows to import" in page


def test_a_broken_csv_fails_reading_and_stores_no_rows(client, collection, catalog):
    text = own_file([own_row(catalog.blastoise)]) + 'x,"unterminated\r\n'
    collection_import = uploaded(client, collection, text)
    collection_import.refresh_from_db()
    assert collection_import.status == CollectionImport.Status.FAILED
    assert "cannot be read as CSV" in collection_import.error
    assert not collection_import.rows.exists()


# --- The read job --------------------------------------------------------------------------


def test_reading_twice_stores_the_rows_once(collection, catalog):
    collection_import = CollectionImport.objects.create(
        collection=collection, filename="a.csv", content=own_file([own_row(catalog.blastoise)])
    )
    importing.read_import(collection_import.pk)
    importing.read_import(collection_import.pk)
    collection_import.refresh_from_db()
    assert collection_import.status == CollectionImport.Status.READY
    assert (collection_import.progress_done, collection_import.progress_total) == (1, 1)
    assert collection_import.rows.count() == 1


def test_reading_an_import_that_is_gone_does_nothing():
    importing.read_import(999_999)
    assert not ImportRow.objects.exists()


def test_a_failure_while_reading_stores_no_rows_and_marks_the_import_failed(
    collection, catalog, monkeypatch
):
    collection_import = CollectionImport.objects.create(
        collection=collection, filename="a.csv", content=own_file([own_row(catalog.blastoise)])
    )

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(ImportRow.candidates.through.objects, "bulk_create", broken)
    with pytest.raises(RuntimeError):
        importing.read_import(collection_import.pk)
    collection_import.refresh_from_db()
    assert collection_import.status == CollectionImport.Status.FAILED
    assert not collection_import.rows.exists()


def test_the_progress_is_polled_while_reading_and_the_page_reloads_when_ready(
    client, collection, catalog
):
    collection_import = CollectionImport.objects.create(
        collection=collection,
        filename="a.csv",
        content=own_file([own_row(catalog.blastoise)]),
        status=CollectionImport.Status.READING,
        progress_done=500,
        progress_total=2000,
    )
    url = collection_import.get_absolute_url()
    page = client.get(url).content.decode()
    assert 'hx-trigger="every 1s"' in page
    assert '<meta http-equiv="refresh"' in page  # without JavaScript
    partial = client.get(url, {"progress": "1"}, **HTMX)
    assert partial.content.decode().strip().startswith('<div id="import-progress"')
    assert "Reading: 500 of 2000 rows (25%)" in partial.content.decode()

    CollectionImport.objects.filter(pk=collection_import.pk).update(
        status=CollectionImport.Status.READY
    )
    assert client.get(url, {"progress": "1"}, **HTMX)["HX-Refresh"] == "true"


def test_the_read_job_queued_by_the_upload_is_the_tasks_wrapper(client, collection, monkeypatch):
    queued = []
    monkeypatch.setattr(
        "collections_app.import_views.async_task",
        lambda name, *args, **kwargs: queued.append((name, args)),
    )
    upload(client, collection, own_file([{"game": "pokemon", "set_code": "x", "number": "1"}]))
    collection_import = collection.imports.get()
    assert queued == [("collections_app.tasks.read_import", (collection_import.pk,))]
    assert collection_import.status == CollectionImport.Status.PENDING


# --- Preview, choices, commit -------------------------------------------------------------


def test_a_file_with_one_bad_row_commits_nothing_until_the_user_drops_it(
    client, collection, catalog, backfills
):
    text = own_file(
        [
            own_row(catalog.blastoise, quantity="2"),
            own_row(catalog.charizard, quantity="abc"),
            own_row(catalog.mew_ex, purchase_price="4.00"),
        ]
    )
    collection_import = uploaded(client, collection, text)
    page = client.get(collection_import.get_absolute_url()).content.decode()
    assert "Line 3: quantity &#x27;abc&#x27; is not a whole number" in page
    assert 'id="import-commit"' in page and "disabled" in page
    assert "1 row needs a choice or to be dropped" in page

    response = client.post(commit_url(collection_import), follow=True)
    assert "1 row still needs a choice or to be dropped; nothing was imported." in (
        response.content.decode()
    )
    assert not CollectionItem.objects.exists()
    collection_import.refresh_from_db()
    assert collection_import.status == CollectionImport.Status.READY

    bad = collection_import.rows.get(line=3)
    response = client.post(row_url(bad), {"action": "drop"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="import-row-{bad.pk}"' in body and "Restore" in body
    assert 'id="import-summary"' in body and 'hx-swap-oob="true"' in body
    assert "Import 2 items" in body

    response = client.post(commit_url(collection_import))
    assert response["Location"] == collection.get_absolute_url()
    assert sorted(collection.items.values_list("card__name", "quantity")) == [
        ("Blastoise", 2),
        ("Mew ex", 1),
    ]
    collection_import.refresh_from_db()
    assert (collection_import.status, collection_import.items_created) == ("committed", 2)
    assert backfills == []  # no purchase dates


def test_a_dropped_row_can_be_restored(client, collection, catalog):
    collection_import = uploaded(client, collection, own_file([own_row(catalog.blastoise)]))
    row = collection_import.rows.get()
    client.post(row_url(row), {"action": "drop"})
    row.refresh_from_db()
    assert row.dropped
    response = client.post(row_url(row), {"action": "restore"})
    assert response["Location"].endswith(f"#import-row-{row.pk}")
    row.refresh_from_db()
    assert not row.dropped


def test_the_user_chooses_a_candidate_for_an_ambiguous_row(client, collection, catalog):
    row = own_row(catalog.charizard, variant="Shadowless", card_id="")
    collection_import = uploaded(client, collection, own_file([row]))
    ambiguous = collection_import.rows.get()
    assert ambiguous.status == ImportRow.Status.AMBIGUOUS
    assert set(ambiguous.candidates.all()) == {catalog.charizard, catalog.charizard_1st}
    page = client.get(collection_import.get_absolute_url()).content.decode()
    assert f'name="card" value="{catalog.charizard_1st.pk}"' in page

    wrong = client.post(row_url(ambiguous), {"action": "choose", "card": catalog.mew_ex.pk}, **HTMX)
    assert wrong.status_code == 422
    assert "Choose one of the cards offered for this row." in wrong.content.decode()

    chosen = client.post(
        row_url(ambiguous), {"action": "choose", "card": catalog.charizard_1st.pk}, **HTMX
    )
    assert chosen.status_code == 200
    ambiguous.refresh_from_db()
    assert (ambiguous.status, ambiguous.card) == ("matched", catalog.charizard_1st)

    client.post(commit_url(collection_import))
    assert collection.items.get().card == catalog.charizard_1st


def test_a_row_whose_card_left_the_catalog_after_the_preview_blocks_the_commit_until_dropped(
    client, collection, catalog
):
    rows = [own_row(catalog.blastoise), own_row(catalog.mew_ex)]
    collection_import = uploaded(client, collection, own_file(rows))
    gone = collection_import.rows.get(card=catalog.blastoise)
    catalog.blastoise.delete()

    page = client.get(collection_import.get_absolute_url()).content.decode()
    assert "Import 1 item" in page
    assert re.search(r'id="import-commit"\s+disabled', page)
    assert "the matched card is no longer in the catalog; drop this row" in page
    response = client.post(commit_url(collection_import), follow=True)
    assert "1 row still needs a choice or to be dropped" in response.content.decode()
    assert not collection.items.exists()

    client.post(row_url(gone), {"action": "drop"})
    client.post(commit_url(collection_import))
    assert [item.card for item in collection.items.all()] == [catalog.mew_ex]


def test_choosing_a_card_id_that_is_not_a_plain_number_asks_for_a_candidate(
    client, collection, catalog
):
    row = own_row(catalog.charizard, variant="Shadowless", card_id="")
    ambiguous = uploaded(client, collection, own_file([row])).rows.get()

    response = client.post(row_url(ambiguous), {"action": "choose", "card": "²"}, **HTMX)

    assert response.status_code == 422
    assert "Choose one of the cards offered for this row." in response.content.decode()


def test_committing_twice_imports_once(client, collection, catalog):
    collection_import = uploaded(client, collection, own_file([own_row(catalog.blastoise)]))
    client.post(commit_url(collection_import))
    response = client.post(commit_url(collection_import), follow=True)
    assert "This file was already imported." in response.content.decode()
    assert collection.items.count() == 1


def test_a_failure_during_commit_writes_nothing(collection, catalog, monkeypatch, backfills):
    collection_import = CollectionImport.objects.create(
        collection=collection,
        filename="a.csv",
        content=COLLECTR_FILE,
    )
    importing.read_import(collection_import.pk)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Watch.objects, "bulk_create", broken)
    with pytest.raises(RuntimeError):
        importing.commit_import(collection_import)
    assert not CollectionItem.objects.exists()
    collection_import.refresh_from_db()
    assert collection_import.status == CollectionImport.Status.READY
    assert backfills == []


def test_resolving_rows_of_a_committed_import_is_refused(client, collection, catalog):
    collection_import = uploaded(client, collection, own_file([own_row(catalog.blastoise)]))
    client.post(commit_url(collection_import))
    row = collection_import.rows.get()
    response = client.post(row_url(row), {"action": "drop"}, follow=True)
    assert "can no longer be changed" in response.content.decode()
    row.refresh_from_db()
    assert not row.dropped


def test_discarding_deletes_the_rows_and_the_file_and_the_import_is_gone(
    client, collection, catalog
):
    collection_import = uploaded(client, collection, own_file([own_row(catalog.blastoise)]))
    url = reverse("collections:import_discard", args=[collection.pk, collection_import.pk])
    response = client.post(url)
    assert response["Location"] == reverse("collections:import", args=[collection.pk])
    assert not ImportRow.objects.exists()
    collection_import.refresh_from_db()
    # The record stays (it counts as an upload of its hour) until the purge deletes it.
    assert (collection_import.status, collection_import.content) == ("discarded", "")
    assert client.get(collection_import.get_absolute_url()).status_code == 404
    assert client.post(url).status_code == 404


def test_the_preview_query_count_does_not_grow_with_its_rows(
    client, collection, catalog, django_assert_max_num_queries
):
    def preview_queries(count):
        CollectionImport.objects.all().delete()
        rows = [own_row(catalog.charizard, variant="Shadowless", card_id="")] * count
        rows += [own_row(catalog.blastoise)] * count + [
            own_row(catalog.mew_ex, quantity="x")
        ] * count
        collection_import = uploaded(client, collection, own_file(rows))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(collection_import.get_absolute_url()).status_code == 200
        return len(queries)

    assert preview_queries(40) == preview_queries(2)


# --- Queries do not grow with the file -----------------------------------------------------


def _classify(queries) -> dict[str, int]:
    """Query counts by kind: batched inserts and progress updates apart from the rest."""
    counts = {"insert": 0, "progress": 0, "other": 0}
    for query in queries:
        sql = query["sql"]
        if sql.startswith("INSERT"):
            counts["insert"] += 1
        elif sql.startswith("UPDATE") and '"progress_done"' in sql and '"status"' not in sql:
            counts["progress"] += 1
        else:
            counts["other"] += 1
    return counts


def _read_and_commit(collection, text):
    collection_import = CollectionImport.objects.create(
        collection=collection, filename="big.csv", content=text
    )
    with CaptureQueriesContext(connection) as reading:
        importing.read_import(collection_import.pk)
    collection_import.refresh_from_db()
    assert collection_import.status == CollectionImport.Status.READY
    with CaptureQueriesContext(connection) as committing:
        importing.commit_import(collection_import)
    return _classify(reading.captured_queries), _classify(committing.captured_queries)


def test_reading_and_committing_10000_rows_runs_no_query_per_row(owner, catalog):
    cards = [
        catalog.charizard,
        catalog.charizard_1st,
        catalog.blastoise,
        catalog.bulbasaur_reverse,
        catalog.mew_ex,
        catalog.zoro_parallel,
        catalog.shanks,
    ]

    def file_of(count):
        return own_file(
            [
                own_row(cards[n % len(cards)], quantity=str(n % 5 + 1), notes=f"lot {n}")
                for n in range(count)
            ]
        )

    small_read, small_commit = _read_and_commit(make_collection(owner), file_of(10))
    big_collection = make_collection(owner)
    big_read, big_commit = _read_and_commit(big_collection, file_of(10_000))

    assert big_collection.items.count() == 10_000
    # Everything but the batched inserts and the progress reports is the same for 10 rows
    # and for 10,000: loading the sets and cards, claiming, storing the status.
    assert big_read["other"] == small_read["other"]
    assert big_commit["other"] == small_commit["other"]
    # Inserts come in batches (at most BATCH_SIZE rows, fewer where the database limits a
    # statement's parameters) and progress every PROGRESS_EVERY rows: a few dozen
    # queries for 10,000 rows, not 10,000.
    assert big_read["progress"] == 10_000 // importing.PROGRESS_EVERY - 1
    batch = connection.ops.bulk_batch_size(
        [f for f in ImportRow._meta.concrete_fields if not f.primary_key], [None] * 10_000
    )
    batch = min(batch, importing.BATCH_SIZE)
    assert big_read["insert"] <= -(-10_000 // batch) + 1
    item_batch = connection.ops.bulk_batch_size(
        [f for f in CollectionItem._meta.concrete_fields if not f.primary_key], [None] * 10_000
    )
    assert big_commit["insert"] <= -(-10_000 // min(item_batch, importing.BATCH_SIZE)) + 1


# --- Command line ---------------------------------------------------------------------------


def test_the_import_command_dry_run_lists_rows_and_writes_nothing(
    tmp_path, collection, catalog, capsys
):
    path = tmp_path / "collectr.csv"
    path.write_text(COLLECTR_FILE, encoding="utf-8")
    call_command("import_collection", str(collection.pk), str(path), "--dry-run")
    out = capsys.readouterr().out
    assert "Collectr export: 5 rows matched, 0 ambiguous or rejected." in out
    assert "Dry run: nothing was written." in out
    assert not CollectionItem.objects.exists() and not CollectionImport.objects.exists()


def test_the_import_command_writes_the_items_or_refuses_with_the_rows_in_doubt(
    tmp_path, collection, catalog, capsys, backfills
):
    good = tmp_path / "good.csv"
    good.write_text(own_file([own_row(catalog.blastoise, quantity="2")]), encoding="utf-8")
    call_command("import_collection", str(collection.pk), str(good))
    assert collection.items.get().quantity == 2

    bad = tmp_path / "bad.csv"
    bad.write_text(own_file([own_row(catalog.mew_ex), own_row(catalog.mew_ex, quantity="x")]))
    with pytest.raises(CommandError, match="1 row still needs a choice"):
        call_command("import_collection", str(collection.pk), str(bad))
    assert "line 3 (Rejected): quantity 'x' is not a whole number" in capsys.readouterr().out
    assert collection.items.count() == 1
    assert not CollectionImport.objects.exclude(status="committed").exists()


# --- Who may do what ------------------------------------------------------------------------


def _urls(collection_import, row):
    pk, import_pk = collection_import.collection_id, collection_import.pk
    return [
        ("get", reverse("collections:export", args=[pk]), {}),
        ("get", reverse("collections:import", args=[pk]), {}),
        ("get", reverse("collections:import_preview", args=[pk, import_pk]), {}),
        (
            "post",
            reverse("collections:import_row", args=[pk, import_pk, row.pk]),
            {"action": "drop"},
        ),
        ("post", reverse("collections:import_commit", args=[pk, import_pk]), {}),
        ("post", reverse("collections:import_discard", args=[pk, import_pk]), {}),
    ]


@pytest.fixture
def ready_import(collection, catalog):
    collection_import = CollectionImport.objects.create(
        collection=collection, filename="a.csv", content=own_file([own_row(catalog.blastoise)])
    )
    importing.read_import(collection_import.pk)
    return collection_import


def test_the_owner_reaches_every_import_and_export_url(client, ready_import):
    row = ready_import.rows.get()
    for method, url, data in _urls(ready_import, row):
        response = getattr(client, method)(url, data)
        assert response.status_code in {200, 302}, url
        if response.status_code == 302:
            assert "login" not in response["Location"], url
    assert upload(client, ready_import.collection, "foo\n").status_code == 422


def test_another_user_gets_404_from_every_import_and_export_url(ready_import):
    other = Client()
    other.force_login(make_user())
    row = ready_import.rows.get()
    for method, url, data in _urls(ready_import, row):
        assert getattr(other, method)(url, data).status_code == 404, url
    assert upload(other, ready_import.collection, "foo\n").status_code == 404
    assert CollectionImport.objects.filter(pk=ready_import.pk, status="ready").exists()
    assert not CollectionItem.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in_from_every_import_and_export_url(ready_import):
    anonymous = Client()
    row = ready_import.rows.get()
    for method, url, data in _urls(ready_import, row):
        response = getattr(anonymous, method)(url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login")), url
    assert CollectionImport.objects.filter(pk=ready_import.pk, status="ready").exists()


def test_an_import_is_found_only_within_its_own_collection(client, owner, ready_import):
    elsewhere = make_collection(owner)
    url = reverse("collections:import_preview", args=[elsewhere.pk, ready_import.pk])
    assert client.get(url).status_code == 404
    commit = reverse("collections:import_commit", args=[elsewhere.pk, ready_import.pk])
    assert client.post(commit).status_code == 404
    assert not CollectionItem.objects.exists()
