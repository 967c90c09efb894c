from django.dispatch import receiver

from prices import movers
from prices.writing import prices_changed


@receiver(prices_changed)
def rank_movers_again(sender, card_ids, **kwargs):
    """After every price write, the movers are ranked again (in a task)."""
    movers.queue_refresh()
