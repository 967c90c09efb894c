"""Jobs that can die: heartbeats, interruption, the per-source lock, time budgets and the
retry of a staff upload whose worker died. (Real processes killed mid-run:
tests/prices/test_job_processes.py.)"""

import datetime as dt
import os
import signal
import threading

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.utils import timezone
from django_q.exceptions import TimeoutException

from jobs import runs
from jobs.models import JobRun
from prices import pricecharting_import, sync, tasks, uploads
from prices.models import PricePoint, PriceSummary
from tests.factories import make_card, make_set
from tests.fakes.pricecharting import guide_csv, guide_row
from tests.prices.test_sync import NOW, ScriptedClient
from tests.services import wait_for

pytestmark = pytest.mark.django_db

LATER = NOW + dt.timedelta(minutes=10)  # past JOB_STALE_AFTER_SECONDS (2 minutes)


@pytest.fixture
def cards():
    return [make_card() for _ in range(5)]


def dead_run(**fields) -> JobRun:
    """A run as a SIGKILL leaves it: running, its heartbeat stopped at NOW."""
    fields = {
        "kind": JobRun.Kind.PRICE_SYNC,
        "source": "pricecharting",
        "started_at": NOW,
        "heartbeat_at": NOW,
        **fields,
    }
    return JobRun.objects.create(**fields)


# --- The lock belongs to a live run ------------------------------------------------------------


def test_a_run_whose_heartbeat_stopped_is_interrupted_by_the_next_run_of_its_job(cards):
    dead = dead_run()
    with time_machine.travel(LATER, tick=False):
        run = sync.sync_source("pricecharting", client=ScriptedClient())
    dead.refresh_from_db()
    assert dead.status == JobRun.Status.INTERRUPTED
    assert dead.finished_at == LATER
    assert "stopped answering" in dead.errors[-1]
    assert run.status == JobRun.Status.SUCCEEDED and run.written == 5


def test_a_live_run_keeps_its_lock_however_long_it_runs(cards):
    live = dead_run(heartbeat_at=LATER)  # started long ago, beat just now
    with time_machine.travel(LATER, tick=False):
        client = ScriptedClient()
        refused = sync.sync_source("pricecharting", client=client)
    assert refused.status == JobRun.Status.FAILED and client.batches == []
    live.refresh_from_db()
    assert live.status == JobRun.Status.RUNNING


def test_the_next_run_of_another_job_leaves_a_dead_run_to_the_sweep(cards):
    dead = dead_run(source="ebay")
    with time_machine.travel(LATER, tick=False):
        sync.sync_source("pricecharting", client=ScriptedClient())
    dead.refresh_from_db()
    assert dead.status == JobRun.Status.RUNNING
    with time_machine.travel(LATER, tick=False):
        assert tasks.sweep_jobs()["interrupted"] == 1
    dead.refresh_from_db()
    assert dead.status == JobRun.Status.INTERRUPTED


def test_the_sweep_interrupts_dead_runs_of_every_kind_and_spares_live_ones():
    dead = [dead_run(kind=kind, source="") for kind in (JobRun.Kind.RETENTION, "catalog_sync")]
    alive = dead_run(kind=JobRun.Kind.PRICE_IMPORT, heartbeat_at=LATER - dt.timedelta(seconds=30))
    finished = dead_run(status=JobRun.Status.SUCCEEDED, finished_at=NOW)
    with time_machine.travel(LATER, tick=False):
        uploads.sweep()
    statuses = dict(JobRun.objects.values_list("pk", "status"))
    assert [statuses[run.pk] for run in dead] == [JobRun.Status.INTERRUPTED] * 2
    assert statuses[alive.pk] == JobRun.Status.RUNNING
    assert statuses[finished.pk] == JobRun.Status.SUCCEEDED


def test_saving_a_running_run_counts_as_a_heartbeat():
    run = dead_run()
    with time_machine.travel(LATER, tick=False):
        run.progress_done = 3
        run.save()
    run.refresh_from_db()
    assert run.heartbeat_at == LATER


