import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from api.models import ApiKey, hash_token
from tests.factories import make_card, make_user

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "/api/v1/cards",
    "/api/v1/cards/1",
    "/api/v1/cards/1/prices/history",
    "/api/v1/sets",
    "/api/v1/prices/movers",
]


def error_of(response, status):
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


# --- Authentication --------------------------------------------------------------------


@pytest.mark.parametrize("url", ENDPOINTS)
def test_every_endpoint_needs_a_key(url):
    response = Client().get(url)
    error = error_of(response, 401)
    assert error["code"] == "API_KEY_MISSING"
    assert "X-API-Key" in error["message"]
    assert response["WWW-Authenticate"] == 'ApiKey header="X-API-Key"'


@pytest.mark.parametrize("key", ["tcg_not-a-real-key", "nonsense", "tcg_" + "x" * 500])
def test_an_unknown_key_is_401(key):
    error = error_of(Client(headers={"X-API-Key": key}).get("/api/v1/sets"), 401)
    assert error["code"] == "API_KEY_INVALID"


def test_a_key_works_until_it_is_revoked(user):
    key, secret = ApiKey.issue(user, "Spreadsheet")
    client = Client(headers={"X-API-Key": secret})
    assert client.get("/api/v1/sets").status_code == 200

    key.revoke()

    response = client.get("/api/v1/sets")
    assert error_of(response, 401)["code"] == "API_KEY_REVOKED"
    assert "X-RateLimit-Limit" not in response


def test_the_key_of_a_deactivated_account_stops_working(user, api):
    user.is_active = False
    user.save()
    assert error_of(api.get("/api/v1/sets"), 401)["code"] == "API_KEY_INVALID"


def test_only_a_hash_of_the_key_is_stored(user):
    key, secret = ApiKey.issue(user, "Bot")
    key.refresh_from_db()
    assert secret.startswith("tcg_") and len(secret) > 40
    assert key.hash == hash_token(secret) != secret
    assert key.prefix == secret[:12]
    stored = ApiKey.objects.filter(pk=key.pk).values().get()
    assert secret not in {str(value) for value in stored.values()}


def test_using_a_key_records_when_at_most_once_a_minute(user):
    key, secret = ApiKey.issue(user, "Bot")
    client = Client(headers={"X-API-Key": secret})
    start = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)

    with time_machine.travel(start, tick=False):
        client.get("/api/v1/sets")
    key.refresh_from_db()
    assert key.last_used_at == start

    with time_machine.travel(start + dt.timedelta(seconds=59), tick=False):
        client.get("/api/v1/sets")
    key.refresh_from_db()
    assert key.last_used_at == start

    later = start + dt.timedelta(minutes=1, seconds=1)
    with time_machine.travel(later, tick=False):
        client.get("/api/v1/sets")
    key.refresh_from_db()
    assert key.last_used_at == later


# --- One error format ------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/", "/api/v1/nothing", "/api/v1/cards/abc", "/api/v1/cards/1/prices"]
)
def test_an_unknown_route_is_a_json_404(api, path):
    error = error_of(api.get(path), 404)
    assert error["code"] == "NOT_FOUND"
    assert error["details"] == {"path": path}


def test_a_trailing_slash_gets_a_hint_not_a_redirect(api):
    error = error_of(api.get("/api/v1/cards/"), 404)
    assert "/api/v1/cards?" in error["message"]


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("url", [*ENDPOINTS, "/api/v1/openapi.json"])
def test_anything_but_get_is_a_json_405(api, method, url):
    response = getattr(api, method)(url)
    error = error_of(response, 405)
    assert error["code"] == "METHOD_NOT_ALLOWED"
    assert response["Allow"] == "GET, HEAD"


def test_posting_without_a_csrf_token_is_still_a_json_405(token):
    client = Client(enforce_csrf_checks=True, headers={"X-API-Key": token})
    assert error_of(client.post("/api/v1/cards"), 405)["code"] == "METHOD_NOT_ALLOWED"


