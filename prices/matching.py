"""Matching PriceCharting products to catalog cards.

Shared by the price-guide import (prices.pricecharting_import) and the API client's
find_product (prices.sources.pricecharting). The index is built once — dicts over the
cards of a game — and every product is then matched in memory, so an import of 88,000
rows runs no query per row.

Rules, strongest first:
1. a card already carrying the product's PriceCharting id;
2. `tcg-id` equal to the card's TCGplayer id;
3. One Piece: the card code (`OP01-001`, `ST01-012`, `EB02-010`, `PRB01-001`, `P-001`)
   names the card in every console; the console and the bracket markers only choose among
   its prints, by where each print was printed (Card.printed_in: blank for the set
   itself, else the product, e.g. "-ONE PIECE CARD THE BEST- [PRB-01]");
4. the set and the number: `console-name` names a set — exactly, through
   CardSet.pricecharting_name, or for a set without one, by a tolerant comparison of
   names (the game prefix, a trailing "Set", "&"/"and", punctuation and the series do not
   count) — the number after `#` in `product-name` names the card in it, and its
   bracketed variant markers (`[1st Edition]`, `[Reverse Holo]`, `[Alternate Art]` ...)
   must describe Card.variant: a blank variant is the base print and has no markers.

A wrong match writes one card's prices onto another, which is worse than no match: every
doubt gives AMBIGUOUS with the candidates for staff to choose from — two fitting cards, a
card already mapped to another product, a TCGplayer id whose card has another number, and
a card whose name is not the product's (accents and punctuation aside: "Monkey.D.Luffy"
is "Monkey D. Luffy", "Nidoran ♂" is "Nidoran Male").
"""

import functools
import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.db.models import Q

from cards.models import Card, CardSet, Game

MATCHED, UNMATCHED, AMBIGUOUS = "matched", "unmatched", "ambiguous"
VIA_PRICECHARTING_ID, VIA_TCG_ID, VIA_SET_NUMBER, VIA_CODE = (
    "pricecharting id",
    "tcg-id",
    "set and number",
    "card code",
)

# Why a product did not match: stable codes (a job's match report counts them).
NO_SET = "no-set"
FOREIGN = "foreign"
NO_NUMBER = "no-number"
NO_CARD = "no-card"
NO_PRINT = "no-print"
NAME_DIFFERS = "name"
SEVERAL = "several"
ID_CONFLICT = "id-conflict"
SEALED = "sealed"
REASONS = {
    NO_SET: "console names no set of the catalog",
    FOREIGN: "another language's product, no such set in the catalog",
    NO_NUMBER: "no card number in the product name",
    NO_CARD: "no card with that number in the set",
    NO_PRINT: "no print fits its markers or console",
    NAME_DIFFERS: "card name differs from the product's",
    SEVERAL: "several cards fit",
    ID_CONFLICT: "the card carries another product's id",
    SEALED: "sealed product without a PriceCharting or TCGplayer id",
}

SEALED_GENRE = "sealed product"
# Console names of other languages' prints; they never match an English set.
FOREIGN_WORDS = frozenset({"japanese", "chinese", "korean"})
GAME_PREFIXES = {Game.POKEMON: "pokemon", Game.ONEPIECE: "one piece"}
# Markers PriceCharting gives One Piece parallels (our variants p1, p2 ...). Which parallel
# a marker means is not said: where it was printed decides, or staff do.
PARALLEL_WORDS = frozenset({"alternate", "art", "parallel", "manga", "sp", "special"})
WORD_ALIASES = {"first": "1st", "holofoil": "holo", "alt": "alternate"}
# Symbols in card names that folding would drop, spelled as PriceCharting spells them.
NAME_SYMBOLS = str.maketrans({"♂": " male ", "♀": " female ", "δ": " delta ", "★": " star "})

