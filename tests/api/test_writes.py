"""The key holder's own objects through the API: scopes, ownership, the web forms' rules
and messages, idempotent POSTs, CORS."""

import json

import pytest
from django.test import Client

from alerts.forms import AlertForm
from alerts.models import Alert
from api.models import ApiKey, IdempotentRequest
from collections_app.forms import CollectionForm
from collections_app.models import Collection, CollectionItem, Watch
from tests.factories import make_card, make_collection, make_item, make_user, record_prices

pytestmark = pytest.mark.django_db


def client_with(secret: str) -> Client:
    return Client(headers={"X-API-Key": secret})


def send(client, method: str, url: str, body=None, **headers):
    data = "" if body is None else json.dumps(body)
    return client.generic(
        method.upper(), url, data, content_type="application/json", headers=headers
    )


def error_of(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()["error"]


@pytest.fixture
def owner():
    return make_user()


@pytest.fixture
def writer(owner):
    _, secret = ApiKey.issue(owner, "bot", ApiKey.Scope.WRITE)
    return client_with(secret)


@pytest.fixture
def reader(owner):
    _, secret = ApiKey.issue(owner, "sheet")
    return client_with(secret)


@pytest.fixture
def stranger():
    _, secret = ApiKey.issue(make_user(), "theirs", ApiKey.Scope.WRITE)
    return client_with(secret)


@pytest.fixture
def card():
    card = make_card(name="Charizard ex")
    record_prices(card, {"ungraded": 30000, "PSA 10": 150000})
    return card


@pytest.fixture
def alert(owner, card):
    return Alert.objects.create(user=owner, card=card, kind=Alert.Kind.BELOW, threshold=25000)


@pytest.fixture
def collection(owner):
    return make_collection(owner, name="Binder")


@pytest.fixture
def item(collection, card):
    return make_item(collection, card, purchase_price=20000)


# --- Scopes -----------------------------------------------------------------------------------


def test_keys_read_only_unless_created_with_write_access(owner):
    key, _ = ApiKey.issue(owner, "old script")
    assert key.scope == ApiKey.Scope.READ
    assert not key.can_write


def test_a_read_only_key_reads_its_owners_alerts_but_cannot_change_them(reader, alert, card):
    listed = reader.get("/api/v1/alerts")
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["results"]] == [alert.pk]

    for method, url, body in [
        ("post", "/api/v1/alerts", {"card_id": card.pk, "threshold": 100}),
        ("patch", f"/api/v1/alerts/{alert.pk}", {"active": False}),
        ("delete", f"/api/v1/alerts/{alert.pk}", None),
        ("post", "/api/v1/watchlist", {"card_id": card.pk}),
        ("post", "/api/v1/collections", {"name": "New"}),
    ]:
        response = send(reader, method, url, body)
        assert error_of(response, 403)["code"] == "API_KEY_READ_ONLY"
        assert "X-RateLimit-Remaining" in response
    alert.refresh_from_db()
    assert alert.active
    assert Alert.objects.count() == 1
    assert not Watch.objects.exists()
    assert not Collection.objects.exists()


def test_the_keys_page_creates_a_key_that_may_write(owner):
    client = Client()
    client.force_login(owner)
    response = client.post("/accounts/api-keys/create/", {"name": "bot", "scope": "write"})
    assert response.status_code == 200
    key = ApiKey.objects.get(user=owner)
    assert key.can_write
    assert b"Read and write" in client.get("/accounts/api-keys/").content


# --- Ownership: the owner, another user, no key -------------------------------------------------


