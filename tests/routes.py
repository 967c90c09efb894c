"""Every URL pattern of the project, read from the URL resolver, and a small world of
objects that gives each pattern a real address: what the hostile-input crawl
(tests/test_hostile_input.py) and the Content-Security-Policy browser test visit, so a
new page is visited the day it is added.
"""

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RoutePattern
from django.utils import timezone

from alerts.links import pause_token, unsubscribe_token
from alerts.models import Alert, Channel
from api.models import ApiKey
from collections_app.models import CollectionImport, ImportRow, Watch
from jobs.models import JobRun
from prices.models import Source, UnmatchedRow
from tests.factories import (
    make_card,
    make_collection,
    make_item,
    make_set,
    make_user,
    record_prices,
)

OUR_APPS = (
    "jobs",
    "cards",
    "prices",
    "alerts",
    "collections_app",
    "api",
    "account_data",
    "pages",
    "tcgtracker",
)


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
            name = ":".join(filter(None, [namespace, pattern.name])) if pattern.name else ""
            template = "".join(str(p) for p in chain)
            yield Route(name, template, chain, pattern.callback)


ROUTES = list(_walk(get_resolver().url_patterns))


# --- A world of objects to visit ---------------------------------------------------------------


@dataclass
class World:
    owner: object
    staff: object
    api_keys: dict
    real: dict  # route name → real path parameters
    card_url: str
    collection_url: str

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


def make_world(*, owner_is_staff: bool = False) -> World:
    """One of each object the pages show, the owner's; staff own nothing."""
    owner = make_user(is_staff=owner_is_staff, is_superuser=owner_is_staff)
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
    # Loopback: refused before any connection, so "Send test" answers at once.
    channel = Channel.objects.create(
        user=owner, kind=Channel.Kind.DISCORD, name="Server", url="https://127.0.0.1:9/hook"
    )
    alert.channels.add(channel)
    job = JobRun.objects.create(kind=JobRun.Kind.PRICE_SYNC, source=Source.DEMO)
    unmatched = UnmatchedRow.objects.create(
        source=Source.PRICECHARTING,
        external_id="630417",
        set_name="Pokemon Base Set",
        product_name="Charizard #4",
        reason=UnmatchedRow.Reason.UNMATCHED,
        observed_at=timezone.now(),
    )
    # Keys that may write, so the crawl reaches the API's writes too.
    owner_key, owner_secret = ApiKey.issue(owner, "crawler", ApiKey.Scope.WRITE)
    _, staff_secret = ApiKey.issue(staff, "crawler", ApiKey.Scope.WRITE)
    unverified = EmailAddress.objects.create(user=owner, email="second@example.com")

    real = {
        "cards:detail": {"pk": str(card.pk), "slug": card.get_absolute_url().split("/")[-2]},
        "cards:detail_short": {"pk": str(card.pk)},
        "cards:set_detail": {"game": card_set.game, "code": card_set.code},
        "prices:card_prices": {"pk": str(card.pk)},
        "prices:card_history": {"pk": str(card.pk)},
        "prices:card_grading": {"pk": str(card.pk)},
        "staff:sync_now": {"source": Source.DEMO},
        "staff:job_detail": {"pk": str(job.pk)},
        "staff:match_row": {"pk": str(unmatched.pk)},
        "staff:unmatched_row": {"pk": str(unmatched.pk)},
        "collections:toggle_watch": {"card_pk": str(card.pk)},
        "collections:item": {"pk": str(item.pk)},
        "collections:edit_item": {"pk": str(item.pk)},
        "collections:delete_item": {"pk": str(item.pk)},
        "collections:shared": {"token": collection.share_token},
        "alerts:pause_link": {"token": pause_token(alert)},
        "alerts:unsubscribe": {"token": unsubscribe_token(owner)},
        "api:card": {"card_id": str(card.pk)},
        "api:card_history": {"card_id": str(card.pk)},
        "api:card_stats": {"card_id": str(card.pk)},
        "api:not_found": {"path": "nothing-here"},
        "api:alert": {"alert_id": str(alert.pk)},
        "api:collection": {"collection_id": str(collection.pk)},
        "api:items": {"collection_id": str(collection.pk)},
        "api:item": {"collection_id": str(collection.pk), "item_id": str(item.pk)},
        "api:watch": {"card_id": str(card.pk)},
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
    for name in ("test", "enable", "disable", "rename", "delete"):
        real[f"alerts:channel_{name}"] = {"pk": str(channel.pk)}
    api_keys = {"user": owner_secret, "staff": staff_secret}
    return World(
        owner, staff, api_keys, real, card.get_absolute_url(), collection.get_absolute_url()
    )
