"""No input answers 5xx: every URL pattern of the project, crawled with hostile values.

The routes come from the URL resolver itself, so a new page is crawled the day it is
added. Each route is visited as an anonymous visitor, as the owner of a small world of
objects (a card, a collection with an item and an import, an alert, an API key…) and as
staff, and gets:

- GET and HEAD on its real address (HEAD must answer as GET does);
- every hostile value in each path parameter, where the route's converter lets it through;
- every hostile value in each query parameter the page reads — recorded while it answers
  the real GET, so nobody has to list them — plus the common ones (q, page) and the
  admin changelist's;
- POST with every hostile value in each form field the view reads (recorded likewise).

Any 5xx fails, listing every request that caused one. The suite runs again on
PostgreSQL in CI, where NULs and overlong words fail differently than on SQLite.
"""

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlencode

import django.core.handlers.wsgi
import django.http.request
import pytest
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, transaction
from django.http import QueryDict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RoutePattern
from django.utils import timezone

from alerts.links import pause_token, unsubscribe_token
from alerts.models import Alert
from api.models import ApiKey
from collections_app.models import CollectionImport, ImportRow, Watch
from prices.models import JobRun, Source, UnmatchedRow
from tests.factories import (
    make_card,
    make_collection,
    make_item,
    make_set,
    make_user,
    record_prices,
)

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
    "0",
    HUGE,
    "1e999",
    "NaN",
    INVALID_DATE,
    "<script>x</script>'\"",
    "%",
    "",
]
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
# A page behind a login answers every visitor without one with the same redirect, whatever
# the values: a few of them show that.
BEFORE_LOGIN_VALUES = [NUL, SUPERSCRIPT_TWO, TEN_KB]
# Read by many pages through a copy or a form, where recording cannot see them.
COMMON_PARAMETERS = {"q", "page"}
ADMIN_PARAMETERS = {"q", "o", "p", "e", "all", "_popup", "_to_field", "_changelist_filters"}
OUR_APPS = ("cards", "prices", "alerts", "collections_app", "api", "tcgtracker")


# --- The routes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name", or "" when the pattern has none
    template: str  # the whole route, e.g. "cards/<int:pk>/<slug:slug>/"
    patterns: tuple  # the pattern objects from the root to this route
    callback: object

    @property
    def parameters(self) -> list[str]:
        names = []
        for pattern in self.patterns:
            if isinstance(pattern, RoutePattern):
                names.extend(pattern.converters)
            else:
                names.extend(pattern.regex.groupindex)
        return names

    @property
    def is_ours(self) -> bool:
        return self.callback.__module__.split(".")[0] in OUR_APPS

    def path(self, values: dict[str, str]) -> str | None:
        """The address with these parameter values, or None when the route's converters
        do not let one of them through (the resolver would answer 404 before any view)."""
        path = "/" + "".join(_fill(pattern, values) for pattern in self.patterns)
        try:
            match = resolve(unquote(path))
        except Resolver404:
            return None
        return path if match.func is self.callback else None


def _fill(pattern, values: dict[str, str]) -> str:
    text = str(pattern)
    if isinstance(pattern, RoutePattern):  # a path() route: <int:pk>, <slug>
        return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: quote(values[m[1]], safe=""), text)
    # A re_path() regex: replace each named group, however nested its own parentheses.
    text = text.removeprefix("^").removesuffix("$").removesuffix(r"\Z")
    while (start := text.find("(?P<")) != -1:
        name = text[start + 4 : text.index(">", start)]
        depth, end = 0, start
        for end in range(start, len(text)):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                break
        text = text[:start] + quote(values[name], safe="") + text[end + 1 :]
    return text