@pytest.mark.parametrize(
    "method,url,body",
    [
        ("get", "/api/v1/alerts/{alert}", None),
        ("patch", "/api/v1/alerts/{alert}", {"active": False}),
        ("delete", "/api/v1/alerts/{alert}", None),
        ("get", "/api/v1/collections/{collection}", None),
        ("patch", "/api/v1/collections/{collection}", {"name": "Mine now"}),
        ("delete", "/api/v1/collections/{collection}", None),
        ("get", "/api/v1/collections/{collection}/items", None),
        ("post", "/api/v1/collections/{collection}/items", {"card_id": "{card}"}),
        ("get", "/api/v1/collections/{collection}/items/{item}", None),
        ("patch", "/api/v1/collections/{collection}/items/{item}", {"quantity": 2}),
        ("delete", "/api/v1/collections/{collection}/items/{item}", None),
    ],
)
def test_another_users_objects_are_404_and_stay_untouched(
    method, url, body, stranger, alert, collection, item, card
):
    url = url.format(alert=alert.pk, collection=collection.pk, item=item.pk)
    if body and body.get("card_id"):
        body = {"card_id": card.pk}
    error = error_of(send(stranger, method, url, body), 404)
    assert error["code"].endswith("_NOT_FOUND")
    alert.refresh_from_db()
    item.refresh_from_db()
    collection.refresh_from_db()
    assert (alert.active, item.quantity, collection.name) == (True, 1, "Binder")


def test_lists_hold_only_the_key_holders_own(stranger, alert, collection, item):
    for url in ["/api/v1/alerts", "/api/v1/collections", "/api/v1/watchlist"]:
        assert stranger.get(url).json()["results"] == []


def test_without_a_key_a_session_is_not_enough(owner, alert):
    client = Client()
    client.force_login(owner)
    assert error_of(client.get("/api/v1/alerts"), 401)["code"] == "API_KEY_MISSING"
    response = send(client, "delete", f"/api/v1/alerts/{alert.pk}")
    assert error_of(response, 401)["code"] == "API_KEY_MISSING"
    assert Alert.objects.filter(pk=alert.pk).exists()


def test_the_key_acts_for_its_owner_not_the_logged_in_session(owner, writer, card):
    writer.force_login(make_user())
    created = send(writer, "post", "/api/v1/alerts", {"card_id": card.pk, "threshold": "250"})
    assert created.status_code == 201
    assert Alert.objects.get().user == owner


# --- Alerts -------------------------------------------------------------------------------------


def test_creating_an_alert_answers_it_as_the_list_shows_it(writer, card, owner):
    response = send(
        writer,
        "post",
        "/api/v1/alerts",
        {"card_id": card.pk, "price_key": "PSA 10", "threshold": 1200, "cooldown_hours": 6},
    )
    assert response.status_code == 201
    body = response.json()
    alert = Alert.objects.get(user=owner)
    assert body["id"] == alert.pk
    assert body["threshold"] == "1200.00"
    assert body["description"] == "falls to or below $1,200.00"
    assert body["source"] is None
    assert body["cooldown_hours"] == 6
    assert alert.threshold == 120000
    assert writer.get("/api/v1/alerts").json()["results"][0] == body


@pytest.mark.parametrize(
    "fields",
    [
        {"threshold": "0"},
        {"threshold": "12.345"},
        {"threshold": "20000000"},
        {"threshold": "abc"},
        {"kind": "above"},
        {"kind": "move", "percent": "2000"},
        {"kind": "sideways", "threshold": "10"},
        {"price_key": "PSA 11", "threshold": "10"},
        {"cooldown_hours": 5, "threshold": "10"},
    ],
)
def test_an_invalid_alert_gets_the_alert_forms_own_messages(writer, card, owner, fields):
    form = AlertForm(
        {
            "kind": "below",
            "window": "1d",
            "cooldown_hours": "24",
            "price_key": "ungraded",
            **fields,
        },
        card=card,
        user=owner,
    )
    assert not form.is_valid()

    response = send(writer, "post", "/api/v1/alerts", {"card_id": card.pk, **fields})

    error = error_of(response, 422)
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"]["fields"] == {
        name: [str(message) for message in messages] for name, messages in form.errors.items()
    }
    assert not Alert.objects.exists()


def test_the_limit_on_active_alerts_holds_for_the_api(writer, card, owner, settings):
    settings.ALERTS_MAX_ACTIVE_PER_USER = 1
    assert (
        send(writer, "post", "/api/v1/alerts", {"card_id": card.pk, "threshold": 1}).status_code
        == 201
    )
    refused = send(writer, "post", "/api/v1/alerts", {"card_id": card.pk, "threshold": 2})
    error = error_of(refused, 422)
    assert "the most allowed" in error["details"]["fields"]["__all__"][0]
    assert Alert.objects.count() == 1


