import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.utils.crypto import get_random_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)


def check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def check_cache() -> dict:
    key = f"health:{get_random_string(12)}"
    cache.set(key, "ok", timeout=10)
    if cache.get(key) != "ok":
        raise RuntimeError("a value written to the cache could not be read back")
    cache.delete(key)
    return {"backend": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]}


def check_task_queue() -> dict:
    from django_q.brokers import get_broker
    from django_q.status import Stat

    broker = get_broker()
    if not broker.ping():
        raise RuntimeError("the task broker did not answer")
    return {
        "broker": type(broker).__name__,
        "queued": broker.queue_size(),
        "workers_running": len(Stat.get_all(broker=broker)),
    }


CHECKS = {"database": check_database, "cache": check_cache, "task_queue": check_task_queue}


@never_cache
@require_safe
def health(request):
    """Liveness of the parts the site needs; 503 when any is down."""
    results = {}
    for name, check in CHECKS.items():
        try:
            results[name] = {"status": "ok", **check()}
        except Exception as exc:  # a health check reports every failure, whatever its kind
            logger.warning("health check %s failed: %s", name, type(exc).__name__)
            results[name] = {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:300]}
    healthy = all(result["status"] == "ok" for result in results.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": results},
        status=200 if healthy else 503,
    )
