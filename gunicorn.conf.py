"""gunicorn's settings beyond the Procfile's command line (gunicorn reads this file from
the working directory by itself)."""

import os
import shutil
import tempfile

# /metrics: every web worker counts its requests in files of one directory, which
# prometheus_client sums at each scrape (its multiprocess mode). Set before the workers
# start, so each finds it when it imports prometheus_client. An operator's own directory
# must be one this gunicorn alone uses: it is emptied when gunicorn starts.
_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="tcgtracker-metrics-")


def on_starting(server):
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(directory, exist_ok=True)
    for entry in os.scandir(directory):
        if entry.name.endswith(".db"):
            os.unlink(entry.path)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


# LOG_FORMAT=json: gunicorn's own lines (workers booting, timeouts) as JSON like the app's.
if os.environ.get("LOG_FORMAT", "").strip().lower() == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "tcgtracker.lib.logs.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }
