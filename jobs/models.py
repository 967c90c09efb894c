"""The record of every job run: syncs, imports, retention, backfills.

Below every app that runs jobs (cards' catalog sync, prices' syncs and imports), so that
none of them borrows another's model; their lifecycle (heartbeats, interruption, locks)
is jobs.runs.
"""

from django.db import models
from django.utils import timezone


class JobRun(models.Model):
    """Every sync and import: when, how it went, what it counted, its first errors.

    A run's process refreshes `heartbeat_at` while it is alive (jobs.runs), so a run
    whose process died is told from one that is merely slow: when its heartbeat is stale
    the next run of the job, or the periodic sweep, marks it interrupted. A running price
    sync is also its source's lock (the constraint below), so the lock goes with the run.
    """

    class Kind(models.TextChoices):
        PRICE_SYNC = "price_sync", "Price sync"
        PRICE_IMPORT = "price_import", "Price guide import"
        CATALOG_SYNC = "catalog_sync", "Catalog sync"
        RETENTION = "retention", "Retention"
        DEMO_BACKFILL = "demo_backfill", "Demo history backfill"
        PRICE_REMATCH = "price_rematch", "Re-match of waiting rows"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Finished with errors"
        FAILED = "failed", "Failed"
        INTERRUPTED = "interrupted", "Interrupted"

    MAX_ERRORS = 20
    ACTIVE = (Status.QUEUED, Status.RUNNING)

    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The price or catalog source the run worked on, if any (prices.models.Source).
    source = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    description = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    fetched = models.PositiveIntegerField(default=0)
    written = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    errors = models.JSONField(default=list, blank=True)
    report = models.JSONField(
        default=dict, blank=True, help_text="What the job found, e.g. an import's match report."
    )
    heartbeat_at = models.DateTimeField(
        default=timezone.now,
        help_text="Refreshed while the run's process is alive; stale means it died.",
    )
    upload = models.CharField(
        max_length=100,
        blank=True,
        help_text="The stored upload this run imports (in var/uploads), kept until the "
        "run ends so that a run its worker lost can be tried again.",
    )
    observed_on = models.DateField(
        null=True, blank=True, help_text="Price imports: the day the imported prices are of."
    )
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )

    class Meta:
        # The table it had when it lived in the prices app.
        db_table = "prices_jobrun"
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["kind", "-started_at"]),
            models.Index(fields=["status", "heartbeat_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "source"],
                condition=models.Q(status="running", kind="price_sync"),
                name="one_running_price_sync_per_source",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.source} {self.started_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        # A running run saved whole is saved by its live process: a heartbeat, and it must
        # not set back one its heartbeat thread wrote meanwhile.
        whole = kwargs.get("update_fields") is None and not self._state.adding
        if whole and self.status == self.Status.RUNNING:
            self.heartbeat_at = timezone.now()
        super().save(*args, **kwargs)

    @property
    def is_finished(self) -> bool:
        return self.finished_at is not None

    @property
    def attempt(self) -> int:
        """1 for a first run; a retry of a run its worker lost counts on from it."""
        attempt, run = 1, self
        while run.retry_of_id is not None and attempt < 100:
            run, attempt = run.retry_of, attempt + 1
        return attempt

    @property
    def progress_percent(self) -> int | None:
        if not self.progress_total:
            return None
        return min(100, round(100 * self.progress_done / self.progress_total))

    @property
    def duration(self):
        end = self.finished_at or timezone.now()
        return end - self.started_at