def test_errors_after_the_key_check_carry_the_rate_limit_headers(api):
    response = api.get("/api/v1/cards", {"limit": "1000"})
    error_of(response, 400)
    assert response["X-RateLimit-Limit"] == "1000"
    assert response["X-RateLimit-Remaining"] == "999"
    not_found = api.get("/api/v1/cards/987654")
    error_of(not_found, 404)
    assert not_found["X-RateLimit-Remaining"] == "998"


def test_strange_input_never_causes_a_500(api):
    card = make_card()
    for url, params in [
        ("/api/v1/cards", {"q": '"unterminated set:"'}),
        ("/api/v1/cards", {"q": "ünïcödé 🃏 & | ! : * ( ) '"}),
        ("/api/v1/cards", {"q": "set:"}),
        ("/api/v1/cards", {"limit": "１０"}),  # full-width digits
        ("/api/v1/cards", {"offset": "1000001"}),
        (f"/api/v1/cards/{card.pk}/prices/history", {"key": "PSA 10 black label"}),
        (f"/api/v1/cards/{card.pk}/prices/history", {"key": "PSA\x0010"}),
        ("/api/v1/sets", {"game": "pokemon\x00"}),
    ]:
        response = api.get(url, params)
        assert response.status_code in (200, 400), (url, params, response.status_code)
        assert response["Content-Type"] == "application/json"


# --- The API keys page -----------------------------------------------------------------


def client_for(user):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def owner():
    return make_user()


@pytest.fixture
def owned_key(owner):
    key, _ = ApiKey.issue(owner, "Spreadsheet")
    return key


def test_anonymous_visitors_are_sent_to_log_in(owned_key):
    for response in [
        Client().get(reverse("api_keys:list")),
        Client().post(reverse("api_keys:create"), {"name": "x"}),
        Client().post(reverse("api_keys:revoke", args=[owned_key.pk])),
    ]:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login") + "?next=")
    owned_key.refresh_from_db()
    assert owned_key.is_active
    assert ApiKey.objects.count() == 1


def test_other_users_cannot_see_or_revoke_a_key(owned_key):
    other = client_for(make_user())
    assert owned_key.name.encode() not in other.get(reverse("api_keys:list")).content
    response = other.post(reverse("api_keys:revoke", args=[owned_key.pk]))
    assert response.status_code == 404
    owned_key.refresh_from_db()
    assert owned_key.is_active


def test_the_owner_sees_their_keys_by_name_and_prefix(owner, owned_key):
    response = client_for(owner).get(reverse("api_keys:list"))
    assert response.status_code == 200
    assert b"Spreadsheet" in response.content
    assert owned_key.prefix.encode() in response.content
    assert b"Never" in response.content  # not used yet


def test_the_account_nav_links_to_api_keys(owner):
    response = client_for(owner).get(reverse("alerts:email_preferences"))
    assert reverse("api_keys:list").encode() in response.content