def test_an_alert_is_paused_changed_and_resumed(writer, alert, settings):
    url = f"/api/v1/alerts/{alert.pk}"
    paused = send(writer, "patch", url, {"active": False})
    assert paused.status_code == 200
    assert paused.json()["active"] is False

    changed = send(writer, "patch", url, {"threshold": "199.99"})
    assert changed.json()["threshold"] == "199.99"
    assert changed.json()["kind"] == "below"  # what was not sent stays

    settings.ALERTS_MAX_ACTIVE_PER_USER = 1
    Alert.objects.create(user=alert.user, card=alert.card, threshold=1)
    refused = send(writer, "patch", url, {"active": True})
    assert "the most allowed" in error_of(refused, 422)["details"]["fields"]["active"][0]
    alert.refresh_from_db()
    assert (alert.active, alert.threshold) == (False, 19999)


def test_a_change_that_breaks_a_rule_changes_nothing(writer, alert):
    response = send(writer, "patch", f"/api/v1/alerts/{alert.pk}", {"kind": "move"})
    assert error_of(response, 422)["details"]["fields"] == {
        "percent": ["Change: enter a percentage for “moves by” alerts."]
    }
    alert.refresh_from_db()
    assert alert.kind == Alert.Kind.BELOW


def test_deleting_an_alert(writer, alert):
    response = send(writer, "delete", f"/api/v1/alerts/{alert.pk}")
    assert response.status_code == 204
    assert response.content == b""
    assert not Alert.objects.exists()
    assert error_of(writer.get(f"/api/v1/alerts/{alert.pk}"), 404)["code"] == "ALERT_NOT_FOUND"


# --- Collections and items ----------------------------------------------------------------------


def test_collections_are_created_renamed_and_deleted(writer, owner):
    created = send(writer, "post", "/api/v1/collections", {"name": "Vintage"})
    assert created.status_code == 201
    collection_id = created.json()["id"]
    assert created.json()["value"] == "0.00"

    renamed = send(writer, "patch", f"/api/v1/collections/{collection_id}", {"name": "Old stuff"})
    assert renamed.json()["name"] == "Old stuff"

    assert send(writer, "delete", f"/api/v1/collections/{collection_id}").status_code == 204
    assert not Collection.objects.filter(user=owner).exists()


def test_a_taken_collection_name_gets_the_forms_message(writer, owner, collection):
    form = CollectionForm({"name": "binder"}, user=owner)
    assert not form.is_valid()
    response = send(writer, "post", "/api/v1/collections", {"name": "binder"})
    assert error_of(response, 422)["details"]["fields"]["name"] == form.errors["name"]
    assert form.errors["name"] == ["Name: you already have a collection called “binder”."]


def test_items_are_added_valued_edited_and_removed(writer, collection, card):
    url = f"/api/v1/collections/{collection.pk}/items"
    added = send(
        writer,
        "post",
        url,
        {"card_id": card.pk, "quantity": 2, "grader": "PSA", "grade": "10", "purchase_price": 1000},
    )
    assert added.status_code == 201, added.content
    body = added.json()
    assert (body["price_key"], body["condition"], body["value"]) == ("PSA 10", None, "3000.00")
    assert body["gain"] == "1000.00"

    item_url = f"{url}/{body['id']}"
    raw = send(writer, "patch", item_url, {"condition": "NM", "grader": "", "grade": None})
    assert (raw.json()["condition"], raw.json()["grader"], raw.json()["quantity"]) == (
        "NM",
        None,
        2,
    )

    assert writer.get(url).json()["total"] == 1
    assert send(writer, "delete", item_url).status_code == 204
    assert not CollectionItem.objects.exists()
    assert writer.get(f"/api/v1/collections/{collection.pk}").json()["items"] == 0


