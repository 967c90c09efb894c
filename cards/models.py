import functools
import re
from collections.abc import Iterable
from typing import NamedTuple

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.urls import reverse
from django.utils.text import slugify

from tcgtracker.lib.urls import reversed_once


class Game(models.TextChoices):
    POKEMON = "pokemon", "Pokémon"
    ONEPIECE = "onepiece", "One Piece"


class CardSet(models.Model):
    game = models.CharField(max_length=16, choices=Game.choices)
    code = models.CharField(
        max_length=32, help_text="The set's id, e.g. sv3pt5 for Pokémon or OP01 for One Piece."
    )
    name = models.CharField(max_length=200)
    series = models.CharField(max_length=100, blank=True)
    release_date = models.DateField(null=True, blank=True)
    printed_total = models.PositiveIntegerField(
        null=True, blank=True, help_text="The total printed on the cards (199/165: 165)."
    )
    total = models.PositiveIntegerField(
        null=True, blank=True, help_text="All cards in the set, secret rares included."
    )
    ptcgo_code = models.CharField("PTCGO code", max_length=16, blank=True)
    language = models.CharField(max_length=8, default="en")
    pricecharting_name = models.CharField(
        "PriceCharting set name",
        max_length=200,
        blank=True,
        help_text="The set as PriceCharting names it (console-name), e.g. “Pokemon Base "
        "Set”, when it is not the game plus this set's name.",
    )
    curated_fields = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text="Fields staff edited in the admin: catalog loads and syncs leave them alone.",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "set"
        ordering = ["game", "-release_date", "code"]
        constraints = [
            models.UniqueConstraint(fields=["game", "code"], name="unique_set_code_per_game"),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"

    def get_absolute_url(self):
        # Reversed once per process for each set (a few hundred addresses at most): the
        # card page and the set lists ask for it on every request.
        return reversed_once("cards:set_detail", self.game, self.code)

    def refresh_card_search_documents(self):
        """A set's name and codes are part of its cards' search documents."""
        cards = list(self.cards.all())
        for card in cards:
            card.card_set = self
            card.refresh_derived_fields()
        Card.objects.bulk_update(cards, ["search_document"], batch_size=500)


class Card(models.Model):
    class Kind(models.TextChoices):
        SINGLE = "single", "Single card"
        SEALED = "sealed", "Sealed product"

    card_set = models.ForeignKey(CardSet, on_delete=models.PROTECT, related_name="cards")
    number = models.CharField(
        max_length=32, help_text="The printed number: 4, 199, TG01, OP01-001."
    )
    sort_number = models.PositiveIntegerField(
        default=0, editable=False, help_text="The number's digits, for ordering."
    )
    name = models.CharField(max_length=200)
    rarity = models.CharField(max_length=64, blank=True)
    variant = models.CharField(
        max_length=64,
        blank=True,
        help_text="Blank for the base print; e.g. 1st Edition, Reverse Holo, p1 (parallel).",
    )
    printed_in = models.CharField(
        max_length=200,
        blank=True,
        help_text="The product this print comes from, when it is not the set itself.",
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.SINGLE)
    category = models.CharField(
        max_length=32, blank=True, help_text="Pokémon supertype or One Piece card type."
    )
    color = models.CharField(max_length=64, blank=True)
    image_url = models.URLField(max_length=500, blank=True)

    pricecharting_id = models.CharField("PriceCharting id", max_length=32, blank=True)
    tcgplayer_id = models.CharField("TCGplayer product id", max_length=32, blank=True)
    justtcg_id = models.CharField("JustTCG id", max_length=100, blank=True)
    ebay_query = models.CharField(
        "eBay search terms",
        max_length=200,
        blank=True,
        help_text="Overrides the search built from name, number and set.",
    )

    search_document = models.TextField(
        blank=True, editable=False, help_text="Words a search can find this card by."
    )
    curated_fields = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text="Fields staff edited in the admin: catalog loads and syncs leave them alone.",
    )
    popularity = models.PositiveIntegerField(
        default=0, help_text="How often collectors open, watch or collect this card."
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["card_set", "sort_number", "number", "variant"]
        constraints = [
            models.UniqueConstraint(
                fields=["card_set", "number", "variant"], name="unique_card_print"
            ),
        ]
        indexes = [
            models.Index(fields=["name"]),
            models.Index(fields=["tcgplayer_id"]),
            models.Index(fields=["pricecharting_id"]),
        ]

    def __str__(self):
        variant = f" ({self.variant_label})" if self.variant else ""
        return f"{self.name} {self.display_number}{variant}"

    def save(self, *args, **kwargs):
        self.refresh_derived_fields()
        super().save(*args, **kwargs)

    def refresh_derived_fields(self):
        """Fields computed from others; bulk writes call this since they skip save()."""
        self.sort_number = number_sort_key(self.number)
        words = " ".join(
            part
            for part in (
                self.name,
                self.number,
                self.variant,
                self.variant_label if self.variant_label != self.variant else "",
                self.rarity,
                self.category,
                self.color,
                self.printed_in,
                self.card_set.code,
                self.card_set.ptcgo_code,
                self.card_set.name,
            )
            if part
        )
        # Punctuation becomes space so that Monkey.D.Luffy is found by "luffy" and
        # OP01-024 by "op01 024"; the search splits what is typed the same way.
        self.search_document = " ".join(SEARCH_WORD_RE.findall(words.lower()))

    def get_absolute_url(self):
        # The route reversed once per process (card_urls' stand-ins), this card's own
        # id and slug written in their place: the card page asks for it several times.
        if self.pk is None:
            return reverse("cards:detail", args=[self.pk, self.slug])  # no address: raises
        stand_in = f"{_STAND_IN_PK}/{_STAND_IN_SLUG}/"
        sample = reversed_once("cards:detail", _STAND_IN_PK, _STAND_IN_SLUG)
        if not sample.endswith(stand_in):
            raise ImproperlyConfigured(f"The card page's route no longer ends with {stand_in!r}.")
        return f"{sample.removesuffix(stand_in)}{self.pk}/{self.slug}/"

    @property
    def slug(self) -> str:
        return slug_of(self.name)

    @property
    def game(self):
        return self.card_set.game

    @property
    def display_number(self):
        return display_number_of(self.number, self.card_set.printed_total)

    @property
    def variant_label(self):
        return variant_label_of(self.variant)


@functools.lru_cache(maxsize=4096)
def slug_of(name: str) -> str:
    """A card page's slug. Remembered: a page of tiles slugifies every card's name, and the
    same pages (and names) are asked for again and again."""
    return slugify(name) or "card"


def display_number_of(number: str, printed_total: int | None) -> str:
    """Pokémon shows 4/102; One Piece codes stand alone."""
    if number.isdigit() and printed_total:
        return f"{number}/{printed_total}"
    return f"#{number}" if number.isdigit() else number


def variant_label_of(variant: str) -> str:
    """One Piece parallels come as p1, p2 ... in the catalog sources."""
    match = re.fullmatch(r"p(\d+)", variant)
    if match:
        return f"Parallel {match.group(1)}"
    return variant


class CardRow(NamedTuple):
    """A card as a list of cards shows it (a set's tiles and price table): its columns as
    a tuple, with its set, answering what a Card answers there. A page of 120 cards read
    as models took longer in Python than its query took in the database."""

    pk: int
    number: str
    name: str
    rarity: str
    variant: str
    kind: str
    image_url: str
    card_set: CardSet

    @property
    def display_number(self) -> str:
        return display_number_of(self.number, self.card_set.printed_total)

    @property
    def variant_label(self) -> str:
        return variant_label_of(self.variant)

    @property
    def slug(self) -> str:
        return slug_of(self.name)


# What a CardRow reads of its card: its fields but its set.
CARD_ROW_COLUMNS = CardRow._fields[:-1]


def card_rows(cards: Iterable[tuple], card_set: CardSet) -> list[CardRow]:
    """One set's cards, read as values_list(*CARD_ROW_COLUMNS) (and perhaps paginated),
    as CardRows of that set."""
    make = tuple.__new__  # CardRow's own __new__ is a Python call per row
    return [make(CardRow, (*columns, card_set)) for columns in cards]


# A card page's route ends with "<int:pk>/<slug:slug>/" (pages.urls): card_urls() reverses
# it once with these and writes each card's own in their place.
_STAND_IN_PK, _STAND_IN_SLUG = 0, "card"


def card_urls(cards: list[Card] | list[CardRow]) -> list[str]:
    """Each card's page address, as its get_absolute_url(), reversing the route once for
    the list: a reverse() per card (the resolver's namespace, locale and script-prefix
    lookups) took more of a page of tiles than anything else."""
    stand_in = f"{_STAND_IN_PK}/{_STAND_IN_SLUG}/"
    sample = reverse("cards:detail", args=[_STAND_IN_PK, _STAND_IN_SLUG])
    if not sample.endswith(stand_in):
        raise ImproperlyConfigured(f"The card page's route no longer ends with {stand_in!r}.")
    base = sample.removesuffix(stand_in)
    return [f"{base}{card.pk}/{card.slug}/" for card in cards]


SEARCH_WORD_RE = re.compile(r"\w+")


def number_sort_key(number: str) -> int:
    """The last run of digits in a printed number: 4 → 4, TG01 → 1, OP01-119 → 119."""
    digits = re.findall(r"\d+", number or "")
    return int(digits[-1]) if digits else 0
