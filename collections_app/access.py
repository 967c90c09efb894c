"""Who may touch which collection, item or watch: the one place they are looked up.

Someone else's collection or item is a 404, the same as a missing one, so ids do not
leak whether they exist. A shared link stands in for a login, read-only, while its
token is current: revoking (or replacing) the link makes the old token a 404.
"""

from django.shortcuts import get_object_or_404

from collections_app.models import Collection, CollectionItem, Watch
from tcgtracker.lib.sql import CompiledQuery


def collections_for_user(request):
    """The signed-in user's collections (the views require a login before asking)."""
    return Collection.objects.filter(user=request.user)


def get_collection_for_user(request, pk) -> Collection:
    return get_object_or_404(collections_for_user(request), pk=pk)


def items_for_user(request):
    """Every item of the signed-in user's collections."""
    return CollectionItem.objects.filter(collection__user=request.user)


def get_item_for_user(request, pk) -> CollectionItem:
    return get_object_or_404(
        items_for_user(request).select_related("collection", "card__card_set"),
        pk=pk,
    )


def get_shared_collection(token: str) -> Collection:
    return get_object_or_404(
        Collection.objects.select_related("user"), share_token=token, share_token__isnull=False
    )


def watches_for_user(request):
    return Watch.objects.filter(user=request.user)


# The card page asks both on every signed-in visit: compiled once per process.
_COLLECTION_CHOICES = CompiledQuery(
    lambda user_id: Collection.objects.filter(user_id=user_id).only("pk", "name"), user_id=int
)
_WATCH = CompiledQuery(
    lambda user_id, card_id: Watch.objects.filter(user_id=user_id, card_id=card_id),
    user_id=int,
    card_id=int,
)


def collection_choices_for_user(request) -> list[Collection]:
    """The signed-in user's collections in their order, with their pk and name only: the
    choices of the card page's add form."""
    return _COLLECTION_CHOICES.objects(user_id=request.user.pk)


def is_watching(request, card_id: int) -> bool:
    """Whether the signed-in user watches the card."""
    return _WATCH.exists(user_id=request.user.pk, card_id=card_id)
