"""The key holder's own half of the JSON API: their alerts, collections and their items,
and watchlist. Any key reads them; a key with write access changes them.

Every object is looked up through its app's access helper (alerts.access,
collections_app.access) as the key's owner, so someone else's id is a 404 like a missing
one. Every change goes through the web form of its page (api.form_input) and the apps'
own steps (alerts.changes, collections_app.snapshots): the same rules, messages and
side effects as the site.
"""

from typing import Annotated

from django.db import transaction
from django.http import Http404
from django.urls import reverse
from ninja import Field, Query, Schema, Status

from alerts import changes
from alerts.access import alerts_for_user, get_alert_for_user
from alerts.forms import AlertForm
from api import params, schemas, serializers
from api.form_input import current_values, form_data, invalid, invalid_fields
from api.http import ApiError
from api.ninja_api import WRITE, api
from api.views import DEFAULT_LIMIT, MAX_LIMIT, card_not_found, page
from cards.models import Card
from collections_app import snapshots
from collections_app.access import (
    collections_for_user,
    get_collection_for_user,
    get_item_for_user,
    watches_for_user,
)
from collections_app.forms import CollectionForm, ItemForm
from collections_app.models import Watch
from collections_app.valuation import value_collections, value_items


def _not_found(code: str, noun: str):
    def error(raw) -> ApiError:
        return ApiError(404, code, f"You have no {noun} with id {raw}.", {"id": str(raw)})

    return error


alert_not_found = _not_found("ALERT_NOT_FOUND", "alert")
collection_not_found = _not_found("COLLECTION_NOT_FOUND", "collection")
item_not_found = _not_found("ITEM_NOT_FOUND", "item in this collection")

AlertId = Annotated[params.object_id(alert_not_found), Field(description="The alert's id.")]
CollectionId = Annotated[
    params.object_id(collection_not_found), Field(description="The collection's id.")
]
ItemId = Annotated[params.object_id(item_not_found), Field(description="The item's id.")]
CardId = Annotated[params.object_id(card_not_found), Field(description="The card's id.")]


class Paging(Schema):
    limit: params.limit(DEFAULT_LIMIT, MAX_LIMIT) = DEFAULT_LIMIT
    offset: params.Offset = 0


def _page_of(queryset, paging: Paging) -> tuple[int, list]:
    total = queryset.count()
    rows = (
        list(queryset[paging.offset : paging.offset + paging.limit])
        if paging.offset < total
        else []
    )
    return total, rows


def _owned(lookup, request, pk, not_found):
    """The app's access helper's object, or the API's 404 for it."""
    try:
        return lookup(request, pk)
    except Http404:
        raise not_found(pk) from None


def _card(card_id: int) -> Card:
    """A card named in a body: a missing one is that field's error."""
    card = Card.objects.select_related("card_set").filter(pk=card_id).first()
    if card is None:
        raise invalid_fields({"card_id": [f"card_id: no card has id {card_id}."]})
    return card


def _operation(operation_id: str, summary: str, **options) -> dict:
    return {"operation_id": operation_id, "summary": summary, "by_alias": True, **options}


# --- Alerts ----------------------------------------------------------------------------------


@api.get(
    "/alerts",
    response=schemas.AlertList,
    url_name="alerts",
    **_operation("listAlerts", "Your alerts", description="Newest first."),
)
def alert_list(request, paging: Query[Paging]):
    alerts = (
        alerts_for_user(request)
        .select_related("card__card_set")
        .prefetch_related("channels")
        .order_by("-created_at", "-pk")
    )
    total, rows = _page_of(alerts, paging)
    return page(total, paging.limit, paging.offset, [serializers.alert(row) for row in rows])


@api.post(
    "/alerts",
    response={201: schemas.Alert},
    auth=WRITE,
    **_operation(
        "createAlert",
        "Create an alert",
        description="The alert form's fields and rules: a threshold for below and above, a "
        "percent for move, within the limit on active alerts.",
    ),
)
def alert_create(request, alert: schemas.AlertIn):
    card = _card(alert.card_id)
    values = alert.model_dump(exclude={"card_id"})
    form = AlertForm(form_data(_with_channels(values)), card=card, user=request.user)
    created = changes.create(form)
    if created is None:
        raise _refused(form)
    return Status(201, serializers.alert(created))


def _with_channels(values: dict) -> dict:
    """The form's channel boxes count only when the client sent `channels`: without it a
    new alert gets the default and a change keeps what the alert has."""
    channels = values.pop("channels", None)
    if channels is None:
        return values
    return {**values, "channels": channels, "channels_shown": "1"}


def _refused(form: AlertForm) -> ApiError:
    """The form's errors; for a copy of an active alert, which one it copies."""
    error = invalid(form)
    if form.duplicate is not None:
        error.details["existing_alert"] = {
            "id": form.duplicate.pk,
            "url": serializers.site_url(
                reverse("api:alert", kwargs={"alert_id": form.duplicate.pk})
            ),
        }
    return error


