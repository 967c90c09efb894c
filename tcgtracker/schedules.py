"""The scheduled jobs, declared in code; `manage.py setup_schedules` creates or updates them.

Each also names the management command that runs it by hand and says what it does:
README's Jobs table is this list (jobs_table(); a test keeps the two the same).
"""

from django_q.models import Schedule

# Keys of a schedule that document it rather than configure django-q2.
DOC_KEYS = ("command", "does")
WEEKDAYS = {"0": "Sun", "1": "Mon", "2": "Tue", "3": "Wed", "4": "Thu", "5": "Fri", "6": "Sat"}

SCHEDULES = [
    {
        # Queues one task per usable source, each with its own time budget.
        "name": "price-sync",
        "func": "prices.tasks.sync_prices",
        "schedule_type": Schedule.MINUTES,
        "minutes": 15,
        "command": "sync_prices [--source S] [--card ID ...]",
        "does": (
            "asks each usable source (each in its own task, within its time budget) for the"
            " cards that are due and writes what it reports; safe to interrupt and rerun"
        ),
    },
    {
        # Runs whose process died are marked interrupted and their locks freed; uploads
        # whose worker died are tried again.
        "name": "job-sweep",
        "func": "prices.tasks.sweep_jobs",
        "schedule_type": Schedule.MINUTES,
        "minutes": 5,
        "command": "sweep_jobs",
        "does": (
            "marks runs whose process died interrupted (their locks go with them), imports"
            " again an upload whose worker died, deletes uploads older than a day"
        ),
    },
    {
        # Every price write queues one as well; this one drops prices that turned stale
        # and counts watches.
        "name": "movers-refresh",
        "func": "prices.tasks.refresh_movers",
        "schedule_type": Schedule.MINUTES,
        "minutes": 5,
        "command": "refresh_movers",
        "does": (
            "ranks each game's movers and most watched cards again and keeps each card's"
            " headline price for lists sorted by price (every price write queues this too;"
            " pages only read what it stored)"
        ),
    },
    {
        "name": "pricecharting-price-guide",
        "func": "prices.tasks.import_price_guides",
        "schedule_type": Schedule.CRON,
        "cron": "0 7 * * *",
        "command": "import_pricecharting FILE_OR_URL [--category pokemon-cards] [--dry-run]",
        "does": (
            "the PriceCharting price guide (when a token is configured), streamed, matched as"
            " [described below](#matching-pricechartings-price-guide), with a match report"
        ),
    },
    {
        "name": "catalog-sync",
        "func": "prices.tasks.sync_catalog",
        "schedule_type": Schedule.CRON,
        "cron": "0 5 * * 1",
        "command": "sync_catalog [--game pokemon|onepiece] [--set CODE]",
        "does": (
            "new sets and cards from the Pokémon TCG API and the OPTCG API (when "
            "`CATALOG_SYNC_ENABLED`)"
        ),
    },
    {
        "name": "alert-sweep",
        "func": "alerts.tasks.evaluate_all_alerts",
        "schedule_type": Schedule.MINUTES,
        "minutes": 5,
        "command": "evaluate_alerts [--card ID ...]",
        "does": (
            "every active alert against the latest prices, a safety net behind the evaluation"
            " that follows each price write"
        ),
    },
    {
        "name": "alert-email-retries",
        "func": "alerts.tasks.retry_alert_emails",
        "schedule_type": Schedule.MINUTES,
        "minutes": 5,
        "command": "retry_alert_emails",
        "does": (
            "sends alert emails whose retry is due (backoff 1 min to 2 h) and recovers ones a"
            " crashed worker lost"
        ),
    },
    {
        "name": "webhook-retries",
        "func": "alerts.deliveries.retry_webhook_deliveries",
        "schedule_type": Schedule.MINUTES,
        "minutes": 5,
        "command": "retry_webhooks",
        "does": (
            "sends webhook alerts (Discord, Slack, Telegram, signed JSON) whose retry is due"
            " and recovers ones a crashed worker lost"
        ),
    },
    {
        "name": "alert-daily-digest",
        "func": "alerts.tasks.send_daily_digests",
        "schedule_type": Schedule.CRON,
        "cron": "0 18 * * *",
        "command": "send_daily_digests [--date YYYY-MM-DD]",
        "does": (
            "the daily digest (the day's triggers and biggest moves of watched, owned and "
            "alerted cards) to everyone who asked for it, once per user and day"
        ),
    },
    {
        # Before retention, which folds whole months, and months ahead of the writes.
        "name": "price-partitions",
        "func": "prices.tasks.ensure_price_partitions",
        "schedule_type": Schedule.CRON,
        "cron": "0 3 * * *",
        "command": "ensure_price_partitions [--months-ahead N] [--dry-run]",
        "does": (
            "on PostgreSQL, creates the price history's monthly partitions three months ahead"
            " and moves points that landed in the default partition into a month of their own"
        ),
    },
    {
        "name": "price-retention",
        "func": "prices.tasks.apply_retention",
        "schedule_type": Schedule.CRON,
        "cron": "30 3 * * *",
        "command": "apply_retention [--days N]",
        "does": (
            "folds old price points into one per day; on PostgreSQL a month wholly past"
            " `PRICE_RETENTION_DAYS` is rewritten folded and swapped in for its partition"
        ),
    },
    {
        # Late in the day (UTC), after the day's syncs and price-guide import.
        "name": "portfolio-snapshots",
        "func": "collections_app.tasks.take_daily_snapshots",
        "schedule_type": Schedule.CRON,
        "cron": "45 23 * * *",
        "command": "take_portfolio_snapshots [--day YYYY-MM-DD] [--dry-run]",
        "does": (
            "records every collection's value and cost for the day (the value-over-time "
            "chart); rerunning updates the day's rows"
        ),
    },
    {
        "name": "collection-import-purge",
        "func": "collections_app.tasks.purge_old_imports",
        "schedule_type": Schedule.CRON,
        "cron": "15 4 * * *",
        "command": "purge_old_imports [--dry-run]",
        "does": (
            "deletes collection imports uploaded more than `COLLECTION_IMPORT_KEEP_DAYS` (7)"
            " days ago, whatever became of them, with their rows; rerunning deletes nothing more"
        ),
    },
]