@pytest.mark.parametrize(
    "fields,field,message",
    [
        ({"quantity": 0}, "quantity", "Quantity: at least 1."),
        ({"quantity": "many"}, "quantity", "Quantity: enter a whole number."),
        (
            {"condition": ""},
            "__all__",
            "Condition or grade: choose a condition, or a grader and a grade.",
        ),
        ({"purchase_date": "2999-01-01"}, "purchase_date", "Bought on: the date is in the future."),
        (
            {"purchase_price": "-1"},
            "purchase_price",
            "Paid per copy: enter an amount of $0 or more.",
        ),
    ],
)
def test_an_invalid_item_gets_the_item_forms_messages(
    writer, collection, card, fields, field, message
):
    url = f"/api/v1/collections/{collection.pk}/items"
    response = send(writer, "post", url, {"card_id": card.pk, **fields})
    assert message in error_of(response, 422)["details"]["fields"][field]
    assert not CollectionItem.objects.exists()


def test_an_item_of_another_collection_is_not_found_under_this_one(writer, owner, item):
    other = make_collection(owner, name="Other")
    response = writer.get(f"/api/v1/collections/{other.pk}/items/{item.pk}")
    assert error_of(response, 404)["code"] == "ITEM_NOT_FOUND"


def test_a_missing_card_is_the_card_fields_error(writer, collection):
    url = f"/api/v1/collections/{collection.pk}/items"
    error = error_of(send(writer, "post", url, {"card_id": 987654}), 422)
    assert error["details"]["fields"] == {"card_id": ["card_id: no card has id 987654."]}


# --- Watchlist ----------------------------------------------------------------------------------


def test_watching_and_unwatching_a_card(writer, owner, card):
    first = send(writer, "post", "/api/v1/watchlist", {"card_id": card.pk})
    again = send(writer, "post", "/api/v1/watchlist", {"card_id": card.pk})
    assert (first.status_code, again.status_code) == (201, 200)
    assert Watch.objects.filter(user=owner).count() == 1
    assert writer.get(f"/api/v1/watchlist/{card.pk}").json()["card"]["id"] == card.pk

    assert send(writer, "delete", f"/api/v1/watchlist/{card.pk}").status_code == 204
    assert send(writer, "delete", f"/api/v1/watchlist/{card.pk}").status_code == 204
    assert error_of(writer.get(f"/api/v1/watchlist/{card.pk}"), 404)["code"] == "NOT_WATCHED"


# --- Bodies -------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["not json", "[1, 2]", ""])
def test_a_body_that_is_not_a_json_object_is_refused(writer, body):
    response = writer.post("/api/v1/collections", data=body, content_type="application/json")
    assert error_of(response, 400)["code"] == "INVALID_JSON"
    assert not Collection.objects.exists()


def test_an_unknown_field_is_named(writer, alert):
    response = send(writer, "patch", f"/api/v1/alerts/{alert.pk}", {"treshold": 10})
    assert error_of(response, 422)["details"]["fields"] == {
        "treshold": ["treshold: there is no such field here."]
    }


def test_writes_count_against_the_rate_limit(writer, card):
    before = int(writer.get("/api/v1/alerts")["X-RateLimit-Remaining"])
    response = send(writer, "post", "/api/v1/alerts", {"card_id": card.pk, "threshold": 5})
    assert int(response["X-RateLimit-Remaining"]) == before - 1


def test_a_write_method_on_a_read_route_is_a_405_naming_the_allowed_ones(writer, alert):
    response = send(writer, "put", f"/api/v1/alerts/{alert.pk}", {})
    assert error_of(response, 405)["code"] == "METHOD_NOT_ALLOWED"
    assert response["Allow"] == "GET, HEAD, PATCH, DELETE"


# --- Idempotency keys ---------------------------------------------------------------------------


def test_a_repeated_post_with_its_idempotency_key_answers_the_first_answer(writer, card):
    body = {"card_id": card.pk, "threshold": "99.00"}
    first = send(writer, "post", "/api/v1/alerts", body, **{"Idempotency-Key": "k-1"})
    again = send(writer, "post", "/api/v1/alerts", body, **{"Idempotency-Key": "k-1"})

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Alert.objects.count() == 1