@api.get(
    "/alerts/{digits:alert_id}",
    response=schemas.Alert,
    url_name="alert",
    **_operation("getAlert", "One of your alerts"),
)
def alert_detail(request, alert_id: AlertId):
    return serializers.alert(_owned(get_alert_for_user, request, alert_id, alert_not_found))


@api.patch(
    "/alerts/{digits:alert_id}",
    response=schemas.Alert,
    auth=WRITE,
    **_operation(
        "updateAlert",
        "Change, pause or resume an alert",
        description="Only the fields sent change. active: false pauses the alert, true resumes it.",
    ),
)
def alert_update(request, alert_id: AlertId, wanted: schemas.AlertChanges):
    alert = _owned(get_alert_for_user, request, alert_id, alert_not_found)
    fields = wanted.model_dump(exclude_unset=True)
    active = fields.pop("active", None)
    with transaction.atomic():
        if fields:
            shown = AlertForm(instance=alert, card=alert.card, user=request.user)
            form = AlertForm(
                form_data(_with_channels(fields), current_values(shown)),
                instance=alert,
                card=alert.card,
                user=request.user,
            )
            if not form.is_valid():
                raise _refused(form)
            alert = form.save()
        if active is False:
            changes.pause(alert)
        elif active is True:
            error = changes.resume(alert)
            if error:
                raise invalid_fields({"active": [error]})
    return serializers.alert(alert)


@api.delete(
    "/alerts/{digits:alert_id}",
    response={204: None},
    auth=WRITE,
    **_operation("deleteAlert", "Delete an alert", description="Its history goes with it."),
)
def alert_delete(request, alert_id: AlertId):
    _owned(get_alert_for_user, request, alert_id, alert_not_found).delete()
    return Status(204, None)


# --- Collections -----------------------------------------------------------------------------


def _collection_answer(collection) -> dict:
    return serializers.collection(collection, value_collections([collection])[collection.pk])


@api.get(
    "/collections",
    response=schemas.CollectionList,
    url_name="collections",
    **_operation(
        "listCollections", "Your collections", description="By name, each with its totals."
    ),
)
def collection_list(request, paging: Query[Paging]):
    total, rows = _page_of(collections_for_user(request).order_by("name", "pk"), paging)
    valuations = value_collections(rows)
    results = [serializers.collection(row, valuations[row.pk]) for row in rows]
    return page(total, paging.limit, paging.offset, results)


@api.post(
    "/collections",
    response={201: schemas.Collection},
    auth=WRITE,
    **_operation(
        "createCollection",
        "Create a collection",
        description="A name of your own (no two alike) and the prices that value it.",
    ),
)
def collection_create(request, collection: schemas.CollectionIn):
    form = CollectionForm(form_data(collection.model_dump()), user=request.user)
    created = form.save() if form.is_valid() else None
    if created is None:
        raise invalid(form)
    return Status(201, _collection_answer(created))


@api.get(
    "/collections/{digits:collection_id}",
    response=schemas.Collection,
    url_name="collection",
    **_operation("getCollection", "One of your collections, with its totals"),
)
def collection_detail(request, collection_id: CollectionId):
    collection = _owned(get_collection_for_user, request, collection_id, collection_not_found)
    return _collection_answer(collection)


@api.patch(
    "/collections/{digits:collection_id}",
    response=schemas.Collection,
    auth=WRITE,
    **_operation(
        "updateCollection",
        "Rename a collection or change its prices",
        description="Only the fields sent change. A new price basis values the "
        "collection's history again.",
    ),
)
def collection_update(request, collection_id: CollectionId, wanted: schemas.CollectionChanges):
    collection = _owned(get_collection_for_user, request, collection_id, collection_not_found)
    basis = (collection.basis_source, collection.basis_key)
    shown = current_values(CollectionForm(instance=collection, user=request.user))
    fields = wanted.model_dump(exclude_unset=True)
    form = CollectionForm(form_data(fields, shown), instance=collection, user=request.user)
    saved = form.save() if form.is_valid() else None
    if saved is None:
        raise invalid(form)
    if (saved.basis_source, saved.basis_key) != basis:
        snapshots.backfill_all(saved)
    return _collection_answer(saved)


@api.delete(
    "/collections/{digits:collection_id}",
    response={204: None},
    auth=WRITE,
    **_operation(
        "deleteCollection", "Delete a collection", description="With its items and history."
    ),
)
def collection_delete(request, collection_id: CollectionId):
    _owned(get_collection_for_user, request, collection_id, collection_not_found).delete()
    return Status(204, None)


# --- Items -----------------------------------------------------------------------------------


def _item(request, collection_id: int, item_id: int):
    collection = _owned(get_collection_for_user, request, collection_id, collection_not_found)
    item = _owned(get_item_for_user, request, item_id, item_not_found)
    if item.collection_id != collection.pk:
        raise item_not_found(item_id)
    return item


def _item_answer(item) -> dict:
    return serializers.item(value_items(item.collection, [item]).items[0])


