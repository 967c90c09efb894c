from django.dispatch import receiver

from alerts.deliveries import queue_deliveries
from alerts.evaluation import events_recorded
from alerts.tasks import queue_alert_email, queue_evaluation
from prices.writing import prices_changed


@receiver(prices_changed)
def evaluate_changed_cards(sender, card_ids, **kwargs):
    """After every price write, the alerts of the cards that changed, in a task: a write
    (an import of 150,000 prices) does not wait for them."""
    queue_evaluation(card_ids)


@receiver(events_recorded)
def deliver_events(sender, event_ids, **kwargs):
    """Each triggered alert's email, and a message to each of its webhook channels, goes
    out through the task queue."""
    for event_id in event_ids:
        queue_alert_email(event_id)
    queue_deliveries(event_ids)
