import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from collections_app.exporting import OWN_COLUMNS
from collections_app.models import CollectionImport
from tests.browser.test_alerts_browser import log_in
from tests.collections.import_samples import make_catalog, record_backfills, to_csv
from tests.factories import make_collection, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def own_row(card, **fields):
    row = {
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


def test_import_a_small_csv_through_preview_choosing_a_card_then_commit(
    page, live_server, tmp_path, monkeypatch
):
    backfills = record_backfills(monkeypatch)
    catalog = make_catalog()
    user = make_user()
    collection = make_collection(user, name="Binder")
    path = tmp_path / "binder.csv"
    path.write_text(
        to_csv(
            OWN_COLUMNS,
            [
                own_row(catalog.blastoise, quantity="2", purchase_price="3.50"),
                # "Shadowless" is no print we know: two Charizards to choose from.
                own_row(catalog.charizard, variant="Shadowless", purchase_date="2024-03-05"),
                own_row(catalog.mew_ex, condition="", grader="PSA", grade="10"),
            ],
        ),
        encoding="utf-8",
    )
    log_in(page, live_server, user)

    page.goto(f"/collections/{collection.pk}/import/")
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.get_by_role("heading", name="Import binder.csv")).to_be_visible()
    commit = page.locator("#import-commit")
    expect(commit).to_be_disabled()
    expect(page.locator("#import-commit-why")).to_contain_text(
        "1 row needs a choice or to be dropped"
    )
    collection_import = CollectionImport.objects.get()
    ambiguous = collection_import.rows.get(line=3)
    row = page.locator(f"#import-row-{ambiguous.pk}")
    row.get_by_label(re.compile("Charizard.*1st Edition")).check()
    row.get_by_role("button", name="Use this card").click()

    expect(row).to_contain_text("Base · 4/102 · 1st Edition")
    expect(commit).to_be_enabled()
    expect(commit).to_have_text(re.compile(r"Import 3 items"))
    commit.click()

    expect(page).to_have_url(re.compile(rf"/collections/{collection.pk}/$"))
    expect(page.get_by_text("Imported 3 items from binder.csv.")).to_be_visible()
    items = list(collection.items.order_by("pk").values_list("card", "quantity", "grader"))
    assert items == [
        (catalog.blastoise.pk, 2, ""),
        (catalog.charizard_1st.pk, 1, ""),
        (catalog.mew_ex.pk, 1, "PSA"),
    ]
    assert backfills == [(collection.pk, dt.date(2024, 3, 5))]
    # Chromium logs 4xx answers as console errors; none are expected here.
    assert page.console_errors == []
