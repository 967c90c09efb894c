"""Per-user limits on collection imports, and the purge of old imports."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from collections_app.import_storage import purge_old_imports
from collections_app.models import CollectionImport, ImportRow
from tests.collections.import_samples import make_catalog
from tests.factories import make_collection, make_user

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 5, 4, 12, 0, tzinfo=dt.UTC)
HEADER = "game,set_code,number,quantity,condition\n"


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


def csv_file(lines: int = 1, padding: int = 0) -> bytes:
    row = "pokemon,base1,2,1,NM" + " " * padding + "\n"
    return (HEADER + row * lines).encode()


def upload(client, collection, data: bytes | None = None, name="binder.csv"):
    return client.post(
        reverse("collections:import", args=[collection.pk]),
        {"file": SimpleUploadedFile(name, data or csv_file(), content_type="text/csv")},
    )


def discard(client, collection_import):
    url = reverse(
        "collections:import_discard",
        args=[collection_import.collection_id, collection_import.pk],
    )
    assert client.post(url).status_code == 302


# --- Limits --------------------------------------------------------------------------------


def test_an_upload_past_the_hourly_limit_is_refused_with_a_clear_message(
    client, collection, catalog, settings
):
    settings.COLLECTION_IMPORT_UPLOADS_PER_HOUR = 2
    with time_machine.travel(NOW, tick=False):
        for _ in range(2):
            assert upload(client, collection).status_code == 302
        response = upload(client, collection)
    assert response.status_code == 422
    assert (
        "You have uploaded 2 files in the last hour, the most allowed (2 an hour). "
        "Try again later." in response.text
    )
    assert collection.imports.count() == 2


def test_discarded_uploads_still_count_against_their_hour_and_later_ones_do_not(
    client, collection, catalog, settings
):
    settings.COLLECTION_IMPORT_UPLOADS_PER_HOUR = 2
    with time_machine.travel(NOW, tick=False):
        for _ in range(2):
            upload(client, collection)
            discard(client, collection.imports.first())
        assert upload(client, collection).status_code == 422
    with time_machine.travel(NOW + dt.timedelta(minutes=61), tick=False):
        assert upload(client, collection).status_code == 302


def test_open_imports_are_limited_and_importing_one_frees_a_place(
    client, collection, catalog, settings
):
    settings.COLLECTION_IMPORT_MAX_OPEN = 2
    upload(client, collection)
    upload(client, collection)
    response = upload(client, collection)
    assert response.status_code == 422
    assert (
        "You have 2 imports not finished, the most allowed (2). Import or discard one of "
        "them first." in response.text
    )

    first = collection.imports.last()
    commit = reverse("collections:import_commit", args=[collection.pk, first.pk])
    assert client.post(commit).status_code == 302
    assert upload(client, collection).status_code == 302


def test_the_bytes_held_by_open_imports_are_limited(client, collection, catalog, settings):
    settings.COLLECTION_IMPORT_MAX_OPEN_BYTES = 3000
    first = csv_file(lines=10, padding=100)  # about 1.3 KB
    assert upload(client, collection, first).status_code == 302
    assert upload(client, collection, first).status_code == 302
    response = upload(client, collection, first)
    assert response.status_code == 422
    assert "Your imports not finished hold 0.0 MB; with this file (0.0 MB) they would pass" in (
        response.text
    )
    assert sum(collection.imports.values_list("size", flat=True)) == 2 * len(first)


def test_the_limits_are_each_users_own(client, collection, catalog, settings):
    settings.COLLECTION_IMPORT_MAX_OPEN = 1
    assert upload(client, collection).status_code == 302
    other = Client()
    other_user = make_user()
    other.force_login(other_user)
    assert upload(other, make_collection(other_user)).status_code == 302
    assert upload(client, make_collection(collection.user)).status_code == 422


def test_the_upload_page_shows_what_is_used_of_each_limit(client, collection, catalog, settings):
    settings.COLLECTION_IMPORT_UPLOADS_PER_HOUR = 10
    settings.COLLECTION_IMPORT_MAX_OPEN = 5
    upload(client, collection)
    response = client.get(reverse("collections:import", args=[collection.pk]))
    text = " ".join(response.text.split())
    assert "Uploads in the last hour: 1 of 10." in text
    assert "Imports not finished: 1 of 5 (0.0 of 10 MB)." in text
    assert "Imports are deleted 7 days after their upload" in text


def test_importing_discarding_or_failing_lets_go_of_the_files_text(client, collection, catalog):
    upload(client, collection)
    upload(client, collection)
    upload(client, collection, HEADER.encode())  # a header and no rows: fails when read
    failed, discarded, committed = collection.imports.order_by("-pk")
    assert failed.status == "failed"
    discard(client, discarded)
    commit = reverse("collections:import_commit", args=[collection.pk, committed.pk])
    client.post(commit)
    for collection_import in (failed, discarded, committed):
        collection_import.refresh_from_db()
        assert collection_import.content == ""


# --- The purge -----------------------------------------------------------------------------


def old_import(collection, *, days: float, status="ready") -> CollectionImport:
    with time_machine.travel(timezone.now() - dt.timedelta(days=days), tick=False):
        collection_import = CollectionImport.objects.create(
            collection=collection, filename="old.csv", content=HEADER, status=status, size=40
        )
    ImportRow.objects.create(
        collection_import=collection_import, line=2, status="rejected", description="x"
    )
    return collection_import


def test_the_purge_deletes_every_import_older_than_a_week_with_its_rows(collection):
    gone = [
        old_import(collection, days=8, status=status)
        for status in ("pending", "ready", "failed", "committed", "discarded")
    ]
    kept = old_import(collection, days=6)

    assert purge_old_imports() == len(gone)
    assert list(CollectionImport.objects.all()) == [kept]
    assert ImportRow.objects.get().collection_import == kept
    assert purge_old_imports() == 0  # safe to run again


def test_the_purge_command_has_a_dry_run_and_says_what_it_did(collection):
    old_import(collection, days=10)
    out = StringIO()
    call_command("purge_old_imports", "--dry-run", stdout=out)
    assert "Would delete 1 import uploaded more than 7 days ago." in out.getvalue()
    assert CollectionImport.objects.count() == 1
    call_command("purge_old_imports", stdout=out)
    assert "Deleted 1 import uploaded more than 7 days ago." in out.getvalue()
    assert not CollectionImport.objects.exists()


def test_the_purge_keeps_imports_for_as_many_days_as_configured(collection, settings):
    settings.COLLECTION_IMPORT_KEEP_DAYS = 30
    old_import(collection, days=10)
    assert purge_old_imports() == 0


def test_the_purge_is_a_scheduled_job(collection):
    call_command("setup_schedules", stdout=StringIO())
    schedule = Schedule.objects.get(name="collection-import-purge")
    assert schedule.func == "collections_app.tasks.purge_old_imports"
    old_import(collection, days=8)
    from collections_app.tasks import purge_old_imports as task

    assert task() == 1