NUMBER_RE = re.compile(r"#\s*([A-Za-z0-9][A-Za-z0-9-]*)")
ONE_PIECE_CODE_RE = re.compile(r"\b((?:OP|ST|EB|PRB)\d{1,2}-\d{3}|P-\d{3})\b", re.IGNORECASE)
MARKER_RE = re.compile(r"\[([^\]]*)\]")
PARALLEL_VARIANT_RE = re.compile(r"p\d+")
WORD_RE = re.compile(r"[a-z0-9]+")
TCG_ID_RE = re.compile(r"(\d+)(?:\.0+)?")
# The set code in a One Piece product name: "-ONE PIECE CARD THE BEST- [PRB-01]", "OP-05",
# "-The Three Captains-[ST-10]". "Pre-Release OP03" is another product than OP03.
PRINTED_IN_CODE_RE = re.compile(r"(?:^|\[)\s*(OP|ST|EB|PRB)-?(\d{1,2})\s*(?:\]|$)", re.IGNORECASE)


# --- Normalising ------------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lowercase words without accents or punctuation: "Pokémon Scarlet & Violet" →
    "pokemon scarlet and violet"."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(char for char in text if not unicodedata.combining(char))
    return " ".join(WORD_RE.findall(text.lower().replace("&", " and ")))


@functools.lru_cache(maxsize=65536)
def number_key(number: str) -> str:
    """Printed numbers compared loosely: "004" and "4" are one number; case and spaces
    do not count ("SVP 085" is "SVP085")."""
    key = "".join((number or "").split()).upper()
    return str(int(key)) if key.isdigit() else key


@functools.lru_cache(maxsize=65536)
def name_key(name: str) -> str:
    """A card name compared without case, accents, punctuation or spaces: "Monkey.D.Luffy"
    and "Monkey D. Luffy" are one name, "Nidoran ♂" and "Nidoran Male" too."""
    return "".join(fold((name or "").translate(NAME_SYMBOLS)).split())


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


def product_card_name(product_name: str) -> str:
    """The card's name in a product name: "Charizard [1st Edition] #4" → "Charizard",
    "Roronoa Zoro OP01-001" → "Roronoa Zoro"."""
    name = MARKER_RE.sub(" ", product_name or "")
    name = name[: name.rindex("#")] if "#" in name else ONE_PIECE_CODE_RE.sub(" ", name)
    return " ".join(name.split())


@functools.lru_cache(maxsize=65536)
def is_one_piece_code(number: str) -> bool:
    return bool(ONE_PIECE_CODE_RE.fullmatch(number or ""))


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


@functools.lru_cache(maxsize=4096)
def console_game(console_name: str) -> str | None:
    """The game a console-name belongs to, by its prefix ("Pokemon ...", "One Piece ...")."""
    folded = fold(console_name)
    for game, prefix in GAME_PREFIXES.items():
        if folded == prefix or folded.startswith(prefix + " "):
            return game
    return None


def loose_name(text: str, game: str) -> str:
    """A set or console name for the tolerant comparison: folded, without the game's
    prefix, another language's word, a trailing "set", or any spaces: "Pokemon Base Set"
    → "base", "Pokemon Fire Red & Leaf Green" → "fireredandleafgreen"."""
    folded = fold(text).split()
    prefix = GAME_PREFIXES.get(game, "").split()
    if prefix and folded[: len(prefix)] == prefix:
        folded = folded[len(prefix) :]
    folded = [word for word in folded if word not in FOREIGN_WORDS]
    if folded and folded[-1] == "set":
        folded = folded[:-1]
    return "".join(folded)


def loose_set_names(card_set: CardSet) -> set[str]:
    """The loose names a set without a console name answers to: its name, with and
    without its series in front ("Base" of series "Base" → "base", "basebase")."""
    names = {loose_name(card_set.name, card_set.game)}
    if card_set.series:
        names.add(loose_name(f"{card_set.series} {card_set.name}", card_set.game))
    names.discard("")
    return names


def printed_set_code(printed_in: str) -> str:
    """The set code of the product a One Piece print came in, when it names one:
    "-ONE PIECE CARD THE BEST- [PRB-01]" → "PRB01"; "" for other products."""
    found = PRINTED_IN_CODE_RE.search(printed_in or "")
    return f"{found[1].upper()}{int(found[2]):02d}" if found else ""


# --- Products, cards, results ------------------------------------------------------------


