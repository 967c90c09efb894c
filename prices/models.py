from django.db import models
from django.utils import timezone

from cards.models import Card


class Source(models.TextChoices):
    """Price sources. Each has a client module in prices/sources/ and settings in
    settings.PRICE_SOURCES (enabled, base URL, rate budget, credentials)."""

    PRICECHARTING = "pricecharting", "PriceCharting"
    EBAY = "ebay", "eBay asks"
    JUSTTCG = "justtcg", "JustTCG"
    TCGPLAYER = "tcgplayer", "TCGplayer"
    DEMO = "demo", "Demo (simulated)"


class PriceSourceState(models.Model):
    """What a source did last: the running record behind the staff source-health page.

    Configuration (enabled, base URL, credentials) lives in settings; circuit state and
    rate budget live in the shared cache. This row is the durable part.
    """

    source = models.CharField(max_length=16, choices=Source.choices, unique=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    blocked_until = models.DateTimeField(
        null=True, blank=True, help_text="Quota spent (eBay's daily 429): no calls until then."
    )

    def __str__(self):
        return self.get_source_display()


class PricePoint(models.Model):
    """One observation of a card's price from one source: the time series.

    Money is integer cents. The unique key makes writing an observation twice a no-op.
    """

    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="price_points")
    source = models.CharField(max_length=16, choices=Source.choices)
    price_key = models.CharField(max_length=32)
    currency = models.CharField(max_length=3, default="USD")
    market = models.BigIntegerField(help_text="Cents.")
    low = models.BigIntegerField(null=True, blank=True, help_text="Cents.")
    high = models.BigIntegerField(null=True, blank=True, help_text="Cents.")
    sample_size = models.PositiveIntegerField(null=True, blank=True)
    observed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["card", "source", "price_key", "observed_at"], name="unique_observation"
            ),
            models.CheckConstraint(
                condition=models.Q(market__gte=0), name="price_point_market_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["observed_at"])]

    def __str__(self):
        return f"{self.card_id} {self.source} {self.price_key} {self.market} @ {self.observed_at}"


class PriceSummary(models.Model):
    """The latest price per (card, source, price key) with its recent changes.

    Kept current as points are written (prices.writing); every page that lists prices
    reads this, never the raw series.
    """

    # No index of its own: the unique key below starts with the card.
    card = models.ForeignKey(
        Card, on_delete=models.CASCADE, related_name="price_summaries", db_index=False
    )
    source = models.CharField(max_length=16, choices=Source.choices)
    price_key = models.CharField(max_length=32)
    currency = models.CharField(max_length=3, default="USD")
    market = models.BigIntegerField()
    low = models.BigIntegerField(null=True, blank=True)
    high = models.BigIntegerField(null=True, blank=True)
    sample_size = models.PositiveIntegerField(null=True, blank=True)
    observed_at = models.DateTimeField()
    # Prices one, seven and thirty days before observed_at, and the change to them in
    # percent; null where the history does not reach back that far.
    market_1d = models.BigIntegerField(null=True, blank=True)
    market_7d = models.BigIntegerField(null=True, blank=True)
    market_30d = models.BigIntegerField(null=True, blank=True)
    change_1d = models.FloatField(null=True, blank=True)
    change_7d = models.FloatField(null=True, blank=True)
    change_30d = models.FloatField(null=True, blank=True)
    all_time_high = models.BigIntegerField(null=True, blank=True)
    all_time_low = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "price summaries"
        constraints = [
            models.UniqueConstraint(
                fields=["card", "source", "price_key"], name="unique_summary_per_card_source_key"
            ),
        ]
        # No index on the changes: the movers are ranked by a job over every fresh price
        # (prices.movers), and each index would be one more write per summary a price
        # write updates (most of an import's work); with none on what a write changes,
        # PostgreSQL can update a summary in place (HOT).

    def __str__(self):
        return f"{self.card_id} {self.source} {self.price_key} {self.market}"

    @property
    def is_simulated(self) -> bool:
        return self.source == Source.DEMO


class MoverRanking(models.Model):
    """A game's movers over one period as last ranked (prices.movers.refresh_rankings,
    after every price write and on a schedule): pages read this and never rank."""

    game = models.CharField(max_length=16)
    period = models.CharField(max_length=4)
    gainers = models.JSONField(default=list, help_text="Summary ids, the largest rise first.")
    losers = models.JSONField(default=list, help_text="Summary ids, the largest fall first.")
    most_watched = models.JSONField(
        default=list, help_text="[card id, summary id or null], the most watched first."
    )
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["game", "period"], name="unique_mover_ranking"),
        ]

    def __str__(self):
        return f"{self.game} {self.period} at {self.computed_at:%Y-%m-%d %H:%M}"


