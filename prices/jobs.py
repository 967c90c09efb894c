"""Job runs whose process can die: heartbeats, interruption, the price-sync lock, retries.

    run = jobs.start(JobRun.Kind.PRICE_SYNC, source)    # AlreadyRunning if a live one is
    with jobs.running(run):
        ...                                             # the work, saving counts on run

While `running`, a thread refreshes the run's heartbeat every JOB_HEARTBEAT_SECONDS, every
log line carries the run's id, and SIGTERM, SIGINT or the task worker's timeout mark the
run interrupted before the process goes. A process that dies without a word (SIGKILL, a
lost machine, the OOM killer) stops the heartbeat: once it is JOB_STALE_AFTER_SECONDS
old, the next run of the same job (`start`) or the periodic sweep (`sweep`) marks the run
interrupted. Nothing else holds a lock: a running price sync is its source's lock (a
constraint on JobRun), so interrupting it releases the lock, and a live run keeps it for
as long as it lives, however long that is.

A staff upload survives its worker: an interrupted upload run is tried again, as a new
run, from the stored file (the import writes nothing twice), at most MAX_UPLOAD_ATTEMPTS
times; its file is deleted when the last run of it ends, and the sweep deletes any
upload older than UPLOAD_MAX_AGE_HOURS.
"""

import contextlib
import datetime as dt
import logging
import signal
import threading

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from prices import uploads
from prices.models import JobRun
from tcgtracker.lib import logs

logger = logging.getLogger(__name__)

MAX_UPLOAD_ATTEMPTS = 3
UPLOAD_TASK = "prices.tasks.import_price_guide_file"


class Interrupted(BaseException):
    """A signal or the task worker's timeout stopped the run's process.

    A BaseException, like KeyboardInterrupt, so that no `except Exception` of a job takes
    it for an error of the job's own."""

    def __init__(self, reason: str, signum: int | None = None):
        super().__init__(reason)
        self.signum = signum


class AlreadyRunning(Exception):
    """A live run of the same job holds its lock."""

    def __init__(self, holder: JobRun | None):
        super().__init__(f"job run {holder.pk if holder else '?'} is running")
        self.holder = holder


def stale_before(now: dt.datetime | None = None) -> dt.datetime:
    return (now or timezone.now()) - dt.timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS)


# --- Starting and running ------------------------------------------------------------------


def start(kind: str, source: str = "", **fields) -> JobRun:
    """A new running run of a job, after marking any of its runs that died interrupted.

    Raises AlreadyRunning when a live run holds the job's lock (price syncs: one per
    source at a time)."""
    now = timezone.now()
    interrupt_stale(kind=kind, source=source, now=now)
    try:
        with transaction.atomic():
            return JobRun.objects.create(
                kind=kind,
                source=source,
                status=JobRun.Status.RUNNING,
                started_at=now,
                heartbeat_at=now,
                **fields,
            )
    except IntegrityError:
        holder = JobRun.objects.filter(kind=kind, source=source, status=JobRun.Status.RUNNING)
        raise AlreadyRunning(holder.first()) from None


def record_refusal(kind: str, source: str, message: str) -> JobRun:
    """A run that could not start (no credentials, quota spent, already running), recorded
    as failed so that staff see why nothing happened."""
    now = timezone.now()
    return JobRun.objects.create(
        kind=kind,
        source=source,
        status=JobRun.Status.FAILED,
        started_at=now,
        finished_at=now,
        heartbeat_at=now,
        errors=[message[:500]],
    )


@contextlib.contextmanager
def running(run: JobRun):
    """The lifetime of a run in this process (see the module docstring). A run an
    unexpected error ends without saying so itself is recorded as failed."""
    from django_q.exceptions import TimeoutException

    heartbeat = _Heartbeat(run.pk)
    with logs.context(job_run_id=run.pk), _signals_interrupt():
        heartbeat.start()
        try:
            yield run
        except (Interrupted, KeyboardInterrupt, TimeoutException) as exc:
            heartbeat.stop()
            mark_interrupted(run, _reason(exc))
            raise
        except Exception as exc:
            if run.status in JobRun.ACTIVE:  # the job did not record its failure itself
                run.status, run.finished_at = JobRun.Status.FAILED, timezone.now()
                run.errors = _with_error(
                    run.errors, f"Unexpected error ({type(exc).__name__}); see the log."
                )
                run.save()
            raise
        finally:
            heartbeat.stop()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, Interrupted):
        return f"{exc}: the run was stopped."
    if isinstance(exc, KeyboardInterrupt):
        return "Interrupted by SIGINT: the run was stopped."
    return f"Stopped at the task worker's timeout (Q_TIMEOUT={settings.Q_TIMEOUT} s)."


def mark_interrupted(run: JobRun, reason: str) -> None:
    """Record that this process's run was stopped, with the counts it had reached."""
    run.status = JobRun.Status.INTERRUPTED
    run.finished_at = timezone.now()
    run.errors = _with_error(run.errors, f"{reason} What it wrote is kept.")
    try:
        run.save()
    except DatabaseError:
        # The signal may have landed in the middle of a query: start a clean connection.
        connection.close()
        run.save()
    logger.warning("Job run %s (%s) interrupted: %s", run.pk, run, reason)
    if run.upload:
        retry_upload(run)