class computed_once:
    """functools.cached_property without its lock: Python 3.11's takes a lock on every
    first read, a cost an import pays twice per row (the lock is gone in 3.12). Works on
    frozen dataclasses, as cached_property does: the value goes into the instance's
    __dict__, which shadows this descriptor from then on."""

    def __init__(self, function):
        self.function = function
        self.__doc__ = function.__doc__

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.function(instance)
        return value


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

    @computed_once
    def is_one_piece(self) -> bool:
        return console_game(self.console_name) == Game.ONEPIECE or "one piece" in fold(self.genre)

    @computed_once
    def number(self) -> str:
        return product_number(self.product_name, one_piece=self.is_one_piece)

    def describe(self) -> str:
        return f"{self.console_name} — {self.product_name} (PriceCharting {self.id})"


def clean_tcg_id(value) -> str:
    """TCGplayer ids as PriceCharting writes them: "42382", 42382, "42382.0", "" or "0"."""
    text = str(value if value is not None else "").strip()
    if not text:
        return ""
    if text.isdecimal():  # the common shape, without the regular expression
        return str(int(text)) if int(text) else ""
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
        "name",
        "sealed",
        "english",
        "printed_set_id",
        "pricecharting_id",
        "tcg_id",
    )

    def __init__(
        self,
        id,
        set_id,
        number,
        variant,
        sealed,
        english,
        pricecharting_id,
        tcg_id,
        *,
        name="",
        printed_set_id=None,
    ):
        self.id = id
        self.set_id = set_id
        self.number = number_key(number)
        self.variant = variant
        self.name = name_key(name)
        self.sealed = sealed
        self.english = english
        # The set whose product this print came in: its own set unless printed elsewhere.
        self.printed_set_id = printed_set_id if printed_set_id is not None else set_id
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
    code: str = ""  # one of REASONS when not matched

    @property
    def matched(self) -> bool:
        return self.status == MATCHED


def _ids(cards: Iterable[CardRef]) -> tuple[int, ...]:
    return tuple(sorted({card.id for card in cards})) if cards else ()


# --- The index ---------------------------------------------------------------------------


