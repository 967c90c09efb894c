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

Whoever must act on an interrupted run (prices retries a staff upload from its stored
file) listens to `run_interrupted`, sent once the run is recorded as interrupted.
"""

import contextlib
import datetime as dt
import logging
import signal
import threading

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.dispatch import Signal
from django.utils import timezone

from jobs.models import JobRun
from tcgtracker.lib import logs

logger = logging.getLogger(__name__)

# Sent with `run` once a run is recorded as interrupted (by its own process or a sweep).
run_interrupted = Signal()


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
            if (interruption := _interruption(exc)) is not None:
                heartbeat.stop()
                mark_interrupted(run, _reason(interruption))
                raise interruption from exc
            if run.status in JobRun.ACTIVE:  # the job did not record its failure itself
                run.status, run.finished_at = JobRun.Status.FAILED, timezone.now()
                run.errors = with_error(
                    run.errors, f"Unexpected error ({type(exc).__name__}); see the log."
                )
                run.save()
            raise
        finally:
            heartbeat.stop()


def _interruption(exc: BaseException) -> BaseException | None:
    """The interruption an error was raised while handling, if any. A signal that lands in
    the middle of a database call surfaces as the driver's complaint about the broken call
    (and a job's own `except Exception` may then fail to record its error), with the
    interruption further down the chain."""
    from django_q.exceptions import TimeoutException

    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, (Interrupted, KeyboardInterrupt, TimeoutException)):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


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
    run.errors = with_error(run.errors, f"{reason} What it wrote is kept.")
    try:
        run.save()
    except DatabaseError:
        # The signal may have landed in the middle of a query: start a clean connection.
        connection.close()
        run.save()
    logger.warning("Job run %s (%s) interrupted: %s", run.pk, run, reason)
    run_interrupted.send(sender=JobRun, run=run)


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
        errors = with_error(run.errors, message)
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
        run_interrupted.send(sender=JobRun, run=run)
    return interrupted


def with_error(errors: list, message: str) -> list:
    return [*errors[: JobRun.MAX_ERRORS - 1], message[:500]]
