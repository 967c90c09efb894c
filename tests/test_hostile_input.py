"""No input answers 5xx: every URL pattern of the project, crawled with hostile values.

The routes come from the URL resolver itself, so a new page is crawled the day it is
added. Each route is visited as an anonymous visitor, as the owner of a small world of
objects (a card, a collection with an item and an import, an alert, an API key…) and as
staff, and gets:

- GET and HEAD on its real address (on our pages HEAD must answer as GET does);
- every hostile value in each path parameter, where the route's converter lets it through;
- every hostile value in each query parameter the page reads — recorded while it answers
  the real GET, so nobody has to list them — plus the common ones (q, page) and the
  admin changelist's;
- POST with every hostile value in each form field the view reads (recorded likewise).

Our own pages get every value in each parameter alone as well; Django's and allauth's
(the admin above all: a hundred patterns alike) the values all at once.

Any 5xx fails, listing every request that caused one. The suite runs again on
PostgreSQL in CI, where NULs and overlong words fail differently than on SQLite.
"""

from urllib.parse import urlencode

import django.core.handlers.wsgi
import django.http.request
import pytest
from django.db import DatabaseError, transaction
from django.http import QueryDict
from django.test import Client

from api.models import ApiKey
from tests.factories import make_card, make_collection, make_user
from tests.routes import ROUTES, make_world

NUL = "nul\x00byte"
CONTROL = "control\x01\x1f\r\n\tcharacters"
SUPERSCRIPT_TWO = "²"  # a digit to str.isdigit(), not to int()
TEN_KB = "x" * 10_000
FIVE_HUNDRED_WORDS = " ".join(["charizard"] * 500)
HUGE = "99999999999999999999999999999"
INVALID_DATE = "2024-02-30"
HOSTILE_VALUES = [
    NUL,
    CONTROL,
    SUPERSCRIPT_TWO,
    TEN_KB,
    FIVE_HUNDRED_WORDS,
    "-1",
    HUGE,
    "1e999",
    "NaN",
    INVALID_DATE,
    "%",
    "",
]
# Control characters never reach a page's view (the middleware answers them): the request
# with every parameter at once shows that; one parameter at a time needs the others only.
ONE_AT_A_TIME_VALUES = [value for value in HOSTILE_VALUES if value not in (NUL, CONTROL)]
# Django's own pages (the admin, allauth) are many and alike: the values the crawl is
# about, without the blank one — Django's admin answers 500 to a blank ?_to_field=
# (ModelAdmin.get_object() then looks up a field named ""), a staff-only page of Django's
# own that the crawl leaves alone.
THIRD_PARTY_VALUES = [
    NUL,
    CONTROL,
    SUPERSCRIPT_TWO,
    TEN_KB,
    FIVE_HUNDRED_WORDS,
    "-1",
    HUGE,
    INVALID_DATE,
]
# Where the values cannot reach a view's own code — a page behind a login answers every
# visitor without one with the same redirect; Django's own forms read their fields, not
# the query string — a few of them show that.
FEW_VALUES = [NUL, SUPERSCRIPT_TWO, TEN_KB]
# Read by many pages through a copy or a form, where recording cannot see them.
COMMON_PARAMETERS = {"q", "page"}
ADMIN_PARAMETERS = {"q", "o", "p", "e", "all", "_popup", "_to_field", "_changelist_filters"}


@pytest.fixture
def world(db):
    return make_world()


# --- Recording what a view reads -------------------------------------------------------------

_read_keys: set[str] = set()


class RecordingQueryDict(QueryDict):
    """request.GET / request.POST noting each key a view asks for."""

    def __getitem__(self, key):
        _read_keys.add(key)
        return super().__getitem__(key)

    def getlist(self, key, default=None):
        _read_keys.add(key)
        return super().getlist(key, default)

    def __contains__(self, key):
        _read_keys.add(key)
        return super().__contains__(key)