class CatalogIndex:
    """Cards of the catalog keyed every way a product can point at them."""

    def __init__(self, sets: Iterable[CardSet], cards: Iterable[CardRef]):
        self.english_set_ids: set[int] = set()
        # Exact console names (CardSet.pricecharting_name), and the loose names of the
        # sets that have none, per game.
        self.sets_by_console: dict[str, list[int]] = defaultdict(list)
        self.sets_by_loose_name: dict[tuple[str, str], list[int]] = defaultdict(list)
        for card_set in sets:
            if card_set.language == "en":
                self.english_set_ids.add(card_set.pk)
            if card_set.pricecharting_name:
                self.sets_by_console[fold(card_set.pricecharting_name)].append(card_set.pk)
            else:
                for name in loose_set_names(card_set):
                    self.sets_by_loose_name[(card_set.game, name)].append(card_set.pk)
        self.by_pricecharting_id: dict[str, list[CardRef]] = defaultdict(list)
        self.by_tcg_id: dict[str, list[CardRef]] = defaultdict(list)
        self.by_set_number: dict[tuple[int, str], list[CardRef]] = defaultdict(list)
        self.by_code: dict[str, list[CardRef]] = defaultdict(list)
        self.cards: dict[int, CardRef] = {}
        for card in cards:
            self.cards[card.id] = card
            if card.pricecharting_id:
                self.by_pricecharting_id[card.pricecharting_id].append(card)
            if card.tcg_id:
                self.by_tcg_id[card.tcg_id].append(card)
            self.by_set_number[(card.set_id, card.number)].append(card)
            if is_one_piece_code(card.number):
                self.by_code[card.number].append(card)
        self._consoles: dict[str, tuple[list[int], bool, bool]] = {}
        # What the index was built from (load() sets it): equal fingerprints match every
        # product alike. None for an index built otherwise.
        self.fingerprint: bytes | None = None
        self.changed = False  # whether assign() has changed it since

    @classmethod
    def load(cls, game: str | None = None, *, cards: Q | None = None) -> "CatalogIndex":
        """The index over every card of a game (all games when None); `cards` narrows the
        cards loaded (find_product loads only those a few products could point at)."""
        sets = _sets(game)
        english = {card_set.pk for card_set in sets if card_set.language == "en"}
        set_codes = {(card_set.game, card_set.code.upper()): card_set.pk for card_set in sets}
        games = {card_set.pk: card_set.game for card_set in sets}
        queryset = Card.objects.all()
        if game:
            queryset = queryset.filter(card_set__game=game)
        if cards is not None:
            queryset = queryset.filter(cards)
        rows = queryset.order_by("pk").values_list(
            "pk",
            "card_set_id",
            "number",
            "variant",
            "name",
            "kind",
            "printed_in",
            "pricecharting_id",
            "tcgplayer_id",
        )
        refs = []
        fingerprint = hashlib.blake2b(_rules(), digest_size=32)
        fingerprint.update(repr((game, cards, [_set_fields(s) for s in sets])).encode())
        for row in rows.iterator(chunk_size=5000):
            fingerprint.update(repr(row).encode())
            pk, set_id, number, variant, name, kind, printed_in, pc, tcg = row
            printed_set_id = set_id
            if printed_in:
                code = printed_set_code(printed_in)
                printed_set_id = set_codes.get((games.get(set_id), code), 0) if code else 0
            refs.append(
                CardRef(
                    pk,
                    set_id,
                    number,
                    variant,
                    kind == Card.Kind.SEALED,
                    set_id in english,
                    pc,
                    tcg,
                    name=name,
                    printed_set_id=printed_set_id,
                )
            )
        index = cls(sets, refs)
        index.fingerprint = fingerprint.digest()
        return index

    @classmethod
    def for_products(cls, products: list[Product], game: str | None = None) -> "CatalogIndex":
        """An index holding only the cards these products could point at."""
        everything = cls(_sets(game), [])
        set_ids = {
            set_id
            for product in products
            for set_id in everything.sets_for(product.console_name)[0]
        }
        codes = {product.number.upper() for product in products}
        condition = (
            Q(card_set__in=set_ids)
            | Q(number__in=[code for code in codes if is_one_piece_code(code)])
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
        self.changed = True
        card.pricecharting_id = product_id
        self.by_pricecharting_id[product_id].append(card)

    def sets_for(self, console_name: str) -> tuple[list[int], bool, bool]:
        """Set ids a console-name names, whether it names another language's set, and
        whether the sets were found only by the tolerant comparison of names."""
        found = self._consoles.get(console_name)
        if found is None:
            found = self._consoles[console_name] = self._sets_for(console_name)
        return found

    def _sets_for(self, console_name: str) -> tuple[list[int], bool, bool]:
        foreign = is_foreign(console_name)

        def same_language(set_ids: list[int]) -> list[int]:
            return [s for s in set_ids if (s in self.english_set_ids) != foreign]

        exact = same_language(self.sets_by_console.get(fold(console_name), []))
        if exact:
            return exact, foreign, False
        game = console_game(console_name)
        if game is None:
            return [], foreign, False
        loose = self.sets_by_loose_name.get((game, loose_name(console_name, game)), [])
        return same_language(loose), foreign, True

    def match(self, product: Product) -> Match:
        by_id = self.by_pricecharting_id.get(product.id, ()) if product.id else ()
        if len(by_id) == 1:
            return Match(MATCHED, by_id[0].id, via=VIA_PRICECHARTING_ID)
        if by_id:
            return Match(
                AMBIGUOUS,
                candidates=_ids(by_id),
                reason=f"{len(by_id)} cards carry PriceCharting id {product.id}",
                code=ID_CONFLICT,
            )

        markers = variant_markers(product.product_name)
        number = product.number
        set_ids, foreign, _ = self.sets_for(product.console_name)

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
                        code=ID_CONFLICT,
                    )
                return self._decide(product, fitting, VIA_TCG_ID)
            near.extend(cards)

        if product.is_sealed:
            return Match(
                UNMATCHED,
                candidates=_ids(near),
                reason="sealed products match only by PriceCharting or TCGplayer id",
                code=SEALED,
            )
        if product.is_one_piece and is_one_piece_code(number):
            return self._match_code(product, number.upper(), markers, set_ids, foreign, fits, near)
        if not set_ids:
            return Match(
                UNMATCHED,
                candidates=_ids(near),
                reason=f"no set is {product.console_name!r}",
                code=FOREIGN if foreign else NO_SET,
            )
        if not number:
            return Match(
                UNMATCHED,
                candidates=_ids(near),
                reason="no card number in the product name",
                code=NO_NUMBER,
            )
        key = number_key(number)
        cards = [card for set_id in set_ids for card in self.by_set_number.get((set_id, key), ())]
        fitting = [card for card in cards if fits(card)]
        if fitting:
            return self._decide(product, fitting, VIA_SET_NUMBER)
        return Match(
            UNMATCHED,
            candidates=_ids(near + cards),
            reason=f"no card #{number}{_describe(markers)} in {product.console_name}",
            code=NO_PRINT if cards else NO_CARD,
        )

    def _match_code(self, product, code, markers, set_ids, foreign, fits, near) -> Match:
        """One Piece: the code names the card in every console; where each print was
        printed and the markers choose among its prints."""
        family = self.by_code.get(code, ())
        prints = [card for card in family if fits(card)]
        here = [card for card in prints if card.printed_set_id in set_ids]
        if here:
            return self._decide(product, here, VIA_CODE)
        if prints:
            if set_ids:
                where = f"none printed in {product.console_name}"
            else:
                where = f"and no set is {product.console_name!r}"
            return Match(
                AMBIGUOUS,
                candidates=_ids(near + prints),
                reason=f"{len(prints)} print{'s' if len(prints) > 1 else ''} of {code}"
                f"{_describe(markers)} in the catalog, {where}",
                code=NO_PRINT,
            )
        if foreign:
            return Match(
                UNMATCHED,
                candidates=_ids(near),
                reason=f"no print of {code} in the language of {product.console_name}",
                code=FOREIGN,
            )
        if family:
            return Match(
                UNMATCHED,
                candidates=_ids(near + list(family)),
                reason=f"no print of {code}{_describe(markers)} in the catalog",
                code=NO_PRINT,
            )
        return Match(
            UNMATCHED, candidates=_ids(near), reason=f"no card {code} in the catalog", code=NO_CARD
        )

    def _decide(self, product: Product, fitting: list[CardRef], via: str) -> Match:
        if len(fitting) > 1:
            return Match(
                AMBIGUOUS,
                candidates=_ids(fitting),
                reason=f"{len(fitting)} cards fit (by {via})",
                code=SEVERAL,
            )
        card = fitting[0]
        # Sealed products match only by an id, and their names are the seller's own.
        if not card.sealed and name_key(product_card_name(product.product_name)) != card.name:
            return Match(
                AMBIGUOUS,
                candidates=(card.id,),
                reason=f"the card fitting by {via} has another name than "
                f"{product_card_name(product.product_name)!r}",
                code=NAME_DIFFERS,
            )
        if product.tcg_id and card.tcg_id and card.tcg_id != product.tcg_id:
            return Match(
                AMBIGUOUS,
                candidates=(card.id,),
                reason=f"the card fitting by {via} has TCGplayer id {card.tcg_id}, "
                f"not {product.tcg_id}",
                code=ID_CONFLICT,
            )
        if card.pricecharting_id and card.pricecharting_id != product.id:
            return Match(
                AMBIGUOUS,
                candidates=(card.id,),
                reason=f"the card fitting by {via} already has PriceCharting id "
                f"{card.pricecharting_id}",
                code=ID_CONFLICT,
            )
        return Match(MATCHED, card.id, via=via)


@functools.cache
def _rules() -> bytes:
    """This module's source: a fingerprint taken with it changes with the rules."""
    return Path(__file__).read_bytes()


_SET_FIELDS = ("pk", "game", "code", "name", "series", "language", "pricecharting_name")


def _set_fields(card_set: CardSet) -> tuple:
    return tuple(getattr(card_set, name) for name in _SET_FIELDS)


def _sets(game: str | None) -> list[CardSet]:
    sets = CardSet.objects.all()
    if game:
        sets = sets.filter(game=game)
    return list(sets.only(*_SET_FIELDS).order_by("pk"))


def _describe(markers: frozenset[str]) -> str:
    return f" [{' '.join(sorted(markers))}]" if markers else " (base print)"