@api.get(
    "/collections/{digits:collection_id}/items",
    response=schemas.ItemList,
    url_name="items",
    **_operation("listItems", "A collection's items", description="Oldest first, valued."),
)
def item_list(request, collection_id: CollectionId, paging: Query[Paging]):
    collection = _owned(get_collection_for_user, request, collection_id, collection_not_found)
    items = collection.items.select_related("card__card_set").order_by("pk")
    total, rows = _page_of(items, paging)
    valuation = value_items(collection, rows)
    results = [serializers.item(row) for row in valuation.items]
    return page(total, paging.limit, paging.offset, results)


@api.post(
    "/collections/{digits:collection_id}/items",
    response={201: schemas.Item},
    auth=WRITE,
    **_operation(
        "addItem",
        "Add a lot of a card",
        description="The item form's fields and rules: a condition, or a grader and a "
        "grade; what was paid and when.",
    ),
)
def item_create(request, collection_id: CollectionId, item: schemas.ItemIn):
    collection = _owned(get_collection_for_user, request, collection_id, collection_not_found)
    card = _card(item.card_id)
    form = ItemForm(form_data(item.model_dump(exclude={"card_id"})), card=card)
    if not form.is_valid():
        raise invalid(form)
    created = form.save(commit=False)
    created.collection = collection
    created.save()
    snapshots.backfill_after_change(collection, created.purchase_date)
    return Status(201, _item_answer(created))


@api.get(
    "/collections/{digits:collection_id}/items/{digits:item_id}",
    response=schemas.Item,
    url_name="item",
    **_operation("getItem", "One item of a collection, valued"),
)
def item_detail(request, collection_id: CollectionId, item_id: ItemId):
    return _item_answer(_item(request, collection_id, item_id))


@api.patch(
    "/collections/{digits:collection_id}/items/{digits:item_id}",
    response=schemas.Item,
    auth=WRITE,
    **_operation(
        "updateItem",
        "Change an item",
        description="Only the fields sent change. A grade wins over a condition: to make a "
        'graded copy raw again send {"condition": "NM", "grader": "", "grade": null}.',
    ),
)
def item_update(request, collection_id: CollectionId, item_id: ItemId, wanted: schemas.ItemChanges):
    item = _item(request, collection_id, item_id)
    old_date = item.purchase_date
    shown = current_values(ItemForm(instance=item))
    form = ItemForm(form_data(wanted.model_dump(exclude_unset=True), shown), instance=item)
    if not form.is_valid():
        raise invalid(form)
    changed = form.has_changed()
    item = form.save()
    if changed:
        snapshots.backfill_after_change(item.collection, old_date, item.purchase_date)
    return _item_answer(item)


@api.delete(
    "/collections/{digits:collection_id}/items/{digits:item_id}",
    response={204: None},
    auth=WRITE,
    **_operation("deleteItem", "Remove an item from its collection"),
)
def item_delete(request, collection_id: CollectionId, item_id: ItemId):
    item = _item(request, collection_id, item_id)
    collection, purchase_date = item.collection, item.purchase_date
    item.delete()
    snapshots.backfill_after_change(collection, purchase_date)
    return Status(204, None)


# --- Watchlist -------------------------------------------------------------------------------


def _watched_card(card_id: int) -> Card:
    card = Card.objects.select_related("card_set").filter(pk=card_id).first()
    if card is None:
        raise card_not_found(card_id)
    return card


@api.get(
    "/watchlist",
    response=schemas.WatchList,
    url_name="watchlist",
    **_operation("listWatches", "The cards you watch", description="Newest first."),
)
def watch_list(request, paging: Query[Paging]):
    watches = (
        watches_for_user(request).select_related("card__card_set").order_by("-created_at", "-pk")
    )
    total, rows = _page_of(watches, paging)
    return page(total, paging.limit, paging.offset, [serializers.watch(row) for row in rows])


@api.post(
    "/watchlist",
    response={200: schemas.Watch, 201: schemas.Watch},
    auth=WRITE,
    **_operation(
        "watchCard",
        "Watch a card",
        description="201 when the card joins the watchlist, 200 when it was on it already.",
    ),
)
def watch_create(request, watch: schemas.WatchIn):
    card = _card(watch.card_id)
    found, created = Watch.objects.get_or_create(user=request.user, card=card)
    return Status(201 if created else 200, serializers.watch(found))


@api.get(
    "/watchlist/{digits:card_id}",
    response=schemas.Watch,
    url_name="watch",
    **_operation("getWatch", "Whether you watch a card", description="404 NOT_WATCHED if not."),
)
def watch_detail(request, card_id: CardId):
    card = _watched_card(card_id)
    found = watches_for_user(request).filter(card=card).first()
    if found is None:
        raise ApiError(
            404, "NOT_WATCHED", f"You do not watch card {card_id}.", {"id": str(card_id)}
        )
    return serializers.watch(found)


@api.delete(
    "/watchlist/{digits:card_id}",
    response={204: None},
    auth=WRITE,
    **_operation(
        "unwatchCard", "Stop watching a card", description="204 whether or not it was watched."
    ),
)
def watch_delete(request, card_id: CardId):
    watches_for_user(request).filter(card=_watched_card(card_id)).delete()
    return Status(204, None)