def test_the_heartbeat_thread_keeps_a_long_step_alive(cards, settings, transactional_db):
    settings.JOB_HEARTBEAT_SECONDS = 0.05
    run = runs.start(JobRun.Kind.PRICE_SYNC, "pricecharting")
    with runs.running(run):
        # One long step of the job that saves nothing itself: only the thread beats.
        wait_for(
            lambda: JobRun.objects.get(pk=run.pk).heartbeat_at > run.heartbeat_at,
            timeout=10,
            interval=0.02,
            what="a heartbeat",
        )


# --- Signals and timeouts -----------------------------------------------------------------------


class InterruptingClient(ScriptedClient):
    """Raises `error` (or sends this process `signum`) while fetching its second batch."""

    def __init__(self, *, signum=None, error=None):
        super().__init__()
        self.signum, self.raise_error = signum, error

    def fetch(self, cards):
        if self.batches:
            if self.signum:
                signal.raise_signal(self.signum)
            raise self.raise_error
        return super().fetch(cards)


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(),
    reason="signals reach only the main thread",
)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
@time_machine.travel(NOW, tick=False)
def test_sigterm_or_sigint_marks_the_run_interrupted_and_frees_its_source(cards, signum):
    before = signal.getsignal(signum)
    with pytest.raises(runs.Interrupted):
        sync.sync_source("pricecharting", client=InterruptingClient(signum=signum))
    run = JobRun.objects.get()
    assert run.status == JobRun.Status.INTERRUPTED
    assert (run.progress_done, run.written) == (2, 2)
    assert f"Interrupted by {signal.Signals(signum).name}" in run.errors[-1]
    assert signal.getsignal(signum) == before  # the process's own handler is back
    # The lock went with the run: the next sync starts at once and does the rest.
    assert sync.sync_source("pricecharting", client=ScriptedClient()).written == 3
    assert os.getpid()  # still alive


@time_machine.travel(NOW, tick=False)
def test_the_workers_timeout_marks_the_run_interrupted(cards, settings):
    settings.Q_TIMEOUT = 600
    with pytest.raises(TimeoutException):
        sync.sync_source(
            "pricecharting", client=InterruptingClient(error=TimeoutException("timed out"))
        )
    run = JobRun.objects.get()
    assert run.status == JobRun.Status.INTERRUPTED
    assert "task worker's timeout (Q_TIMEOUT=600 s)" in run.errors[-1]


class BrokenCallClient(ScriptedClient):
    """A SIGTERM that lands inside a database call: the driver's complaint about the
    broken call is what reaches the job, the interruption is further down its chain."""

    def fetch(self, cards):
        if self.batches:
            try:
                raise runs.Interrupted("Interrupted by SIGTERM", signal.SIGTERM)
            except runs.Interrupted:
                raise DatabaseError("can't change 'autocommit' now") from None
        return super().fetch(cards)


@time_machine.travel(NOW, tick=False)
def test_a_signal_inside_a_database_call_still_marks_the_run_interrupted(cards):
    with pytest.raises(runs.Interrupted):
        sync.sync_source("pricecharting", client=BrokenCallClient())
    run = JobRun.objects.get()
    assert run.status == JobRun.Status.INTERRUPTED
    assert "Interrupted by SIGTERM" in run.errors[-1]
    assert sync.sync_source("pricecharting", client=ScriptedClient()).written == 3


# --- Time budget and one task per source ------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_a_sync_ends_cleanly_when_its_time_budget_is_spent(cards, settings):
    settings.PRICE_SYNC_TIME_BUDGET_SECONDS = 0  # spent once the first batch is done
    first = sync.sync_source("pricecharting", client=ScriptedClient(batch_size=2))
    assert (first.status, first.progress_done, first.written) == (JobRun.Status.PARTIAL, 2, 2)
    assert "Time budget of 0 s used up after 2 of 5 cards" in first.errors[0]
    assert first.finished_at is not None
    settings.PRICE_SYNC_TIME_BUDGET_SECONDS = 480
    second = sync.sync_source("pricecharting", client=ScriptedClient(batch_size=2))
    assert (second.progress_total, second.written) == (3, 3)


