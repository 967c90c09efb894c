"""Matching PriceCharting products to catalog cards.

Shared by the price-guide import (prices.pricecharting_import) and the API client's
find_product (prices.sources.pricecharting). The index is built once — dicts over the
cards of a game — and every product is then matched in memory, so an import of 88,000
rows runs no query per row.

Rules, strongest first:
1. a card already carrying the product's PriceCharting id;
2. `tcg-id` equal to the card's TCGplayer id;
3. the set (`console-name` against CardSet.pricecharting_name, or names built from the
   game, series and set name), the number after `#` in `product-name`, and its bracketed
   variant markers (`[1st Edition]`, `[Reverse Holo]`, `[Alternate Art]` ...) against
   Card.variant: a blank variant is the base print and has no markers.

A wrong match writes one card's prices onto another, which is worse than no match: every
doubt (two fitting cards, a card already mapped to another product, a TCGplayer id whose
card has another number) gives AMBIGUOUS with the candidates for staff to choose from.
"""

import functools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q

from cards.models import Card, CardSet, Game

MATCHED, UNMATCHED, AMBIGUOUS = "matched", "unmatched", "ambiguous"
VIA_PRICECHARTING_ID, VIA_TCG_ID, VIA_SET_NUMBER = "pricecharting id", "tcg-id", "set and number"

SEALED_GENRE = "sealed product"
# Console names of other languages' prints; they never match an English set.
FOREIGN_WORDS = frozenset({"japanese", "chinese", "korean"})
GAME_PREFIXES = {Game.POKEMON: "Pokemon", Game.ONEPIECE: "One Piece"}
# Markers PriceCharting gives One Piece parallels (our variants p1, p2 ...). Which parallel
# a marker means is not said, so a card with several parallels is ambiguous.
PARALLEL_WORDS = frozenset({"alternate", "art", "parallel", "manga", "sp", "special"})
WORD_ALIASES = {"first": "1st", "holofoil": "holo", "alt": "alternate"}

NUMBER_RE = re.compile(r"#\s*([A-Za-z0-9][A-Za-z0-9-]*)")
ONE_PIECE_CODE_RE = re.compile(r"\b((?:OP|ST|EB|PRB)\d{1,2}-\d{3}|P-\d{3})\b", re.IGNORECASE)
MARKER_RE = re.compile(r"\[([^\]]*)\]")
PARALLEL_VARIANT_RE = re.compile(r"p\d+")
WORD_RE = re.compile(r"[a-z0-9]+")
TCG_ID_RE = re.compile(r"(\d+)(?:\.0+)?")


# --- Normalising ------------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lowercase words without accents or punctuation: "Pokémon Scarlet & Violet" →
    "pokemon scarlet and violet"."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(char for char in text if not unicodedata.combining(char))
    return " ".join(WORD_RE.findall(text.lower().replace("&", " and ")))


def number_key(number: str) -> str:
    """Printed numbers compared loosely: "004" and "4" are one number; case and spaces
    do not count ("SVP 085" is "SVP085")."""
    key = re.sub(r"\s+", "", number or "").upper()
    return str(int(key)) if key.isdigit() else key


@functools.lru_cache(maxsize=65536)
def words(text: str) -> frozenset[str]:
    return frozenset(WORD_ALIASES.get(word, word) for word in fold(text).split())


def product_number(product_name: str, *, one_piece: bool = False) -> str:
    """The card number in a product name: "Charizard #4" → "4"; One Piece rows without
    a `#` still carry their code ("Roronoa Zoro OP01-001")."""
    found = NUMBER_RE.findall(product_name or "")
    if found:
        return found[-1]
    if one_piece:
        code = ONE_PIECE_CODE_RE.search(product_name or "")
        if code:
            return code.group(1).upper()
    return ""


def variant_markers(product_name: str) -> frozenset[str]:
    """The words in a product name's brackets: "Charizard [1st Edition] #4" →
    {"1st", "edition"}; none for the base print."""
    found: set[str] = set()
    for marker in MARKER_RE.findall(product_name or ""):
        found |= words(marker)
    return frozenset(found)


def variant_fits(variant: str, markers: frozenset[str]) -> bool:
    """Whether a card's variant is what the markers describe."""
    if not variant:
        return not markers
    if PARALLEL_VARIANT_RE.fullmatch(variant):
        return bool(markers) and markers <= PARALLEL_WORDS
    return words(variant) == markers


def is_foreign(console_name: str) -> bool:
    return bool(FOREIGN_WORDS & set(fold(console_name).split()))


def set_names(card_set: CardSet) -> list[str]:
    """The console-names (folded) a set may appear under at PriceCharting."""
    if card_set.pricecharting_name:
        return [fold(card_set.pricecharting_name)]
    prefix = GAME_PREFIXES.get(card_set.game)
    if not prefix:
        return []
    names = [f"{prefix} {card_set.name}"]
    if card_set.game == Game.POKEMON and card_set.series:
        names.append(f"{prefix} {card_set.series} {card_set.name}")
    return list(dict.fromkeys(fold(name) for name in names))


# --- Products, cards, results ------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    """What matching needs to know of a PriceCharting product (an API object or CSV row)."""

    id: str
    console_name: str
    product_name: str
    tcg_id: str = ""
    genre: str = ""

    @classmethod
    def from_api(cls, data: dict) -> "Product":
        return cls(
            id=str(data.get("id") or "").strip(),
            console_name=str(data.get("console-name") or ""),
            product_name=str(data.get("product-name") or ""),
            tcg_id=clean_tcg_id(data.get("tcg-id")),
            genre=str(data.get("genre") or ""),
        )

    @property
    def is_sealed(self) -> bool:
        return fold(self.genre) == SEALED_GENRE

    @property
    def is_one_piece(self) -> bool:
        return fold(self.console_name).startswith("one piece") or "one piece" in fold(self.genre)

    def describe(self) -> str:
        return f"{self.console_name} — {self.product_name} (PriceCharting {self.id})"


def clean_tcg_id(value) -> str:
    """TCGplayer ids as PriceCharting writes them: "42382", 42382, "42382.0", "" or "0"."""
    text = str(value if value is not None else "").strip()
    if not text:
        return ""
    match = TCG_ID_RE.fullmatch(text)
    if not match or int(match.group(1)) == 0:
        return ""
    return str(int(match.group(1)))


class CardRef:
    """The few fields of a card that matching reads, without a model instance each."""

    __slots__ = (
        "id",
        "set_id",
        "number",
        "variant",
        "sealed",
        "english",
        "pricecharting_id",
        "tcg_id",
    )

    def __init__(self, id, set_id, number, variant, sealed, english, pricecharting_id, tcg_id):
        self.id = id
        self.set_id = set_id
        self.number = number_key(number)
        self.variant = variant
        self.sealed = sealed
        self.english = english
        self.pricecharting_id = (pricecharting_id or "").strip()
        self.tcg_id = clean_tcg_id(tcg_id)

    def __repr__(self):
        return f"CardRef({self.id}, set {self.set_id} #{self.number} {self.variant!r})"


@dataclass(frozen=True)
class Match:
    status: str
    card_id: int | None = None
    candidates: tuple[int, ...] = ()
    via: str = ""
    reason: str = ""

    @property
    def matched(self) -> bool:
        return self.status == MATCHED


def _ids(cards: Iterable[CardRef]) -> tuple[int, ...]:
    return tuple(sorted({card.id for card in cards}))


# --- The index ---------------------------------------------------------------------------


class CatalogIndex:
    """Cards of the catalog keyed every way a product can point at them."""

    def __init__(self, sets: Iterable[CardSet], cards: Iterable[CardRef]):
        self.english_set_ids: set[int] = set()
        self.sets_by_name: dict[str, list[int]] = defaultdict(list)
        for card_set in sets:
            if card_set.language == "en":
                self.english_set_ids.add(card_set.pk)
            for name in set_names(card_set):
                self.sets_by_name[name].append(card_set.pk)
        self.by_pricecharting_id: dict[str, list[CardRef]] = defaultdict(list)
        self.by_tcg_id: dict[str, list[CardRef]] = defaultdict(list)
        self.by_set_number: dict[tuple[int, str], list[CardRef]] = defaultdict(list)
        self.cards: dict[int, CardRef] = {}
        for card in cards:
            self.cards[card.id] = card
            if card.pricecharting_id:
                self.by_pricecharting_id[card.pricecharting_id].append(card)
            if card.tcg_id:
                self.by_tcg_id[card.tcg_id].append(card)
            self.by_set_number[(card.set_id, card.number)].append(card)
        self._folded: dict[str, tuple[str, bool]] = {}

    @classmethod
    def load(cls, game: str | None = None, *, cards: Q | None = None) -> "CatalogIndex":
        """The index over every card of a game (all games when None); `cards` narrows the
        cards loaded (find_product loads only those a few products could point at)."""
        sets = CardSet.objects.all()
        if game:
            sets = sets.filter(game=game)
        sets = list(sets.only("pk", "game", "name", "series", "language", "pricecharting_name"))
        english = {card_set.pk for card_set in sets if card_set.language == "en"}
        queryset = Card.objects.all()
        if game:
            queryset = queryset.filter(card_set__game=game)
        if cards is not None:
            queryset = queryset.filter(cards)
        rows = queryset.values_list(
            "pk", "card_set_id", "number", "variant", "kind", "pricecharting_id", "tcgplayer_id"
        )
        refs = [
            CardRef(
                pk, set_id, number, variant, kind == Card.Kind.SEALED, set_id in english, pc, tcg
            )
            for pk, set_id, number, variant, kind, pc, tcg in rows.iterator(chunk_size=5000)
        ]
        return cls(sets, refs)

    @classmethod
    def for_products(cls, products: list[Product], game: str | None = None) -> "CatalogIndex":
        """An index holding only the cards these products could point at."""
        sets = CardSet.objects.all()
        if game:
            sets = sets.filter(game=game)
        wanted_names = {fold(product.console_name) for product in products}
        set_ids = [
            card_set.pk
            for card_set in sets.only("pk", "game", "name", "series", "pricecharting_name")
            if wanted_names & set(set_names(card_set))
        ]
        condition = (
            Q(card_set__in=set_ids)
            | Q(pricecharting_id__in=[product.id for product in products if product.id])
            | Q(tcgplayer_id__in=[product.tcg_id for product in products if product.tcg_id])
        )
        return cls.load(game, cards=condition)

    def assign(self, card_id: int, product_id: str) -> None:
        """Record that a card now carries this PriceCharting id (the import stores it), so
        another product pointing at the same card later in the file is a conflict."""
        card = self.cards[card_id]
        if card.pricecharting_id == product_id:
            return
        card.pricecharting_id = product_id
        self.by_pricecharting_id[product_id].append(card)

    def sets_for(self, console_name: str) -> tuple[list[int], bool]:
        """Set ids a console-name names, and whether it names another language's set."""
        cached = self._folded.get(console_name)
        if cached is None:
            cached = (fold(console_name), is_foreign(console_name))
            self._folded[console_name] = cached
        name, foreign = cached
        set_ids = self.sets_by_name.get(name, [])
        return [s for s in set_ids if (s in self.english_set_ids) != foreign], foreign

    def match(self, product: Product) -> Match:
        by_id = self.by_pricecharting_id.get(product.id, ()) if product.id else ()
        if len(by_id) == 1:
            return Match(MATCHED, by_id[0].id, via=VIA_PRICECHARTING_ID)
        if by_id:
            return Match(
                AMBIGUOUS,
                candidates=_ids(by_id),
                reason=f"{len(by_id)} cards carry PriceCharting id {product.id}",
            )

        markers = variant_markers(product.product_name)
        number = product_number(product.product_name, one_piece=product.is_one_piece)
        set_ids, foreign = self.sets_for(product.console_name)

        def fits(card: CardRef) -> bool:
            return (
                card.sealed == product.is_sealed
                and card.english != foreign
                and (card.sealed or variant_fits(card.variant, markers))
            )

        near: list[CardRef] = []
        if product.tcg_id:
            cards = self.by_tcg_id.get(product.tcg_id, [])
            fitting = [card for card in cards if fits(card)]
            if fitting:
                if number and any(card.number != number_key(number) for card in fitting):
                    return Match(
                        AMBIGUOUS,
                        candidates=_ids(fitting),
                        reason=f"TCGplayer id {product.tcg_id} is a card with another "
                        f"number than #{number}",
                    )
                return self._decide(product, fitting, VIA_TCG_ID)
            near.extend(cards)

        if product.is_sealed:
            return Match(
                UNMATCHED,
                candidates=_ids(near),
                reason="sealed products match only by PriceCharting or TCGplayer id",
            )
        if not set_ids:
            return Match(
                UNMATCHED, candidates=_ids(near), reason=f"no set is {product.console_name!r}"
            )
        if not number:
            return Match(
                UNMATCHED, candidates=_ids(near), reason="no card number in the product name"
            )
        key = number_key(number)
        cards = [card for set_id in set_ids for card in self.by_set_number.get((set_id, key), ())]
        fitting = [card for card in cards if fits(card)]
        if fitting:
            return self._decide(product, fitting, VIA_SET_NUMBER)
        markers_text = f" [{' '.join(sorted(markers))}]" if markers else " (base print)"
        return Match(
            UNMATCHED,
            candidates=_ids(near + cards),
            reason=f"no card #{number}{markers_text} in {product.console_name}",
        )

    def _decide(self, product: Product, fitting: list[CardRef], via: str) -> Match:
        if len(fitting) > 1:
            return Match(
                AMBIGUOUS,
                candidates=_ids(fitting),
                reason=f"{len(fitting)} cards fit (by {via})",
            )
        card = fitting[0]
        if product.tcg_id and card.tcg_id and card.tcg_id != product.tcg_id:
            return Match(
                AMBIGUOUS,
                candidates=(card.id,),
                reason=f"the card fitting by {via} has TCGplayer id {card.tcg_id}, "
                f"not {product.tcg_id}",
            )
        if card.pricecharting_id and card.pricecharting_id != product.id:
            return Match(
                AMBIGUOUS,
                candidates=(card.id,),
                reason=f"the card fitting by {via} already has PriceCharting id "
                f"{card.pricecharting_id}",
            )
        return Match(MATCHED, card.id, via=via)