class CardHeadline(models.Model):
    """A card's headline price (prices.headline) as last chosen, for sorting lists of cards
    by price or by its 7-day change: refreshed with the movers' rankings (after every price
    write, in a task, and on their schedule), so that no request chooses every card's
    price to sort the catalog. A list shows its cards' figures as they are now; only its
    order can trail a write by as long as that task takes."""

    card = models.OneToOneField(
        Card, primary_key=True, on_delete=models.CASCADE, related_name="headline"
    )
    market = models.BigIntegerField(help_text="Cents.")
    change_7d = models.FloatField(null=True, blank=True)

    class Meta:
        # A page of the catalog sorted by price or by its 7-day change is read from these
        # in order (forwards or backwards; cards.search._page_keys) rather than by sorting
        # every card.
        indexes = [
            models.Index(fields=["market"], name="headline_market"),
            models.Index(fields=["change_7d"], name="headline_change_7d"),
        ]

    def __str__(self):
        return f"card {self.card_id}: {self.market}"


class SyncState(models.Model):
    """When a source last looked at a card, so a sync picks the cards that are due."""

    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="sync_states")
    source = models.CharField(max_length=16, choices=Source.choices)
    checked_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["card", "source"], name="unique_sync_state"),
        ]
        indexes = [models.Index(fields=["source", "checked_at"])]


class UnmatchedRow(models.Model):
    """A price-guide row that could not be tied to exactly one card: for staff review.

    Kept with its prices so that matching it later writes them without a new import.
    """

    class Reason(models.TextChoices):
        UNMATCHED = "unmatched", "No matching card"
        AMBIGUOUS = "ambiguous", "Several possible cards"

    source = models.CharField(max_length=16, choices=Source.choices)
    external_id = models.CharField(max_length=64)
    set_name = models.CharField(max_length=200, blank=True)
    product_name = models.CharField(max_length=300)
    number = models.CharField(max_length=32, blank=True)
    tcgplayer_id = models.CharField(max_length=32, blank=True)
    genre = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=12, choices=Reason.choices)
    detail = models.CharField(max_length=300, blank=True, help_text="Why, in words.")
    candidates = models.ManyToManyField(Card, blank=True, related_name="+")
    prices = models.JSONField(default=dict, help_text="Price key → cents, as read.")
    sample_size = models.PositiveIntegerField(
        null=True, blank=True, help_text="The product's sales volume, as read."
    )
    observed_at = models.DateTimeField(help_text="When its prices were read as they stand.")
    code = models.CharField(
        max_length=16, blank=True, help_text="Why, as a code (prices.matching.REASONS)."
    )
    # The line of the guide it was read from, digested with what it was matched against
    # (prices.pricecharting_import.line_digest): a later guide repeating the line, matched
    # against the same catalog by the same rules, would give the same row, so the import
    # skips the line unread. Null when it cannot be told.
    line_digest = models.BigIntegerField(null=True, blank=True, editable=False)
    # The run that wrote it as it stands. No index: nothing looks rows up by their run.
    job_run = models.ForeignKey(
        "jobs.JobRun", null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )
    matched_card = models.ForeignKey(
        Card, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="unique_unmatched_row_per_product"
            ),
        ]
        indexes = [
            models.Index(fields=["resolved_at", "reason"]),
            models.Index(fields=["set_name", "resolved_at"]),
        ]

    def __str__(self):
        return f"{self.set_name} — {self.product_name}"