@pytest.fixture
def record_reads(monkeypatch):
    def start():
        _read_keys.clear()
        return _read_keys

    monkeypatch.setattr(django.core.handlers.wsgi, "QueryDict", RecordingQueryDict)
    monkeypatch.setattr(django.http.request, "QueryDict", RecordingQueryDict)
    return start


# --- The crawl ---------------------------------------------------------------------------------


class Crawl:
    def __init__(self, client: Client, headers: dict):
        self.client = client
        self.headers = headers
        self.failures: list[str] = []

    def send(self, method: str, path: str, *, query=None, body=None, headers=None):
        address = f"{path}?{urlencode(query, doseq=True)}" if query else path
        extra = {**self.headers, **(headers or {})}
        response = None
        try:
            # A savepoint per request: a query PostgreSQL refused (its 500 is recorded
            # below) must not abort the test's transaction for the requests after it.
            with transaction.atomic():
                if method == "POST":
                    response = self.client.post(
                        address,
                        data=urlencode(body or {}, doseq=True),
                        content_type="application/x-www-form-urlencoded",
                        headers=extra,
                    )
                else:
                    response = self.client.generic(method, address, headers=extra)
        except DatabaseError:
            pass
        status = response.status_code if response is not None else 500
        if status >= 500:
            shown = address if len(address) < 300 else address[:300] + "…"
            fields = {key: value[:40] for key, value in (body or {}).items()}
            self.failures.append(f"{method} {shown!r} {fields or ''} -> {status}")
        return response


def _is_login_redirect(response) -> bool:
    location = response.get("Location", "") if response.status_code in (301, 302) else ""
    return "/login/" in location


USERS = ("anonymous", "user", "staff")


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.name or route.template)
def test_no_hostile_value_gets_a_server_error(route, user, world, record_reads):
    client = Client(raise_request_exception=False)
    headers = {}
    if user != "anonymous":
        client.force_login(world.owner if user == "user" else world.staff)
        headers["X-API-Key"] = world.api_keys[user]
    crawl = Crawl(client, headers)
    real_values = world.real_values(route)
    real_path = route.path(real_values)
    assert real_path is not None, f"{route.template}: the real values {real_values} do not resolve"
    # Django's own pages (the admin, allauth) get a shorter list of values, all parameters
    # at once; ours get each parameter alone and their forms too.
    values = HOSTILE_VALUES if route.is_ours else THIRD_PARTY_VALUES

    reads = record_reads()
    get = crawl.send("GET", real_path)
    query_keys = set(reads) | COMMON_PARAMETERS
    if route.template.startswith("admin/"):
        query_keys |= ADMIN_PARAMETERS
    head = crawl.send("HEAD", real_path)
    if route.is_ours and get is not None and head is not None:
        assert head.status_code == get.status_code, f"HEAD {real_path} answers unlike GET"
        assert b"".join(head) == b"", f"HEAD {real_path} has a body"

    if get is not None and _is_login_redirect(get):
        values = FEW_VALUES
    hostile_paths = []
    for name in route.parameters:
        for value in values:
            path = route.path({**real_values, name: value})
            if path is not None and path != real_path:
                hostile_paths.append(path)
    for path in hostile_paths:
        crawl.send("GET", path)
        if route.is_ours:
            crawl.send("POST", path)

    if get is not None and not _is_login_redirect(get):
        for value in values:
            crawl.send("GET", real_path, query=dict.fromkeys(query_keys, value))
        if route.is_ours:
            for key in sorted(query_keys):
                for value in ONE_AT_A_TIME_VALUES:
                    crawl.send("GET", real_path, query={key: value})
            # The htmx partials read parameters of their own, and the page's address.
            for value in ONE_AT_A_TIME_VALUES:
                htmx = {"HX-Request": "true", "HX-Current-URL": f"http://testserver/?q={value}"}
                query = dict.fromkeys(query_keys, value)
                crawl.send("GET", real_path, query=query, headers=htmx)

    reads = record_reads()
    crawl.send("POST", real_path)
    form_keys = set(reads) if route.is_ours else set()
    for value in values if route.is_ours else FEW_VALUES:
        crawl.send(
            "POST",
            real_path,
            query=dict.fromkeys(query_keys, value),
            body=dict.fromkeys(form_keys, value),
        )

    assert not crawl.failures, "\n".join(crawl.failures)