def test_the_scheduled_sync_queues_one_task_per_usable_source(monkeypatch):
    queued = []
    monkeypatch.setattr(tasks, "usable_sources", lambda: ["demo", "justtcg"])
    monkeypatch.setattr(tasks, "async_task", lambda func, *args, **kw: queued.append((func, args)))
    assert tasks.sync_prices() == []
    assert queued == [
        ("prices.tasks.sync_prices", ("demo", None)),
        ("prices.tasks.sync_prices", ("justtcg", None)),
    ]


# --- A staff upload survives its worker -------------------------------------------------------

GUIDE_DAY = dt.date(2026, 11, 1)


@pytest.fixture
def guide(tmp_path, monkeypatch):
    """Uploads kept in a temporary directory; a guide of six rows matching six cards."""
    monkeypatch.setattr(uploads, "UPLOAD_DIR", tmp_path / "uploads")
    card_set = make_set(code="base1", name="Base", pricecharting_name="Pokemon Base Set")
    cards = [make_card(card_set=card_set, number=str(n), name=f"Card{n}") for n in range(1, 7)]
    rows = [
        guide_row(
            id=1000 + n,
            console_name="Pokemon Base Set",
            product_name=f"Card{n} #{n}",
            loose_price=100 * n,
            graded_price=1000 * n,
        )
        for n in range(1, 7)
    ]
    return cards, guide_csv(rows)


def queued_upload(staff_client, content: str) -> JobRun:
    """What the staff upload page leaves: the stored file and its queued run (the task
    not run yet: the on-commit hook that queues it is not executed here)."""
    upload = SimpleUploadedFile("guide.csv", content.encode(), content_type="text/csv")
    staff_client.post("/staff/price-guide/", {"file": upload, "observed_on": GUIDE_DAY})
    return JobRun.objects.get(kind=JobRun.Kind.PRICE_IMPORT)


class WorkerDied(BaseException):
    """Leaves like SIGKILL: nothing marks the run, its heartbeat just stops."""


