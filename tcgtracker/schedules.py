"""The scheduled jobs, declared in code; `manage.py setup_schedules` creates or updates them."""

from django_q.models import Schedule

SCHEDULES = [
    {
        "name": "price-sync",
        "func": "prices.tasks.sync_prices",
        "schedule_type": Schedule.MINUTES,
        "minutes": 15,
    },
    {
        "name": "pricecharting-price-guide",
        "func": "prices.tasks.import_price_guides",
        "schedule_type": Schedule.CRON,
        "cron": "0 7 * * *",
    },
    {
        "name": "catalog-sync",
        "func": "prices.tasks.sync_catalog",
        "schedule_type": Schedule.CRON,
        "cron": "0 5 * * 1",
    },
    {
        "name": "alert-sweep",
        "func": "alerts.tasks.evaluate_all_alerts",
        "schedule_type": Schedule.MINUTES,
        "minutes": 5,
    },
    {
        "name": "alert-email-retries",
        "func": "alerts.tasks.retry_alert_emails",
        "schedule_type": Schedule.MINUTES,
        "minutes": 5,
    },
    {
        "name": "alert-daily-digest",
        "func": "alerts.tasks.send_daily_digests",
        "schedule_type": Schedule.CRON,
        "cron": "0 18 * * *",
    },
    {
        "name": "price-retention",
        "func": "prices.tasks.apply_retention",
        "schedule_type": Schedule.CRON,
        "cron": "30 3 * * *",
    },
    {
        # Late in the day (UTC), after the day's syncs and price-guide import.
        "name": "portfolio-snapshots",
        "func": "collections_app.tasks.take_daily_snapshots",
        "schedule_type": Schedule.CRON,
        "cron": "45 23 * * *",
    },
    {
        "name": "collection-import-purge",
        "func": "collections_app.tasks.purge_old_imports",
        "schedule_type": Schedule.CRON,
        "cron": "15 4 * * *",
    },
]


def setup_schedules() -> list[tuple[str, bool]]:
    """Create or update every schedule by name; returns (name, created) pairs."""
    results = []
    for spec in SCHEDULES:
        defaults = {key: value for key, value in spec.items() if key != "name"}
        defaults.setdefault("repeats", -1)
        _, created = Schedule.objects.update_or_create(name=spec["name"], defaults=defaults)
        results.append((spec["name"], created))
    return results
