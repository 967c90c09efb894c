import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

from cards.models import Card
from prices import keys
from prices.models import Source


class Collection(models.Model):
    """A named set of items a collector owns, valued on one price basis.

    The basis says which prices value the items: one source, or the best available
    (see collections_app.valuation), and either each item's own condition or grade, or
    one raw price key for every ungraded item.
    """

    BEST_AVAILABLE = ""
    EACH_ITEM = ""
    BASIS_KEY_CHOICES = [
        (EACH_ITEM, "Each item's condition or grade"),
        (keys.UNGRADED, "Ungraded price for every raw item"),
        ("NM", "Near Mint price for every raw item"),
    ]

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="card_collections"
    )
    name = models.CharField(max_length=100)
    basis_source = models.CharField(
        "price source",
        max_length=16,
        choices=Source.choices,
        blank=True,
        help_text="Blank: the best available source for each card.",
    )
    basis_key = models.CharField(
        "price basis",
        max_length=32,
        choices=BASIS_KEY_CHOICES,
        blank=True,
        help_text="Graded items are always valued at their grade.",
    )
    share_token = models.CharField(
        max_length=64, unique=True, null=True, blank=True, editable=False
    )
    share_purchase_prices = models.BooleanField(
        "show purchase prices on the shared page", default=False
    )
    share_owner_name = models.BooleanField("show my name on the shared page", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="collection_name_unique_per_user")
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("collections:detail", args=[self.pk])

    def get_share_url(self) -> str:
        return reverse("collections:shared", args=[self.share_token]) if self.share_token else ""

    @property
    def is_shared(self) -> bool:
        return bool(self.share_token)

    def start_sharing(self) -> None:
        """A new unguessable link; any earlier link stops working."""
        self.share_token = secrets.token_urlsafe(32)
        self.save(update_fields=["share_token", "updated_at"])

    def stop_sharing(self) -> None:
        self.share_token = None
        self.save(update_fields=["share_token", "updated_at"])

    def basis_label(self) -> str:
        source = self.get_basis_source_display() if self.basis_source else "Best available source"
        return f"{source}, {self.get_basis_key_display().lower()}"


class CollectionItem(models.Model):
    """One lot of a card in a collection: a quantity of copies in one condition or grade.

    The same card may appear in several rows (different grades, separate purchases).
    """

    # A lot's own fields, in the order forms, exports and the admin show them.
    LOT_FIELDS = (
        "quantity",
        "condition",
        "grader",
        "grade",
        "grade_label",
        "purchase_price",
        "purchase_date",
        "acquired_from",
        "notes",
    )
    # Those that decide what a lot is worth and what it cost: all valuation reads.
    VALUE_FIELDS = LOT_FIELDS[:6]

    class Condition(models.TextChoices):
        NM = "NM", "Near Mint"
        LP = "LP", "Lightly Played"
        MP = "MP", "Moderately Played"
        HP = "HP", "Heavily Played"
        DMG = "DMG", "Damaged"

    class Grader(models.TextChoices):
        PSA = "PSA"
        BGS = "BGS"
        CGC = "CGC"
        SGC = "SGC"
        TAG = "TAG"
        ACE = "ACE"

    class GradeLabel(models.TextChoices):
        NONE = "", "—"
        PRISTINE = "pristine", "Pristine"
        BLACK_LABEL = "black label", "Black Label"

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="collection_items")
    quantity = models.PositiveIntegerField(default=1)
    condition = models.CharField(max_length=3, choices=Condition.choices, blank=True)
    grader = models.CharField(max_length=3, choices=Grader.choices, blank=True)
    grade = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    grade_label = models.CharField(max_length=12, choices=GradeLabel.choices, blank=True)
    purchase_price = models.BigIntegerField(null=True, blank=True, help_text="Cents paid per copy.")
    purchase_date = models.DateField(null=True, blank=True)
    acquired_from = models.CharField("where acquired", max_length=200, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["collection", "card"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="item_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(purchase_price__isnull=True) | models.Q(purchase_price__gte=0),
                name="item_purchase_price_not_negative",
            ),
            # Raw (a condition) or graded (grader and grade), never both or neither.
            models.CheckConstraint(
                condition=(
                    ~models.Q(condition="")
                    & models.Q(grader="", grade__isnull=True, grade_label="")
                )
                | (models.Q(condition="") & ~models.Q(grader="") & models.Q(grade__isnull=False)),
                name="item_condition_or_grade",
            ),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.card} ({self.grading_label})"

    def clean(self):
        super().clean()
        if self.grader or self.grade is not None:
            if self.condition:
                raise ValidationError("An item is either raw (a condition) or graded, not both.")
            if not self.grader or self.grade is None:
                raise ValidationError("A graded item needs both the grader and the grade.")
            try:
                keys.normalise_grade(self.grade)
            except ValueError as error:
                raise ValidationError({"grade": str(error)}) from None
        elif not self.condition:
            raise ValidationError("Choose a condition, or a grader and grade.")
        elif self.grade_label:
            raise ValidationError({"grade_label": "Only graded items have a label."})

    @property
    def is_graded(self) -> bool:
        return bool(self.grader)

    @property
    def price_key(self) -> str:
        """The price key matching this item exactly: "NM", "PSA 10", "BGS 10 black label"."""
        if self.is_graded:
            return keys.graded(self.grader, self.grade, self.grade_label)
        return self.condition

    @property
    def grading_label(self) -> str:
        if self.is_graded:
            return keys.label(self.price_key)
        return self.get_condition_display()

    @property
    def cost(self) -> int | None:
        """Cents paid for the whole lot, when the price per copy is known."""
        if self.purchase_price is None:
            return None
        return self.purchase_price * self.quantity

    def owned_since(self):
        """The day from which the item counts in the value-over-time history."""
        return self.purchase_date or timezone.localdate(self.created_at)