def test_an_upload_whose_worker_died_is_retried_from_its_file_and_writes_nothing_twice(
    guide, admin_client, monkeypatch, django_capture_on_commit_callbacks
):
    cards, content = guide
    run = queued_upload(admin_client, content)
    stored = uploads.path(run.upload)
    assert stored.is_file() and run.observed_on == GUIDE_DAY

    # The worker takes the task and dies after its first batch of rows is written.
    monkeypatch.setattr(pricecharting_import, "OBSERVATIONS_PER_WRITE", 4)
    monkeypatch.setattr(pricecharting_import, "PROGRESS_EVERY", 2)

    def die(run):
        if run.written:
            raise WorkerDied

    real_import = pricecharting_import.import_price_guide
    monkeypatch.setattr(
        pricecharting_import,
        "import_price_guide",
        lambda *args, **kwargs: real_import(*args, **{**kwargs, "progress": die}),
    )
    with time_machine.travel(NOW, tick=False), pytest.raises(WorkerDied):
        tasks.import_price_guide_file(run.pk)
    run.refresh_from_db()
    assert run.status == JobRun.Status.RUNNING and stored.is_file()
    written_before = PricePoint.objects.count()
    assert 0 < written_before < 12

    # The sweep finds it dead and tries again from the stored file; the retry completes.
    monkeypatch.setattr(pricecharting_import, "import_price_guide", real_import)
    with (
        time_machine.travel(LATER, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert uploads.sweep()["interrupted"] == 1
    run.refresh_from_db()
    retry = JobRun.objects.get(retry_of=run)
    assert run.status == JobRun.Status.INTERRUPTED and run.upload == ""
    assert (retry.status, retry.attempt, retry.observed_on) == (
        JobRun.Status.SUCCEEDED,
        2,
        GUIDE_DAY,
    )
    assert (retry.written, retry.unchanged) == (12 - written_before, written_before)
    # Exactly one point per card and key, as one clean import writes, and the file is gone.
    assert PricePoint.objects.count() == 12
    day = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    assert set(PricePoint.objects.values_list("card_id", "price_key", "market", "observed_at")) == {
        (card.pk, key, cents, day)
        for n, card in enumerate(cards, start=1)
        for key, cents in (("ungraded", 100 * n), ("ANY 9", 1000 * n))
    }
    assert PriceSummary.objects.count() == 12
    assert not stored.exists()


def test_a_task_delivered_twice_imports_once(guide, admin_client):
    _, content = guide
    run = queued_upload(admin_client, content)
    tasks.import_price_guide_file(run.pk)
    tasks.import_price_guide_file(run.pk)  # the broker's redelivery: the run is taken
    assert JobRun.objects.count() == 1
    run.refresh_from_db()
    assert (run.status, run.written, run.upload) == (JobRun.Status.SUCCEEDED, 12, "")


def test_an_upload_is_tried_at_most_three_times(guide, admin_client):
    _, content = guide
    run = queued_upload(admin_client, content)
    name = run.upload
    first = dead_run(kind=JobRun.Kind.PRICE_IMPORT)
    second = dead_run(kind=JobRun.Kind.PRICE_IMPORT, retry_of=first)
    JobRun.objects.filter(pk=run.pk).update(status=JobRun.Status.RUNNING, retry_of=second)
    JobRun.objects.filter(pk=run.pk).update(heartbeat_at=NOW)
    with time_machine.travel(LATER, tick=False):
        uploads.sweep()
    assert not JobRun.objects.filter(status=JobRun.Status.QUEUED).exists()
    assert not uploads.path(name).exists()


def test_an_upload_interrupted_by_sigterm_is_queued_again(
    guide, admin_client, django_capture_on_commit_callbacks
):
    _, content = guide
    run = queued_upload(admin_client, content)
    run.status = JobRun.Status.RUNNING
    run.save()
    with django_capture_on_commit_callbacks() as queued:
        runs.mark_interrupted(run, "Interrupted by SIGTERM: the run was stopped.")
    retry = JobRun.objects.get(retry_of=run)
    assert retry.status == JobRun.Status.QUEUED and uploads.path(retry.upload).is_file()
    assert len(queued) == 1


def test_a_queued_upload_whose_task_was_lost_is_queued_again(
    guide, admin_client, settings, django_capture_on_commit_callbacks
):
    _, content = guide
    with time_machine.travel(NOW, tick=False):
        run = queued_upload(admin_client, content)
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        assert uploads.sweep()["requeued"] == 0  # the broker may still deliver it
    later = NOW + dt.timedelta(seconds=settings.Q_CLUSTER["retry"] + 1)
    with (
        time_machine.travel(later, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert uploads.sweep()["requeued"] == 1
    run.refresh_from_db()
    assert run.status == JobRun.Status.SUCCEEDED


def test_the_sweep_deletes_uploads_older_than_a_day(guide, admin_client):
    _, content = guide
    run = queued_upload(admin_client, content)
    stored = uploads.path(run.upload)
    day_old = (timezone.now() - dt.timedelta(hours=25)).timestamp()
    os.utime(stored, (day_old, day_old))
    fresh = uploads.path(uploads.save(SimpleUploadedFile("x.csv", b"id,console-name\n")))
    assert uploads.sweep()["uploads_deleted"] == 1
    assert not stored.exists() and fresh.exists()
    run.refresh_from_db()
    assert run.status == JobRun.Status.FAILED
    assert "Not started within a day" in run.errors[-1]


def test_the_job_page_links_an_interrupted_upload_to_its_retry(admin_client):
    first = dead_run(
        kind=JobRun.Kind.PRICE_IMPORT, status=JobRun.Status.INTERRUPTED, finished_at=LATER
    )
    retry = dead_run(kind=JobRun.Kind.PRICE_IMPORT, retry_of=first, status="queued")
    html = admin_client.get(f"/staff/jobs/{first.pk}/").content.decode()
    assert "Interrupted" in html and f'href="/staff/jobs/{retry.pk}/"' in html
    assert 'hx-trigger="every 2s"' not in html  # it ended: nothing to poll
    html = admin_client.get(f"/staff/jobs/{retry.pk}/").content.decode()
    assert "Attempt 2" in html and f'href="/staff/jobs/{first.pk}/"' in html
