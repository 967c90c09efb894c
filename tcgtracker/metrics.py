"""Prometheus metrics for /metrics (prometheus_client renders them).

Two kinds of figure, each read where every process of the install can see it, so that a
scrape of any one web process tells about the whole install:

- The work of the task workers — job runs by kind, source and outcome, price points
  written, calls to the sources by outcome, the task queue's depth, clusters reporting —
  is read at scrape time from where it is already shared: the JobRun table, counters in
  the shared cache (one `incr` per source call), the broker. Workers may run on any host
  and serve no HTTP; nothing needs scraping from them.
- Requests are counted by prometheus_client in the web process that answered them. Under
  gunicorn, gunicorn.conf.py gives its workers one PROMETHEUS_MULTIPROC_DIR, so a scrape
  sums them all (prometheus_client's multiprocess mode); each web host is scraped on its
  own. Without that variable (runserver, one process) the process counts alone.
"""

import os

from django.conf import settings
from django.core.cache import cache
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from tcgtracker.lib.http import source_call_key

REQUESTS = Counter(
    "tcg_http_requests",
    "HTTP requests answered, by view, method and status code.",
    ["view", "method", "status"],
    registry=None,
)
REQUEST_SECONDS = Histogram(
    "tcg_http_request_duration_seconds",
    "Time to answer a request, by view.",
    ["view"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=None,
)

SOURCE_CALL_OUTCOMES = (
    "ok",
    "transient_error",  # timeouts, connection errors, 5xx, 429: tried again later
    "permanent_error",  # other 4xx: a wrong id, a refused token
    "circuit_open",  # not sent: the source failed too often lately
    "budget_exhausted",  # not sent: its shared rate budget is spent
)
CATALOG_SOURCES = ("pokemontcg", "optcg")
# Kinds of run whose `written` counts price points (retention's counts points kept).
POINT_WRITING_KINDS = ("price_sync", "price_import", "demo_backfill")


def count_request(view: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(view, method, str(status)).inc()
    REQUEST_SECONDS.labels(view).observe(seconds)


class InstallCollector:
    """The figures shared by the whole install, read at each scrape."""

    def collect(self):
        from django.db.models import Count, Sum

        from jobs.models import JobRun
        from prices.models import PriceSourceState

        ended = CounterMetricFamily(
            "tcg_job_runs",
            "Job runs that ended, by kind, source and outcome.",
            labels=["kind", "source", "outcome"],
        )
        active = GaugeMetricFamily(
            "tcg_job_runs_active", "Job runs queued or running now.", labels=["kind", "status"]
        )
        counts = (
            JobRun.objects.values_list("kind", "source", "status")
            .annotate(runs=Count("id"))
            .order_by()
        )
        live: dict[tuple[str, str], int] = {}
        for kind, source, status, runs in counts:
            if status in JobRun.ACTIVE:
                live[kind, status] = live.get((kind, status), 0) + runs
            else:
                ended.add_metric([kind, source, status], runs)
        for (kind, status), runs in sorted(live.items()):
            active.add_metric([kind, status], runs)
        yield ended
        yield active

        written = CounterMetricFamily(
            "tcg_price_points_written",
            "Price points written by syncs and imports, by source.",
            labels=["source"],
        )
        by_source = (
            JobRun.objects.filter(kind__in=POINT_WRITING_KINDS)
            .values_list("source")
            .annotate(points=Sum("written"))
            .order_by()
        )
        for source, points in by_source:
            written.add_metric([source], points or 0)
        yield written

        calls = CounterMetricFamily(
            "tcg_source_calls",
            "HTTP calls to price and catalog sources by outcome, counted in the shared cache "
            "(they start again from zero when the cache is emptied).",
            labels=["source", "outcome"],
        )
        sources = [*settings.PRICE_SOURCES, *CATALOG_SOURCES]
        keys = {
            source_call_key(source, outcome): (source, outcome)
            for source in sources
            for outcome in SOURCE_CALL_OUTCOMES
        }
        for key, value in sorted(cache.get_many(list(keys)).items()):
            calls.add_metric(list(keys[key]), value)
        yield calls

        last_success = GaugeMetricFamily(
            "tcg_source_last_success_timestamp_seconds",
            "When each price source last answered a sync.",
            labels=["source"],
        )
        for state in PriceSourceState.objects.exclude(last_success_at=None):
            last_success.add_metric([state.source], state.last_success_at.timestamp())
        yield last_success

        yield from _task_queue()


def _task_queue():
    from django_q.brokers import get_broker
    from django_q.status import Stat

    up = GaugeMetricFamily("tcg_task_broker_up", "1 when the task broker answers.")
    broker = get_broker()
    try:
        depth, clusters = broker.queue_size(), len(Stat.get_all(broker=broker))
    except Exception:  # an unreachable broker is a figure here, not an error of the scrape
        up.add_metric([], 0)
        yield up
        return
    up.add_metric([], 1)
    yield up
    yield GaugeMetricFamily("tcg_task_queue_depth", "Tasks waiting in the broker.", value=depth)
    yield GaugeMetricFamily(
        "tcg_task_clusters", "django-q2 worker clusters reporting now.", value=clusters
    )


def render() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        prometheus_multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
        registry.register(REQUEST_SECONDS)
    registry.register(InstallCollector())
    return generate_latest(registry)
