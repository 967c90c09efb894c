"""Writes that change what a card page shows start a new generation of the cached card
pages (pages.card_cache): each is checked against the database once more."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from cards.models import Card, CardSet
from pages.card_cache import new_generation
from prices.writing import prices_changed


@receiver(prices_changed)
def prices_written(sender, **kwargs):
    new_generation()


@receiver(post_save, sender=Card)
@receiver(post_delete, sender=Card)
@receiver(post_save, sender=CardSet)
@receiver(post_delete, sender=CardSet)
def catalog_written(sender, **kwargs):
    new_generation()