def test_every_route_of_ours_with_parameters_has_real_values_in_the_crawl(world):
    """Hostile values alone mostly stop at a 404; a real address reaches the page."""
    missing = [
        route.template
        for route in ROUTES
        if route.is_ours and route.parameters and route.name not in world.real
    ]
    assert not missing, f"add real path values for {missing} to the world fixture"


# --- The cases found by hand before the crawler ---------------------------------------------


@pytest.mark.parametrize("parameter", ["q", "set", "rarity", "game", "sort", "page"])
def test_a_nul_byte_in_a_search_parameter_is_a_400_naming_it(client, db, parameter):
    response = client.get("/cards/", {parameter: "pika\x00chu"})
    assert response.status_code == 400
    assert f"The parameter “{parameter}” contains a control character" in response.text


@pytest.mark.parametrize("path", ["/sets/pokemon/%00/", "/collections/shared/%00/"])
def test_a_nul_byte_in_an_address_is_a_400(client, db, path):
    response = client.get(path)
    assert response.status_code == 400
    assert "The address contains a control character" in response.text


def test_pages_and_the_api_refuse_the_same_control_characters(client, db):
    _, secret = ApiKey.issue(make_user(), "test")
    for character in ["\x00", "\x01", "\t", "\n", "\x1f"]:
        page = client.get("/cards/", {"q": f"a{character}b"})
        api = client.get("/api/v1/cards", {"q": f"a{character}b"}, headers={"X-API-Key": secret})
        assert (page.status_code, api.status_code) == (400, 400)
        assert api.json()["error"]["details"] == {"parameter": "q"}
    # DEL and everything above it are ordinary characters to both.
    assert client.get("/cards/", {"q": "a\x7fb"}).status_code == 200


@pytest.mark.parametrize("words", [155, 500])
def test_a_search_of_too_many_words_says_so_instead_of_failing(client, db, words):
    make_card(name="Charizard")
    response = client.get("/cards/", {"q": " ".join(["char"] * words)})
    assert response.status_code == 200
    assert "A search is at most 200 characters long" in response.text


def test_a_search_of_too_many_short_words_says_so(client, db):
    response = client.get("/cards/", {"q": " ".join("abcdefghijklmnopqrstuvwxyz")})
    assert response.status_code == 200
    assert "A search has at most 20 words and filters; this one has 26." in response.text


def test_a_card_id_like_superscript_two_on_the_alert_form_is_no_card(client, db):
    client.force_login(make_user())
    assert client.get("/alerts/create/", {"card": "²"}).status_code == 404
    assert client.post("/alerts/create/", {"card": "²", "kind": "below"}).status_code == 404


def test_a_collection_name_taken_between_checking_and_saving_is_a_form_error(db):
    """A double click on "Create collection": the second request passes the form's check
    before the first has saved, and meets the unique constraint instead."""
    from collections_app.forms import CollectionForm

    owner = make_user()
    form = CollectionForm({"name": "Binder", "basis_source": "", "basis_key": ""}, user=owner)
    assert form.is_valid()
    make_collection(owner, name="Binder")  # the first click, saved meanwhile
    assert form.save() is None
    assert form.errors["name"] == ["Name: you already have a collection called “Binder”."]
    assert owner.card_collections.count() == 1


def test_head_on_health_answers_like_get_without_a_body(client, db):
    get, head = client.get("/health/"), client.head("/health/")
    assert head.status_code == get.status_code
    assert head["Content-Type"] == get["Content-Type"] == "application/json"
    assert head.content == b""
