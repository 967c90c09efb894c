"""Staff price-guide uploads, stored on disk until their import ends.

Kept by name in var/uploads/ (the directory every process of a one-machine install
shares); a JobRun names the file it imports, so a run that lost its worker can be tried
again from it: an interrupted upload run is tried again, as a new run, from the stored
file (the import writes nothing twice), at most MAX_UPLOAD_ATTEMPTS times; its file is
deleted when the last run of it ends, and the sweep deletes any upload older than
UPLOAD_MAX_AGE_HOURS.
"""

import datetime as dt
import logging
import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from jobs import runs
from jobs.models import JobRun
from jobs.runs import with_error

logger = logging.getLogger(__name__)

MAX_UPLOAD_ATTEMPTS = 3
UPLOAD_TASK = "prices.tasks.import_price_guide_file"

UPLOAD_DIR = settings.BASE_DIR / "var" / "uploads"
PREFIX = "price-guide-"


def save(upload) -> str:
    """Store an uploaded file; its name for path() and delete()."""
    UPLOAD_DIR.mkdir(parents=True, exist_ok=True)
    name = f"{PREFIX}{uuid.uuid4().hex}.csv"
    with path(name).open("wb") as destination:
        for chunk in upload.chunks():
            destination.write(chunk)
    return name


def path(name: str) -> Path:
    # Only a bare name of ours, never a path someone could point elsewhere.
    if not name.startswith(PREFIX) or Path(name).name != name:
        raise ValueError(f"not an upload name: {name!r}")
    return UPLOAD_DIR / name


def delete(name: str) -> None:
    path(name).unlink(missing_ok=True)


def older_than(cutoff: dt.datetime) -> list[str]:
    """Names of the stored uploads last written before `cutoff`."""
    if not UPLOAD_DIR.is_dir():
        return []
    limit = cutoff.timestamp()
    return sorted(
        entry.name
        for entry in UPLOAD_DIR.glob(f"{PREFIX}*")
        if entry.is_file() and entry.stat().st_mtime < limit
    )


def queue_upload(run: JobRun) -> None:
    """Hand an upload run to the task queue once the transaction that made it commits."""
    from django_q.tasks import async_task

    transaction.on_commit(
        lambda: async_task(UPLOAD_TASK, run.pk, task_name=f"price guide import {run.pk}")
    )


def retry_upload(run: JobRun) -> JobRun | None:
    """An interrupted upload run, tried again as a new run from its stored file."""
    stored = path(run.upload)
    if run.attempt >= MAX_UPLOAD_ATTEMPTS or not stored.is_file():
        why = "its file is gone" if not stored.is_file() else f"after {run.attempt} attempts"
        logger.warning(
            "Upload of job run %s is not tried again: %s", run.pk, why, extra={"job_run_id": run.pk}
        )
        finish_upload(run)
        return None
    with transaction.atomic():
        retry = JobRun.objects.create(
            kind=run.kind,
            source=run.source,
            status=JobRun.Status.QUEUED,
            description=run.description,
            upload=run.upload,
            observed_on=run.observed_on,
            retry_of=run,
        )
        # The file now belongs to the retry: it is deleted when the retry ends.
        JobRun.objects.filter(pk=run.pk).update(upload="")
        run.upload = ""
        queue_upload(retry)
    logger.warning(
        "Upload of job run %s queued again as job run %s",
        run.pk,
        retry.pk,
        extra={"job_run_id": run.pk},
    )
    return retry


def finish_upload(run: JobRun) -> None:
    """The run of an upload ended for good: its file is deleted."""
    if run.upload:
        delete(run.upload)
        JobRun.objects.filter(pk=run.pk).update(upload="")
        run.upload = ""


def requeue_lost(now) -> int:
    """A queued upload whose task never started — Redis lost its queue, a deploy dropped
    it — is queued again after the broker's own retry time has passed. A task that still
    arrives later finds its run taken and does nothing."""
    waited_since = now - dt.timedelta(seconds=settings.Q_CLUSTER["retry"])
    requeued = 0
    lost = JobRun.objects.filter(status=JobRun.Status.QUEUED, heartbeat_at__lt=waited_since)
    for run in lost.exclude(upload=""):
        # The heartbeat of a queued run is when it was last queued: claim the requeue.
        if JobRun.objects.filter(
            pk=run.pk, status=JobRun.Status.QUEUED, heartbeat_at=run.heartbeat_at
        ).update(heartbeat_at=now):
            queue_upload(run)
            requeued += 1
    return requeued


def delete_old(now) -> int:
    cutoff = now - dt.timedelta(hours=settings.UPLOAD_MAX_AGE_HOURS)
    running = set(
        JobRun.objects.filter(status=JobRun.Status.RUNNING)
        .exclude(upload="")
        .values_list("upload", flat=True)
    )
    deleted = 0
    for name in older_than(cutoff):
        if name in running:
            continue  # being imported right now: deleted when its run ends
        delete(name)
        deleted += 1
        for run in JobRun.objects.filter(upload=name, status=JobRun.Status.QUEUED):
            errors = with_error(run.errors, "Not started within a day; the upload was deleted.")
            JobRun.objects.filter(pk=run.pk, status=JobRun.Status.QUEUED).update(
                status=JobRun.Status.FAILED, finished_at=now, errors=errors, upload=""
            )
        JobRun.objects.filter(upload=name).update(upload="")
    return deleted


def sweep(now=None) -> dict[str, int]:
    """The periodic safety net: runs that died are marked interrupted (uploads among them
    tried again, by retry_interrupted), uploads whose queued task was lost are queued
    again, and uploads older than UPLOAD_MAX_AGE_HOURS are deleted."""
    now = now or timezone.now()
    interrupted = runs.interrupt_stale(now=now)
    requeued = requeue_lost(now)
    deleted = delete_old(now)
    return {"interrupted": len(interrupted), "requeued": requeued, "uploads_deleted": deleted}


@receiver(runs.run_interrupted)
def retry_interrupted(sender, run, **kwargs):
    """An upload run that was interrupted is tried again from its stored file."""
    if run.upload:
        retry_upload(run)