def test_the_same_idempotency_key_with_another_body_is_refused(writer, card):
    send(
        writer,
        "post",
        "/api/v1/alerts",
        {"card_id": card.pk, "threshold": 1},
        **{"Idempotency-Key": "k"},
    )
    other = send(
        writer,
        "post",
        "/api/v1/alerts",
        {"card_id": card.pk, "threshold": 2},
        **{"Idempotency-Key": "k"},
    )
    assert error_of(other, 422)["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert Alert.objects.count() == 1


def test_a_failed_post_keeps_nothing_so_it_can_be_sent_again(writer, card):
    refused = send(
        writer, "post", "/api/v1/alerts", {"card_id": card.pk}, **{"Idempotency-Key": "k"}
    )
    assert refused.status_code == 422
    assert not IdempotentRequest.objects.exists()
    fixed = send(
        writer,
        "post",
        "/api/v1/alerts",
        {"card_id": card.pk, "threshold": 3},
        **{"Idempotency-Key": "k"},
    )
    assert fixed.status_code == 201


def test_idempotency_keys_belong_to_one_api_key(owner, card):
    _, first_secret = ApiKey.issue(owner, "a", ApiKey.Scope.WRITE)
    _, second_secret = ApiKey.issue(owner, "b", ApiKey.Scope.WRITE)
    for threshold, secret in enumerate((first_secret, second_secret), start=1):
        body = {"card_id": card.pk, "threshold": threshold}  # identical alerts are refused
        response = send(
            client_with(secret), "post", "/api/v1/alerts", body, **{"Idempotency-Key": "same"}
        )
        assert response.status_code == 201
    assert Alert.objects.count() == 2


@pytest.mark.parametrize("value", ["", "x" * 256, "naïve"])
def test_an_unusable_idempotency_key_is_a_400_naming_the_header(writer, card, value):
    response = send(
        writer,
        "post",
        "/api/v1/alerts",
        {"card_id": card.pk, "threshold": 1},
        **{"Idempotency-Key": value},
    )
    assert error_of(response, 400)["details"] == {"parameter": "Idempotency-Key"}
    assert not Alert.objects.exists()


# --- CORS ---------------------------------------------------------------------------------------


def test_cors_allows_the_configured_origins_on_the_api_only(settings, reader):
    settings.CORS_ALLOWED_ORIGINS = ["https://sheets.example.com"]
    origin = {"Origin": "https://sheets.example.com"}

    api = reader.get("/api/v1/sets", headers=origin)
    assert api["Access-Control-Allow-Origin"] == "https://sheets.example.com"
    assert "X-RateLimit-Remaining" in api["Access-Control-Expose-Headers"]

    preflight = Client().options(
        "/api/v1/alerts",
        headers={
            **origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key, content-type, idempotency-key",
        },
    )
    assert preflight.status_code == 200
    assert "x-api-key" in preflight["Access-Control-Allow-Headers"]

    assert "Access-Control-Allow-Origin" not in Client().get("/", headers=origin)
    other = reader.get("/api/v1/sets", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in other


# --- Query counts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/alerts",
        "/api/v1/collections",
        "/api/v1/watchlist",
        "/api/v1/collections/{collection}/items",
    ],
)
def test_a_lists_query_count_does_not_grow_with_its_rows(writer, owner, collection, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = url.format(collection=collection.pk)

    def queries_with(rows: int) -> int:
        for _ in range(rows):
            card = make_card()
            record_prices(card, {"ungraded": 1000})
            Alert.objects.create(user=owner, card=card, threshold=500)
            Watch.objects.create(user=owner, card=card)
            make_item(collection, card)
            make_collection(owner)
        writer.get(url)  # the key's last use is written at most once a minute
        with CaptureQueriesContext(connection) as queries:
            response = writer.get(url)
        assert response.status_code == 200
        return len(queries)

    assert queries_with(2) == queries_with(6)
