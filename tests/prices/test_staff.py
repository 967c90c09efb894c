import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.models import JobRun
from prices.models import PricePoint, UnmatchedRow
from tests.factories import make_card, make_set, make_user

pytestmark = pytest.mark.django_db

STAFF_URLS = ["/staff/", "/staff/jobs/", "/staff/price-guide/", "/staff/unmatched/"]
GUIDE_HEADER = (
    "id,console-name,product-name,loose-price,cib-price,new-price,graded-price,"
    "box-only-price,manual-only-price,bgs-10-price,condition-17-price,condition-18-price,"
    "gamestop-price,gamestop-trade-price,retail-loose-buy,retail-loose-sell,retail-cib-buy,"
    "retail-cib-sell,retail-new-buy,retail-new-sell,upc,sales-volume,genre,tcg-id,asin,epid,"
    "release-date"
)


def guide_row(pc_id, console, product, loose, tcg_id=""):
    cells = (
        [pc_id, console, product, loose] + [""] * 17 + ["12", "Pokemon Card", tcg_id, "", "", ""]
    )
    return ",".join(f'"{cell}"' for cell in cells)


@pytest.fixture
def staff_client(client):
    client.force_login(make_user(is_staff=True))
    return client


@pytest.mark.parametrize("url", STAFF_URLS)
def test_staff_pages_are_for_staff_only(client, url):
    assert client.get(url).status_code == 302  # to the admin login
    client.force_login(make_user())
    response = client.get(url)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize("url", STAFF_URLS)
def test_staff_pages_render(staff_client, url):
    assert staff_client.get(url).status_code == 200


def test_source_health_shows_credentials_circuit_and_budget(staff_client):
    html = staff_client.get("/staff/").content.decode()
    assert "PriceCharting" in html and "eBay" in html and "JustTCG" in html
    assert "Missing" in html  # no tokens in the test environment
    assert "closed" in html
    assert "0 of 60 per 60 s" in html


def test_sync_now_runs_the_source_through_the_task_queue(staff_client, settings):
    settings.PRICE_SOURCES = {
        **settings.PRICE_SOURCES,
        "demo": {**settings.PRICE_SOURCES["demo"], "enabled": True},
    }
    make_card()
    response = staff_client.post("/staff/sources/demo/sync/", follow=True)
    assert "sync queued" in response.content.decode()
    run = JobRun.objects.get(kind=JobRun.Kind.PRICE_SYNC)  # the test cluster runs tasks at once
    # ungraded, PSA 9 and PSA 10 of the one card
    assert (run.source, run.status, run.written) == ("demo", JobRun.Status.SUCCEEDED, 3)


def test_sync_now_refuses_an_unconfigured_source(staff_client):
    response = staff_client.post("/staff/sources/ebay/sync/", follow=True)
    assert "no credentials configured" in response.content.decode()
    assert not JobRun.objects.exists()


def test_uploading_a_price_guide_imports_it_with_progress_and_review(
    staff_client, django_capture_on_commit_callbacks
):
    base = make_set(code="base1", name="Base", series="Base", pricecharting_name="Pokemon Base Set")
    charizard = make_card(card_set=base, number="4", name="Charizard")
    content = "\n".join(
        [
            GUIDE_HEADER,
            guide_row("630417", "Pokemon Base Set", "Charizard #4", "$296.62"),
            guide_row("999999", "Pokemon Mystery Set", "Missingno #0", "$1.00"),
        ]
    )
    upload = SimpleUploadedFile("guide.csv", content.encode(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/staff/price-guide/", {"file": upload, "observed_on": "2026-11-01"}
        )
    run = JobRun.objects.get(kind=JobRun.Kind.PRICE_IMPORT)
    assert response.status_code == 302
    assert response["Location"] == f"/staff/jobs/{run.pk}/"
    assert run.status == JobRun.Status.SUCCEEDED
    point = PricePoint.objects.get(card=charizard)
    assert (point.market, point.observed_at) == (29662, dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    assert UnmatchedRow.objects.get().product_name == "Missingno #0"
    progress = staff_client.get(f"/staff/jobs/{run.pk}/", headers={"HX-Request": "true"})
    assert "<html" not in progress.content.decode()
    assert "Succeeded" in progress.content.decode()


def test_a_file_that_is_not_a_price_guide_is_refused(staff_client):
    upload = SimpleUploadedFile("notes.csv", b"name,price\nfoo,1\n", content_type="text/csv")
    response = staff_client.post("/staff/price-guide/", {"file": upload})
    assert response.status_code == 200
    assert "not a PriceCharting price-guide header" in response.content.decode()
    assert not JobRun.objects.exists()


def test_a_running_job_page_polls_and_a_finished_one_does_not(staff_client):
    running = JobRun.objects.create(kind=JobRun.Kind.PRICE_SYNC, progress_total=10, progress_done=4)
    html = staff_client.get(f"/staff/jobs/{running.pk}/").content.decode()
    assert 'hx-trigger="every 2s"' in html and "4 of 10 (40%)" in html
    running.status, running.finished_at = JobRun.Status.SUCCEEDED, running.started_at
    running.save()
    assert (
        'hx-trigger="every 2s"'
        not in staff_client.get(f"/staff/jobs/{running.pk}/").content.decode()
    )


def test_one_click_match_writes_the_stored_prices(staff_client):
    card = make_card(name="Charizard", number="4")
    row = UnmatchedRow.objects.create(
        source="pricecharting",
        external_id="630417",
        set_name="Pokemon Base Set",
        product_name="Charizard #4",
        reason=UnmatchedRow.Reason.AMBIGUOUS,
        prices={"ungraded": 29662, "PSA 10": 2964313},
        observed_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    )
    row.candidates.add(card)
    html = staff_client.get("/staff/unmatched/").content.decode()
    assert "Charizard #4" in html
    response = staff_client.post(
        f"/staff/unmatched/{row.pk}/match/", {"card": card.pk}, follow=True
    )
    assert "2 prices written" in response.content.decode()
    row.refresh_from_db()
    card.refresh_from_db()
    assert row.resolved_at is not None and row.matched_card == card
    assert card.pricecharting_id == "630417"
    assert set(PricePoint.objects.values_list("price_key", "market")) == {
        ("ungraded", 29662),
        ("PSA 10", 2964313),
    }


@pytest.mark.parametrize("bad", ["", "abc", "999999"])
def test_matching_to_a_missing_card_is_a_clear_error(staff_client, bad):
    row = UnmatchedRow.objects.create(
        source="pricecharting",
        external_id="1",
        product_name="X",
        reason="unmatched",
        observed_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    )
    response = staff_client.post(f"/staff/unmatched/{row.pk}/match/", {"card": bad}, follow=True)
    assert "Choose a card" in response.content.decode()
    row.refresh_from_db()
    assert row.resolved_at is None


def test_matching_a_card_that_has_another_id_asks_before_replacing_it(staff_client):
    card = make_card(name="Charizard", number="4", pricecharting_id="111")
    row = UnmatchedRow.objects.create(
        source="pricecharting",
        external_id="630417",
        product_name="Charizard #4",
        reason="ambiguous",
        prices={"ungraded": 29662},
        observed_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    )
    response = staff_client.post(
        f"/staff/unmatched/{row.pk}/match/", {"card": card.pk}, follow=True
    )
    assert "already has PriceCharting id 111" in response.content.decode()
    assert not PricePoint.objects.exists()
    staff_client.post(f"/staff/unmatched/{row.pk}/match/", {"card": card.pk, "replace": "1"})
    card.refresh_from_db()
    assert card.pricecharting_id == "630417"
    assert PricePoint.objects.get().market == 29662