def _walk(patterns, parents=(), namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace or ""]))
            yield from _walk(pattern.url_patterns, (*parents, pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            chain = (*parents, pattern.pattern)
            name = f"{namespace}:{pattern.name}" if namespace else (pattern.name or "")
            if namespace and not pattern.name:
                name = ""
            template = "".join(str(p) for p in chain)
            yield Route(name, template, chain, pattern.callback)


ROUTES = list(_walk(get_resolver().url_patterns))


# --- The world the crawl visits ----------------------------------------------------------------


@dataclass
class World:
    owner: object
    staff: object
    api_keys: dict
    real: dict  # route name → real path parameters

    def real_values(self, route: Route) -> dict[str, str]:
        if route.name in self.real:
            return self.real[route.name]
        values = dict.fromkeys(route.parameters, "1")
        # The admin's pages of one object: admin/<app>/<model>/<object_id>/...
        admin = re.match(r"admin/(\w+)/(\w+)/", route.template)
        if admin:
            try:
                model = apps.get_model(admin[1], admin[2])
            except LookupError:
                return values
            found = model._default_manager.order_by("pk").first()
            if found is not None:
                values.update({"object_id": str(found.pk), "id": str(found.pk)})
        return values


@pytest.fixture
def world(db):
    owner = make_user()
    staff = make_user(is_staff=True, is_superuser=True)
    card_set = make_set(code="base1", name="Base")
    card = make_card(card_set=card_set, number="4", name="Charizard", rarity="Rare Holo")
    record_prices(card, {"ungraded": 35000, "NM": 38000, "PSA 10": 250000})
    collection = make_collection(owner, name="Binder")
    collection.start_sharing()
    item = make_item(collection, card, purchase_price=20000)
    Watch.objects.create(user=owner, card=card)
    collection_import = CollectionImport.objects.create(
        collection=collection,
        filename="binder.csv",
        content="game,set_code,number,quantity\npokemon,base1,4,1\n",
        format=CollectionImport.Format.OWN,
        status=CollectionImport.Status.READY,
    )
    import_row = ImportRow.objects.create(
        collection_import=collection_import,
        line=2,
        status=ImportRow.Status.AMBIGUOUS,
        description="Base 4",
        data={},
    )
    import_row.candidates.add(card)
    alert = Alert.objects.create(user=owner, card=card, kind=Alert.Kind.BELOW, threshold=30000)
    job = JobRun.objects.create(kind=JobRun.Kind.PRICE_SYNC, source=Source.DEMO)
    unmatched = UnmatchedRow.objects.create(
        source=Source.PRICECHARTING,
        external_id="630417",
        set_name="Pokemon Base Set",
        product_name="Charizard #4",
        reason=UnmatchedRow.Reason.UNMATCHED,
        observed_at=timezone.now(),
    )
    owner_key, owner_secret = ApiKey.issue(owner, "crawler")
    _, staff_secret = ApiKey.issue(staff, "crawler")
    unverified = EmailAddress.objects.create(user=owner, email="second@example.com")

    real = {
        "cards:detail": {"pk": str(card.pk), "slug": card.get_absolute_url().split("/")[-2]},
        "cards:detail_short": {"pk": str(card.pk)},
        "cards:set_detail": {"game": card_set.game, "code": card_set.code},
        "prices:card_prices": {"pk": str(card.pk)},
        "prices:card_history": {"pk": str(card.pk)},
        "staff:sync_now": {"source": Source.DEMO},
        "staff:job_detail": {"pk": str(job.pk)},
        "staff:match_row": {"pk": str(unmatched.pk)},
        "collections:toggle_watch": {"card_pk": str(card.pk)},
        "collections:item": {"pk": str(item.pk)},
        "collections:edit_item": {"pk": str(item.pk)},
        "collections:delete_item": {"pk": str(item.pk)},
        "collections:shared": {"token": collection.share_token},
        "alerts:pause_link": {"token": pause_token(alert)},
        "alerts:unsubscribe": {"token": unsubscribe_token(owner)},
        "api:card": {"card_id": str(card.pk)},
        "api:card_history": {"card_id": str(card.pk)},
        "api:not_found": {"path": "nothing-here"},
        "api_keys:revoke": {"pk": str(owner_key.pk)},
        "account_confirm_email": {"key": EmailConfirmationHMAC(unverified).key},
        "account_reset_password_from_key": {
            "uidb36": user_pk_to_url_str(owner),
            "key": "set-password",
        },
        "admin:view_on_site": {
            "content_type_id": str(ContentType.objects.get_for_model(card).pk),
            "object_id": str(card.pk),
        },
        "admin:app_list": {"app_label": "cards"},
    }
    for name in ("detail", "edit", "delete", "share", "chart", "add_item", "export", "import"):
        real[f"collections:{name}"] = {"pk": str(collection.pk)}
    for name in ("import_preview", "import_commit", "import_discard"):
        real[f"collections:{name}"] = {
            "pk": str(collection.pk),
            "import_pk": str(collection_import.pk),
        }
    real["collections:import_row"] = {
        "pk": str(collection.pk),
        "import_pk": str(collection_import.pk),
        "row_pk": str(import_row.pk),
    }
    for name in ("detail", "edit", "pause", "resume", "delete"):
        real[f"alerts:{name}"] = {"pk": str(alert.pk)}
    return World(owner, staff, {"user": owner_secret, "staff": staff_secret}, real)


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
    # Django's own pages (the admin, allauth) get the hostile values the specification
    # names, all parameters at once; ours get each parameter alone and their forms too.
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
        values = BEFORE_LOGIN_VALUES
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
                for value in values:
                    crawl.send("GET", real_path, query={key: value})
            # The htmx partials read parameters of their own, and the page's address.
            for value in values:
                htmx = {"HX-Request": "true", "HX-Current-URL": f"http://testserver/?q={value}"}
                query = dict.fromkeys(query_keys, value)
                crawl.send("GET", real_path, query=query, headers=htmx)

    reads = record_reads()
    crawl.send("POST", real_path)
    form_keys = set(reads) if route.is_ours else set()
    for value in values:
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