@contextlib.contextmanager
def _signals_interrupt():
    """SIGTERM and SIGINT raise Interrupted in the job, once; outside the main thread
    (where signals cannot be caught) the process's handlers stay as they are."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = []

    def interrupt(signum, frame):
        if not fired:
            fired.append(signum)
            raise Interrupted(f"Interrupted by {signal.Signals(signum).name}", signum)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Heartbeat:
    """A thread that refreshes one run's heartbeat, on its own database connection."""

    def __init__(self, run_id: int):
        self.run_id = run_id
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._beat, name=f"job-run-{self.run_id}-heartbeat", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def _beat(self) -> None:
        try:
            while not self._stop.wait(settings.JOB_HEARTBEAT_SECONDS):
                try:
                    JobRun.objects.filter(pk=self.run_id, status=JobRun.Status.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except DatabaseError as exc:
                    # The next beat tries again; a run only looks dead after several misses.
                    logger.warning("Job run %s: heartbeat not recorded (%s)", self.run_id, exc)
        finally:
            connection.close()  # this thread's own connection


def exits_when_interrupted():
    """For job commands: an interrupted run ends the command with 128 + the signal's
    number, as a shell reports a process killed by it, and one line instead of a traceback."""
    from django.core.management import CommandError

    @contextlib.contextmanager
    def guard():
        try:
            yield
        except Interrupted as exc:
            raise CommandError(
                f"{exc}: the run is marked interrupted.", returncode=128 + (exc.signum or 2)
            ) from None

    return guard()


# --- Finding the runs that died --------------------------------------------------------------


def interrupt_stale(*, kind: str | None = None, source: str | None = None, now=None) -> list:
    """Mark interrupted the running runs (of a job, or all) whose heartbeat is stale."""
    now = now or timezone.now()
    runs = JobRun.objects.filter(status=JobRun.Status.RUNNING, heartbeat_at__lt=stale_before(now))
    if kind is not None:
        runs = runs.filter(kind=kind)
    if source is not None:
        runs = runs.filter(source=source)
    interrupted = []
    for run in runs:
        message = (
            f"Its process stopped answering after {run.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC "
            f"(killed, or its machine or worker died). What it wrote is kept; the rest is "
            f"left for the next run."
        )
        errors = _with_error(run.errors, message)
        # Conditional on the heartbeat read: a run that beat meanwhile is alive after all.
        claimed = JobRun.objects.filter(
            pk=run.pk, status=JobRun.Status.RUNNING, heartbeat_at=run.heartbeat_at
        ).update(status=JobRun.Status.INTERRUPTED, finished_at=now, errors=errors)
        if claimed:
            run.status, run.finished_at, run.errors = JobRun.Status.INTERRUPTED, now, errors
            logger.warning(
                "Job run %s (%s) had died: marked interrupted",
                run.pk,
                run,
                extra={"job_run_id": run.pk},
            )
            interrupted.append(run)
    for run in interrupted:
        if run.upload:
            retry_upload(run)
    return interrupted


def _with_error(errors: list, message: str) -> list:
    return [*errors[: JobRun.MAX_ERRORS - 1], message[:500]]


# --- Staff uploads -----------------------------------------------------------------------------


def queue_upload(run: JobRun) -> None:
    """Hand an upload run to the task queue once the transaction that made it commits."""
    from django_q.tasks import async_task

    transaction.on_commit(
        lambda: async_task(UPLOAD_TASK, run.pk, task_name=f"price guide import {run.pk}")
    )


def retry_upload(run: JobRun) -> JobRun | None:
    """An interrupted upload run, tried again as a new run from its stored file."""
    path = uploads.path(run.upload)
    if run.attempt >= MAX_UPLOAD_ATTEMPTS or not path.is_file():
        why = "its file is gone" if not path.is_file() else f"after {run.attempt} attempts"
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
        uploads.delete(run.upload)
        JobRun.objects.filter(pk=run.pk).update(upload="")
        run.upload = ""


# --- The sweep -----------------------------------------------------------------------------------


def sweep(now=None) -> dict[str, int]:
    """The periodic safety net: runs that died are marked interrupted (uploads among them
    tried again), uploads whose queued task was lost are queued again, and uploads older
    than UPLOAD_MAX_AGE_HOURS are deleted."""
    now = now or timezone.now()
    interrupted = interrupt_stale(now=now)
    requeued = _requeue_lost_uploads(now)
    deleted = _delete_old_uploads(now)
    return {"interrupted": len(interrupted), "requeued": requeued, "uploads_deleted": deleted}


def _requeue_lost_uploads(now) -> int:
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


def _delete_old_uploads(now) -> int:
    cutoff = now - dt.timedelta(hours=settings.UPLOAD_MAX_AGE_HOURS)
    running = set(
        JobRun.objects.filter(status=JobRun.Status.RUNNING)
        .exclude(upload="")
        .values_list("upload", flat=True)
    )
    deleted = 0
    for name in uploads.older_than(cutoff):
        if name in running:
            continue  # being imported right now: deleted when its run ends
        uploads.delete(name)
        deleted += 1
        for run in JobRun.objects.filter(upload=name, status=JobRun.Status.QUEUED):
            errors = _with_error(run.errors, "Not started within a day; the upload was deleted.")
            JobRun.objects.filter(pk=run.pk, status=JobRun.Status.QUEUED).update(
                status=JobRun.Status.FAILED, finished_at=now, errors=errors, upload=""
            )
        JobRun.objects.filter(upload=name).update(upload="")
    return deleted
