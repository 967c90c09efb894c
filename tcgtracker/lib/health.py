"""What /health/ and the staff page check: the database, the cache, the task queue, workers.

Each check answers a state ("ok" or "unavailable") for anyone and a detail for staff.
Only the database is vital: without it nothing works (/health/ answers 503). Without the
cache, the task broker or a worker the site still serves pages, so they make it
"degraded" (200): a load balancer must not take a web process out of service because
Redis or the worker is down.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django.utils.crypto import get_random_string

logger = logging.getLogger(__name__)

OK, UNAVAILABLE = "ok", "unavailable"
# A worker counts as present while a cluster reports its stats, or when a task finished
# within this long (a cluster restarting between two deploys is not an outage).
WORKER_SILENCE = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class Check:
    state: str
    detail: str  # for staff: may name hosts and errors, never shown to the public

    @property
    def ok(self) -> bool:
        return self.state == OK


def check_database() -> Check:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return Check(OK, f"{connection.vendor}, reachable")


def check_cache() -> Check:
    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    # A round trip through the cache as the site uses it: a fail-open cache that cannot
    # reach Redis answers nothing back.
    key = f"health:{get_random_string(12)}"
    cache.set(key, "ok", timeout=10)
    if cache.get(key) != "ok":
        outage = getattr(cache, "outage", None)
        why = outage.error if outage is not None and outage.error else "nothing came back"
        return Check(UNAVAILABLE, f"{backend}: a value written could not be read back ({why})")
    cache.delete(key)
    return Check(OK, f"{backend}, reachable")


def check_task_queue() -> Check:
    from django_q.brokers import get_broker

    broker = get_broker()
    broker.ping()
    return Check(OK, f"{broker.info()}, {broker.queue_size()} tasks waiting")


def check_workers(now=None) -> Check:
    from django_q.models import Task
    from django_q.status import Stat

    now = now or timezone.now()
    clusters = Stat.get_all()
    if clusters:
        workers = sum(len(getattr(stat, "workers", []) or []) for stat in clusters)
        return Check(OK, f"{len(clusters)} cluster(s) reporting, {workers} worker process(es)")
    last = Task.objects.order_by("-stopped").values_list("stopped", flat=True).first()
    if last is not None and now - last < WORKER_SILENCE:
        return Check(OK, f"no cluster reporting just now; a task finished at {last:%H:%M:%S} UTC")
    since = f"the last task finished at {last:%Y-%m-%d %H:%M} UTC" if last else "no task ever ran"
    return Check(UNAVAILABLE, f"no worker cluster reporting and {since}")


CHECKS = {
    "database": check_database,
    "cache": check_cache,
    "task_queue": check_task_queue,
    "workers": check_workers,
}

LABELS = {
    "database": "Database",
    "cache": "Cache",
    "task_queue": "Task queue",
    "workers": "Workers",
}


def run_checks() -> dict[str, Check]:
    results = {}
    for name, check in CHECKS.items():
        try:
            results[name] = check()
        except Exception as exc:  # a health check reports every failure, whatever its kind
            logger.warning("health check %s failed: %s", name, type(exc).__name__)
            results[name] = Check(UNAVAILABLE, f"{type(exc).__name__}: {exc}"[:300])
    return results


def overall(results: dict[str, Check]) -> str:
    if not results["database"].ok:
        return "down"
    return "ok" if all(result.ok for result in results.values()) else "degraded"
