"""Owner, other user, anonymous: for every collection URL, GET and POST.

Someone else's collection or item is a 404 (the same as a missing one); an anonymous
visitor is sent to log in; only a current share link opens the public page.
"""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from collections_app import access
from collections_app.models import Collection, CollectionItem, Watch
from tests.factories import make_card, make_collection, make_item, make_user, record_prices

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return make_user()


@pytest.fixture
def card():
    card = make_card(name="Charizard")
    record_prices(card, {"NM": 5000})
    return card


@pytest.fixture
def collection(owner):
    return make_collection(owner, name="Binder")


@pytest.fixture
def item(collection, card):
    return make_item(collection, card, purchase_price=1000)


def client_for(user):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def item_data(card, **overrides):
    data = {"card": card.pk, "quantity": "1", "condition": "LP"}
    data.update(overrides)
    return data


# (method, url name, args from the fixtures, POST data) for every URL of one collection.
def collection_urls(collection, item, card):
    return [
        ("get", reverse("collections:detail", args=[collection.pk]), None),
        ("get", reverse("collections:chart", args=[collection.pk]) + "?period=30d", None),
        ("get", reverse("collections:edit", args=[collection.pk]), None),
        (
            "post",
            reverse("collections:edit", args=[collection.pk]),
            {"name": "Renamed", "basis_source": "", "basis_key": ""},
        ),
        ("get", reverse("collections:delete", args=[collection.pk]), None),
        ("post", reverse("collections:share", args=[collection.pk]), {"action": "start"}),
        ("get", reverse("collections:add_item", args=[collection.pk]), None),
        ("post", reverse("collections:add_item", args=[collection.pk]), item_data(card)),
        ("get", reverse("collections:item", args=[item.pk]), None),
        ("get", reverse("collections:edit_item", args=[item.pk]), None),
        ("post", reverse("collections:edit_item", args=[item.pk]), item_data(card, quantity="7")),
        ("post", reverse("collections:delete_item", args=[item.pk]), None),
        ("post", reverse("collections:delete", args=[collection.pk]), None),
    ]


def test_the_owner_can_use_every_url_of_their_collection(owner, collection, item, card):
    client = client_for(owner)
    for method, url, data in collection_urls(collection, item, card):
        response = getattr(client, method)(url, data or {}, HTTP_HX_REQUEST="true")
        assert response.status_code in (200, 302), (method, url, response.status_code)
    assert not Collection.objects.filter(pk=collection.pk).exists()


def test_another_user_gets_a_404_from_every_url_and_changes_nothing(collection, item, card):
    client = client_for(make_user())
    for method, url, data in collection_urls(collection, item, card):
        response = getattr(client, method)(url, data or {})
        assert response.status_code == 404, (method, url, response.status_code)
    collection.refresh_from_db()
    item.refresh_from_db()
    assert (collection.name, collection.share_token, item.quantity) == ("Binder", None, 1)
    assert CollectionItem.objects.count() == 1


def test_anonymous_visitors_are_sent_to_log_in_from_every_url(collection, item, card):
    client = client_for(None)
    urls = [
        *collection_urls(collection, item, card),
        ("get", reverse("collections:list"), None),
        ("get", reverse("collections:create"), None),
        ("post", reverse("collections:create"), {"name": "Mine"}),
        ("get", reverse("collections:add_card") + f"?card={card.pk}", None),
        ("post", reverse("collections:add_card"), item_data(card)),
        ("get", reverse("collections:watchlist"), None),
        ("post", reverse("collections:toggle_watch", args=[card.pk]), {"watch": "1"}),
    ]
    for method, url, data in urls:
        response = getattr(client, method)(url, data or {})
        assert response.status_code == 302, (method, url, response.status_code)
        assert response["Location"].startswith(reverse("account_login")), url
    assert Collection.objects.count() == 1
    assert CollectionItem.objects.count() == 1
    assert not Watch.objects.exists()


def test_the_users_own_pages_show_only_their_own_things(owner, collection, item, card):
    theirs = make_collection(make_user(), name="Someone else's binder")
    make_item(theirs, card)
    Watch.objects.create(user=theirs.user, card=make_card(name="Their watched card"))
    client = client_for(owner)

    listing = client.get(reverse("collections:list")).content.decode()
    watchlist = client.get(reverse("collections:watchlist")).content.decode()
    card_page = client.get(card.get_absolute_url()).content.decode()
    add_form = client.get(reverse("collections:add_card"), {"card": card.pk}).content.decode()

    assert "Binder" in listing and "Someone else" not in listing
    assert "Their watched card" not in watchlist
    assert "Someone else" not in card_page
    assert "Someone else" not in add_form


def test_the_owner_can_use_the_user_level_urls(owner, card):
    client = client_for(owner)

    assert client.get(reverse("collections:list")).status_code == 200
    assert client.get(reverse("collections:create")).status_code == 200
    assert client.post(reverse("collections:create"), {"name": "Mine"}).status_code == 302
    assert client.get(reverse("collections:add_card"), {"card": card.pk}).status_code == 200
    mine = Collection.objects.get()
    added = client.post(reverse("collections:add_card"), item_data(card, collection=mine.pk))
    assert added.status_code == 302
    assert client.get(reverse("collections:watchlist")).status_code == 200
    assert client.post(reverse("collections:toggle_watch", args=[card.pk])).status_code == 302


def test_the_shared_page_needs_no_login(collection, item):
    collection.start_sharing()

    assert client_for(None).get(collection.get_share_url()).status_code == 200
    assert client_for(make_user()).get(collection.get_share_url()).status_code == 200


def test_a_revoked_share_link_is_a_404(owner, collection, item):
    collection.start_sharing()
    old_url = collection.get_share_url()

    client_for(owner).post(reverse("collections:share", args=[collection.pk]), {"action": "stop"})

    assert client_for(None).get(old_url).status_code == 404


def test_a_new_share_link_stops_the_old_one(owner, collection, item):
    collection.start_sharing()
    old_url = collection.get_share_url()

    client_for(owner).post(reverse("collections:share", args=[collection.pk]), {"action": "renew"})

    collection.refresh_from_db()
    assert client_for(None).get(old_url).status_code == 404
    assert client_for(None).get(collection.get_share_url()).status_code == 200


def test_a_made_up_share_token_is_a_404(collection):
    assert client_for(None).get(reverse("collections:shared", args=["nope"])).status_code == 404


def test_share_controls_are_post_only(owner, collection):
    url = reverse("collections:share", args=[collection.pk])

    assert client_for(owner).get(url).status_code == 405


def test_items_cannot_be_deleted_with_a_get(owner, item):
    response = client_for(owner).get(reverse("collections:delete_item", args=[item.pk]))

    assert response.status_code == 405
    assert CollectionItem.objects.filter(pk=item.pk).exists()


def test_the_card_pages_collection_choices_are_the_users_own_in_order(owner):
    make_collection(user=owner, name="Binder")
    make_collection(user=owner, name="Attic")
    make_collection(name="Someone else's")
    request = RequestFactory().get("/")
    request.user = owner
    assert [c.name for c in access.collection_choices_for_user(request)] == ["Attic", "Binder"]
    request.user = make_user()
    assert access.collection_choices_for_user(request) == []


def test_watching_is_the_users_own_watch_of_that_card(owner, card):
    other_card = make_card(name="Blastoise")
    Watch.objects.create(user=owner, card=card)
    request = RequestFactory().get("/")
    request.user = owner
    assert access.is_watching(request, card.pk) is True
    assert access.is_watching(request, other_card.pk) is False
    request.user = make_user()
    assert access.is_watching(request, card.pk) is False
