"""The card page's collection panel, written in Python (the collection_panel tag), shows
what its template showed before: for a visitor, a member with no collections, and one
whose collections hold the card — names and addresses escaped."""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import engines
from django.test import RequestFactory

from collections_app.access import collection_choices_for_user, is_watching
from collections_app.forms import FIRST_COLLECTION_NAME, blank_add_fields
from collections_app.models import CollectionItem, Watch
from tcgtracker.lib.urls import reversed_once
from tests.factories import make_card, make_collection, make_item, make_user

pytestmark = pytest.mark.django_db

# What templates/collections/_card_panel.html was before the collection_panel tag wrote
# the panel in Python.
BEFORE = (Path(__file__).parent / "card_panel_before.html").read_text()
NOW = "{% load collections %}{% collection_panel card %}"
HOSTILE = "<script>alert('x')</script> & \"q\""
ESCAPED = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;q&quot;"


def same_markup(html: str) -> str:
    return re.sub(r"[ \t]*\n\s*", "\n", html).strip()


def request_for(user, path="/cards/1/x/?period=1y"):
    request = RequestFactory().get(path)
    request.user = user
    return request


def before_context(request, card) -> dict:
    """The context the panel's inclusion tag gave its template."""
    panel = {"card": card, "csrf_token": "token123", "request": request}
    panel["next"] = request.get_full_path()
    panel["login_url"] = reversed_once("account_login")
    if not request.user.is_authenticated:
        return {**panel, "signed_in": False}
    collections = collection_choices_for_user(request)
    holdings = list(
        CollectionItem.objects.filter(collection__in=[c.pk for c in collections], card=card)
        .select_related("collection")
        .order_by("collection__name", "pk")
    )
    return {
        **panel,
        "signed_in": True,
        "user": request.user,
        "holdings": holdings,
        "collections": collections,
        "first_collection_name": FIRST_COLLECTION_NAME,
        "item_fields": blank_add_fields(
            tuple((c.pk, c.name) for c in collections), "add-to-collection-%s"
        ),
        "watching": is_watching(request, card.pk),
        "collections_url": reversed_once("collections:list"),
        "watchlist_url": reversed_once("collections:watchlist"),
    }


def both(request, card) -> tuple[str, str]:
    engine = engines["django"]
    now = engine.from_string(NOW).render(
        {"card": card, "request": request, "csrf_token": "token123"}
    )
    before = engine.from_string(BEFORE).render(before_context(request, card))
    return now, before


def test_a_visitor_sees_what_the_template_showed():
    card = make_card(name=HOSTILE)
    now, before = both(request_for(AnonymousUser()), card)
    assert "Log in to add this card" in now
    assert same_markup(now) == same_markup(before)


@pytest.mark.parametrize("watching", [True, False])
def test_a_member_without_collections_sees_what_the_template_showed(watching):
    user, card = make_user(), make_card()
    if watching:
        Watch.objects.create(user=user, card=card)
    now, before = both(request_for(user, '/cards/1/x/?next="><script>x</script>'), card)
    assert FIRST_COLLECTION_NAME in now and "<script>x" not in now
    assert same_markup(now) == same_markup(before)


def test_a_member_whose_collections_hold_the_card_sees_what_the_template_showed():
    user, card = make_user(), make_card()
    hostile = make_collection(user=user, name=HOSTILE)
    plain = make_collection(user=user, name="Binder")
    make_item(collection=hostile, card=card, quantity=3, purchase_price=1250)
    make_item(collection=plain, card=card, grader="PSA", grade="10", condition="")
    make_item(collection=plain, card=make_card())
    now, before = both(request_for(user), card)
    assert now.count("<li>") == 2 and "<script>" not in now
    assert ESCAPED in now and "paid $12.50 each" in now
    assert same_markup(now) == same_markup(before)