def setup_schedules() -> list[tuple[str, bool]]:
    """Create or update every schedule by name; returns (name, created) pairs."""
    results = []
    for spec in SCHEDULES:
        defaults = {
            key: value for key, value in spec.items() if key != "name" and key not in DOC_KEYS
        }
        defaults.setdefault("repeats", -1)
        _, created = Schedule.objects.update_or_create(name=spec["name"], defaults=defaults)
        results.append((spec["name"], created))
    return results


def describe_when(spec: dict) -> str:
    """When a schedule runs, in words: "every 15 min", "daily 07:00", "weekly, Mon 05:00"."""
    if spec["schedule_type"] == Schedule.MINUTES:
        return f"every {spec['minutes']} min"
    minute, hour, day, month, weekday = spec["cron"].split()
    if minute.isdigit() and hour.isdigit() and day == month == "*":
        time = f"{int(hour):02d}:{int(minute):02d}"
        if weekday == "*":
            return f"daily {time}"
        if weekday in WEEKDAYS:
            return f"weekly, {WEEKDAYS[weekday]} {time}"
    return f"cron `{spec['cron']}`"


def jobs_table() -> str:
    """README's table of scheduled jobs (times in UTC)."""
    lines = ["| schedule (UTC) | command | what it does |", "|---|---|---|"]
    for spec in SCHEDULES:
        command = spec["command"].replace("|", "\\|")
        lines.append(f"| {describe_when(spec)} | `{command}` | {spec['does']} |")
    return "\n".join(lines)
