from django.dispatch import receiver

from alerts.evaluation import evaluate_cards
from prices.writing import prices_changed


@receiver(prices_changed)
def evaluate_changed_cards(sender, card_ids, **kwargs):
    """After every price write, the alerts of the cards that changed."""
    evaluate_cards(card_ids)
