"""Background jobs of the alerts app (django-q2)."""

from django_q.tasks import async_task


def queue_alert_email(event_id: int) -> None:
    async_task("alerts.tasks.send_alert_email", event_id, task_name=f"alert email {event_id}")


def evaluate_all_alerts() -> int:
    """The sweep: every active alert against the current summaries; returns triggers."""
    from alerts.evaluation import evaluate_cards

    return len(evaluate_cards(None).triggered)
