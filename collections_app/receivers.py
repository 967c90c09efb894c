"""Cached valuations (collections_app.valuation) are forgotten when what they rest on
changes: a collection's items, or the prices of the cards in it."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from collections_app.models import CollectionItem
from collections_app.valuation import forget_valuations
from prices.writing import prices_changed
from tcgtracker.lib.sql import ids_in


def _forget(collection_ids: list[int]) -> None:
    # Now, and again once the change commits: a page valued in between read the old rows.
    forget_valuations(collection_ids)
    transaction.on_commit(lambda: forget_valuations(collection_ids))


@receiver(post_save, sender=CollectionItem)
@receiver(post_delete, sender=CollectionItem)
def forget_item_collection(sender, instance, **kwargs):
    _forget([instance.collection_id])


CARDS_PER_QUERY = 5000


@receiver(prices_changed)
def forget_repriced_collections(sender, card_ids, **kwargs):
    card_ids = sorted(card_ids)
    collection_ids: set[int] = set()
    for start in range(0, len(card_ids), CARDS_PER_QUERY):
        batch = card_ids[start : start + CARDS_PER_QUERY]
        holding = CollectionItem.objects.filter(card_id__in=ids_in(batch))
        collection_ids.update(holding.values_list("collection_id", flat=True).distinct())
    _forget(list(collection_ids))