def test_a_new_key_is_shown_once_and_works(owner):
    client = client_for(owner)

    response = client.post(reverse("api_keys:create"), {"name": "Price bot"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = ApiKey.objects.get(user=owner)
    assert key.name == "Price bot"
    secret = response.context["secret"]
    assert secret.encode() in response.content
    assert hash_token(secret) == key.hash
    assert secret.encode() not in client.get(reverse("api_keys:list")).content
    assert Client(headers={"X-API-Key": secret}).get("/api/v1/sets").status_code == 200


def test_a_key_needs_a_name(owner):
    response = client_for(owner).post(reverse("api_keys:create"), {"name": "  "})
    assert response.status_code == 422
    assert b"give the key a name" in response.content
    assert not ApiKey.objects.exists()


def test_keys_are_limited_per_user_with_a_clear_message(owner, settings):
    settings.API_MAX_KEYS_PER_USER = 2
    client = client_for(owner)
    client.post(reverse("api_keys:create"), {"name": "one"})
    client.post(reverse("api_keys:create"), {"name": "two"})

    refused = client.post(reverse("api_keys:create"), {"name": "three"})

    assert refused.status_code == 422
    assert b"the most allowed (2)" in refused.content
    assert ApiKey.objects.filter(user=owner).count() == 2
    # A revoked key makes room for a new one.
    ApiKey.objects.filter(user=owner, name="one").get().revoke()
    assert client.post(reverse("api_keys:create"), {"name": "three"}).status_code == 200


def test_the_owner_revokes_a_key_and_it_stops_working(owner):
    key, secret = ApiKey.issue(owner, "Old script")
    client = client_for(owner)

    response = client.post(reverse("api_keys:revoke", args=[key.pk]))

    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    page = client.get(reverse("api_keys:list")).content
    assert b"Revoked" in page
    assert error_of(Client(headers={"X-API-Key": secret}).get("/api/v1/sets"), 401)


def test_htmx_gets_the_keys_panel(owner, owned_key):
    client = client_for(owner)
    htmx = {"HTTP_HX_REQUEST": "true"}
    created = client.post(reverse("api_keys:create"), {"name": "htmx"}, **htmx)
    assert created.status_code == 200
    assert b'id="api-keys"' in created.content
    assert b"<html" not in created.content
    revoked = client.post(reverse("api_keys:revoke", args=[owned_key.pk]), **htmx)
    assert revoked.status_code == 200
    assert b"<html" not in revoked.content
    assert b"Revoked" in revoked.content


def test_the_keys_page_query_count_does_not_grow_with_keys(owner, django_assert_max_num_queries):
    client = client_for(owner)
    client.get(reverse("api_keys:list"))
    for n in range(8):
        ApiKey.issue(owner, f"key {n}")
    with django_assert_max_num_queries(6):
        response = client.get(reverse("api_keys:list"))
    assert response.content.count(b"api-key-") >= 8


def test_a_bug_answers_in_the_error_format_not_an_html_page(monkeypatch, token):
    def broken(*args, **kwargs):
        raise RuntimeError("secret detail")

    monkeypatch.setattr("api.queries.sets", broken)
    client = Client(raise_request_exception=False, headers={"X-API-Key": token})

    error = error_of(client.get("/api/v1/sets"), 500)

    assert error["code"] == "INTERNAL_ERROR"
    assert "secret detail" not in error["message"]


def test_too_many_query_parameters_is_a_json_400(api):
    query = "&".join(f"p{n}=1" for n in range(1001))
    error = error_of(api.get(f"/api/v1/cards?{query}"), 400)
    assert error["code"] == "BAD_REQUEST"


def test_staff_revoke_keys_in_the_admin_without_seeing_secrets(owned_key):
    staff = make_user(is_staff=True, is_superuser=True)
    client = client_for(staff)
    change_page = client.get(reverse("admin:api_apikey_change", args=[owned_key.pk]))
    assert change_page.status_code == 200
    assert owned_key.hash.encode() not in change_page.content

    client.post(
        reverse("admin:api_apikey_changelist"),
        {"action": "revoke", "_selected_action": [owned_key.pk]},
    )

    owned_key.refresh_from_db()
    assert owned_key.revoked_at is not None


def test_a_counted_request_that_django_cannot_read_still_carries_the_rate_limit_headers(api):
    query = "&".join(f"p{n}=1" for n in range(1001))
    response = api.get(f"/api/v1/cards?{query}")
    error_of(response, 400)
    assert response["X-RateLimit-Limit"] == "1000"
    assert response["X-RateLimit-Remaining"] == "999"
    assert "X-API-Key" in response["Vary"]


@pytest.mark.parametrize("url", [*ENDPOINTS, "/api/v1/cards?limit=0"])
def test_no_keyed_answer_may_be_stored_by_a_shared_cache(api, url):
    make_card()
    response = api.get(url)
    assert "private" in response["Cache-Control"].split(", ")


@pytest.mark.parametrize("url", [*ENDPOINTS, "/api/v1/openapi.json"])
def test_head_answers_like_get_without_a_body(api, url):
    make_card()
    got = api.get(url)
    head = api.head(url)
    assert head.status_code == got.status_code
    assert head.content == b""
    assert head["Content-Type"] == "application/json"
    if url != "/api/v1/openapi.json":
        assert head["X-RateLimit-Remaining"] == str(int(got["X-RateLimit-Remaining"]) - 1)