class Watch(models.Model):
    """A card a collector follows without owning it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watches"
    )
    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="watches")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "watches"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "card"], name="watch_unique_per_user_card")
        ]

    def __str__(self):
        return f"{self.user} watches {self.card}"


class PortfolioSnapshot(models.Model):
    """A collection's value and cost at the end of one day, for the value-over-time chart."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="snapshots")
    day = models.DateField()
    value = models.BigIntegerField(help_text="Cents: the priced items' value.")
    cost = models.BigIntegerField(
        help_text="Cents paid for the items owned that day (those with a purchase price)."
    )
    priced_items = models.PositiveIntegerField(default=0)
    unpriced_items = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["collection", "day"]
        constraints = [
            models.UniqueConstraint(fields=["collection", "day"], name="snapshot_unique_per_day")
        ]

    def __str__(self):
        return f"{self.collection} on {self.day}: {self.value}"


class CollectionImport(models.Model):
    """An uploaded CSV on its way into a collection: parsed and matched into rows for a
    preview, then committed in one transaction (every accepted row, or nothing).

    The file's text is kept only while the import is open (pending, reading, ready):
    committing, discarding or failing clears it, and the purge deletes every import a week
    on (collections_app.import_storage)."""

    class Format(models.TextChoices):
        OWN = "own", "TCG Price Tracker CSV"
        COLLECTR = "collectr", "Collectr export"
        TCGPLAYER = "tcgplayer", "TCGplayer collection export"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be read"
        READING = "reading", "Reading"
        READY = "ready", "Ready to review"
        FAILED = "failed", "Could not be read"
        COMMITTED = "committed", "Imported"
        DISCARDED = "discarded", "Discarded"

    OPEN_STATUSES = (Status.PENDING, Status.READING, Status.READY)

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="imports")
    filename = models.CharField(max_length=255)
    content = models.TextField(help_text="The uploaded file, decoded, while the import is open.")
    size = models.PositiveIntegerField(default=0, help_text="Bytes of the uploaded file.")
    format = models.CharField(max_length=12, choices=Format.choices, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True, help_text="Why the whole file could not be read.")
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    committed_at = models.DateTimeField(null=True, blank=True)
    items_created = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self):
        return f"{self.filename} → {self.collection}"

    def get_absolute_url(self):
        return reverse("collections:import_preview", args=[self.collection_id, self.pk])

    @property
    def is_finished_reading(self) -> bool:
        return self.status not in {self.Status.PENDING, self.Status.READING}

    @property
    def progress_percent(self) -> int | None:
        if not self.progress_total:
            return None
        return min(100, self.progress_done * 100 // self.progress_total)


class ImportRow(models.Model):
    """One line of an import, as matched: a card, several candidates, or a reason."""

    class Status(models.TextChoices):
        MATCHED = "matched", "Matched"
        AMBIGUOUS = "ambiguous", "Choose a card"
        REJECTED = "rejected", "Rejected"

    collection_import = models.ForeignKey(
        CollectionImport, on_delete=models.CASCADE, related_name="rows"
    )
    line = models.PositiveIntegerField(help_text="Line number in the file (the header is 1).")
    status = models.CharField(max_length=10, choices=Status.choices)
    card = models.ForeignKey(
        Card, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    candidates = models.ManyToManyField(Card, blank=True, related_name="+")
    reason = models.CharField(max_length=300, blank=True)
    description = models.CharField(max_length=300, help_text="What the row names, as read.")
    data = models.JSONField(default=dict, help_text="The item's fields, validated.")
    watch_only = models.BooleanField(
        default=False, help_text="A watchlist row: a watch, not an item."
    )
    dropped = models.BooleanField(default=False, help_text="Left out by the user.")

    class Meta:
        ordering = ["collection_import", "line"]
        indexes = [models.Index(fields=["collection_import", "status"])]

    def __str__(self):
        return f"line {self.line}: {self.get_status_display()}"
