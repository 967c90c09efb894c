"""Fuzzing the importers through the upload page: whatever the file, the answer is a
preview or a clear refusal — never a 500 — and nothing reaches the collection before
the commit; a commit writes every accepted row or none."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collections_app import importing
from collections_app.exporting import OWN_COLUMNS
from collections_app.models import CollectionImport, CollectionItem, ImportRow, Watch
from tests.collections.import_samples import make_catalog, record_backfills
from tests.factories import make_collection, make_user

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
HEADERS = [OWN_COLUMNS, importing.COLLECTR_COLUMNS, importing.TCGPLAYER_COLUMNS]

# Values that look like what the columns hold, and some that only nearly do.
PLAUSIBLE = st.sampled_from(
    [
        "",
        "1",
        "3",
        "0",
        "-2",
        "abc",
        "4/102",
        "OP01-120",
        "4",
        "151/165",
        "Base Set",
        "Romance Dawn",
        "Scarlet & Violet 151",
        "base1",
        "sv3pt5",
        "OP01",
        "BS",
        "pokemon",
        "onepiece",
        "Pokemon",
        "One Piece Card Game",
        "Charizard",
        "Shanks",
        "Holofoil",
        "Reverse Holofoil",
        "1st Edition",
        "Normal",
        "p1",
        "NM",
        "Near Mint",
        "Near Mint Holofoil",
        "Lightly Played",
        "Damaged",
        "PSA 10",
        "BGS 10 Black Label",
        "CGC 10 Pristine",
        "PSA",
        "10",
        "9.5",
        "11",
        "black label",
        "Ungraded",
        "$1,234.56",
        "12.5",
        "1e9",
        "$-5",
        "2024-03-05",
        "03/05/2024",
        "13/45/2024",
        "true",
        "false",
        "42382",
        "=cmd|' /C calc'!A0",
        "'=1+1",
    ]
)
CELL = st.one_of(PLAUSIBLE, st.text(max_size=30))


@pytest.fixture
def catalog():
    return make_catalog()


@pytest.fixture
def setup(catalog):
    owner = make_user()
    client = Client()
    client.force_login(owner)
    return client, make_collection(owner)


def post_file(client, collection, data: bytes):
    url = reverse("collections:import", args=[collection.pk])
    return client.post(url, {"file": SimpleUploadedFile("fuzz.csv", data, "text/csv")})


def check_upload(client, collection, data: bytes) -> CollectionImport | None:
    response = post_file(client, collection, data)
    assert response.status_code in {302, 422}
    assert not CollectionItem.objects.exists()
    if response.status_code == 422:
        return None
    collection_import = collection.imports.order_by("-pk").first()
    assert collection_import.status in {
        CollectionImport.Status.READY,
        CollectionImport.Status.FAILED,
    }
    if collection_import.status == CollectionImport.Status.FAILED:
        assert collection_import.error
        assert not collection_import.rows.exists()
    preview = client.get(collection_import.get_absolute_url())
    assert preview.status_code == 200
    return collection_import


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@FUZZ
@given(data=st.binary(max_size=2000))
def test_random_bytes_never_give_a_500_or_an_item(setup, data):
    client, collection = setup
    check_upload(client, collection, data)


@FUZZ
@given(
    header=st.sampled_from(HEADERS),
    rows=st.lists(st.lists(CELL, max_size=18), max_size=8),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "latin-1", "cp1252"]),
)
def test_csv_like_text_in_any_encoding_never_gives_a_500_or_an_item(setup, header, rows, encoding):
    client, collection = setup
    text = csv_text(header, rows)
    data = text.encode(encoding, errors="replace")
    check_upload(client, collection, data)


@FUZZ
@given(
    header=st.sampled_from(HEADERS),
    raw=st.text(
        alphabet=st.sampled_from(list(",;\"'\r\n\t =+-@$/.0123456789abcPSA")), max_size=300
    ),
)
def test_broken_quoting_and_odd_separators_never_give_a_500(setup, header, raw):
    client, collection = setup
    check_upload(client, collection, (",".join(header) + "\r\n" + raw).encode())


@FUZZ
@given(
    header=st.sampled_from(HEADERS),
    column=st.integers(min_value=0, max_value=15),
    size=st.sampled_from([301, 5_000, 140_000]),
    char=st.sampled_from(["x", "é", "☕", "\u202e", '"']),
)
def test_huge_fields_are_refused_or_rejected_never_a_500(setup, header, column, size, char):
    client, collection = setup
    row = ["1"] * len(header)
    row[column % len(header)] = char * size
    collection_import = check_upload(client, collection, csv_text(header, [row]).encode())
    if collection_import and collection_import.status == CollectionImport.Status.READY:
        for row in collection_import.rows.all():
            assert len(row.reason) <= 300 and len(row.description) <= 300


def own_cells(catalog):
    cards = [catalog.charizard, catalog.blastoise, catalog.mew_ex, catalog.shanks_parallel]
    return st.builds(
        lambda card, quantity, condition, price, day: [
            str(card.pk),
            card.card_set.game,
            card.card_set.code,
            card.card_set.name,
            card.number,
            card.variant,
            card.name,
            quantity,
            condition,
            "",
            "",
            "",
            price,
            day,
            "",
            "",
        ],
        st.sampled_from(cards),
        st.sampled_from(["1", "2", "x", "0"]),
        st.sampled_from(["NM", "LP", "Near Mint", "Mint-ish"]),
        st.sampled_from(["", "1.00", "12.5", "-3"]),
        st.sampled_from(["", "2024-03-05", "03/05/2024", "2024-02-30"]),
    )


@pytest.mark.parametrize("fail", [False, True])
def test_a_commit_writes_every_accepted_row_or_nothing(setup, catalog, monkeypatch, fail):
    client, collection = setup
    record_backfills(monkeypatch)

    @settings(FUZZ, max_examples=12)
    @given(rows=st.lists(own_cells(catalog), min_size=1, max_size=12), drop=st.data())
    def run(rows, drop):
        CollectionItem.objects.all().delete()
        CollectionImport.objects.all().delete()
        collection_import = check_upload(client, collection, csv_text(OWN_COLUMNS, rows).encode())
        assert collection_import.status == CollectionImport.Status.READY
        # The user drops some rows, perhaps not all the bad ones.
        for row in collection_import.rows.all():
            if drop.draw(st.booleans()):
                client.post(
                    reverse(
                        "collections:import_row", args=[collection.pk, collection_import.pk, row.pk]
                    ),
                    {"action": "drop"},
                )
        kept = collection_import.rows.filter(dropped=False)
        blocked = kept.exclude(status=ImportRow.Status.MATCHED).exists()
        accepted = kept.filter(status=ImportRow.Status.MATCHED).count()
        url = reverse("collections:import_commit", args=[collection.pk, collection_import.pk])
        if fail:
            # The writes fail halfway: after the items, at the watches.
            with monkeypatch.context() as patch:
                patch.setattr(Watch.objects, "bulk_create", _fail)
                if not blocked and accepted:
                    with pytest.raises(RuntimeError):
                        client.post(url)
                else:
                    assert client.post(url).status_code == 302
            assert not CollectionItem.objects.exists()
            collection_import.refresh_from_db()
            assert collection_import.status == CollectionImport.Status.READY
            return
        assert client.post(url).status_code == 302
        written = CollectionItem.objects.filter(collection=collection).count()
        assert written == (0 if blocked else accepted)

    run()


def _fail(*args, **kwargs):
    raise RuntimeError("the database went away")
