"""Matching a file's rows to catalog cards, set-based: all sets are loaded once, then the
cards of every set the file names (and those carrying its TCGplayer product ids) in one
query, and every row is matched in memory — a 10,000-row file runs no query per row. A
wrong match puts the wrong card in someone's collection, so every doubt is ambiguous and
the user chooses."""

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Q

from cards.models import Card, CardSet
from collections_app.importing.rows import CardLookup, ParsedRow
from collections_app.importing.values import quoted
from collections_app.models import ImportRow
from prices.matching import PARALLEL_VARIANT_RE, PARALLEL_WORDS, clean_tcg_id, fold, number_key
from prices.matching import words as folded_words

Status = ImportRow.Status
# Past this many TCGplayer ids, load every card carrying one rather than list them in
# the query (SQLite limits a statement's parameters).
MAX_IDS_IN_QUERY = 900


# Printings that are the base print in our catalog (blank variant): "Holofoil" Charizard
# is Base Set 4, "Normal" is a non-holo.
BASE_PRINT_WORDS = frozenset({"normal", "unlimited", "holo", "foil", "nonfoil", "regular"})


def variant_words(text: str) -> frozenset[str]:
    found = folded_words(text)
    if "reverse" in found:
        return found - (BASE_PRINT_WORDS - {"holo"})
    return found - BASE_PRINT_WORDS


def variant_fits(card_variant: str, row_variant: str, *, exact: bool) -> bool:
    if exact:
        return card_variant.lower() == row_variant.lower()
    wanted = variant_words(row_variant)
    if PARALLEL_VARIANT_RE.fullmatch(card_variant):
        return bool(wanted) and wanted <= PARALLEL_WORDS
    return variant_words(card_variant) == wanted


def name_fits(card_name: str, row_name: str) -> bool:
    if not row_name:
        return True
    card_words, row_words = folded_words(card_name), folded_words(row_name)
    return card_words <= row_words or row_words <= card_words


def set_lookup_names(name: str) -> list[str]:
    """Folded forms a file's set name may match: "SV: Scarlet & Violet 151" →
    "sv scarlet and violet 151", "scarlet and violet 151"; "Base Set" → "base set", "base"."""
    forms = [fold(name)]
    if ":" in name:
        forms.append(fold(name.split(":", 1)[1]))
    for form in list(forms):
        for prefix in ("pokemon ", "one piece "):
            if form.startswith(prefix):
                forms.append(form.removeprefix(prefix))
    for form in list(forms):
        if form.endswith(" set"):
            forms.append(form.removesuffix(" set"))
    return [form for form in dict.fromkeys(forms) if form]


@dataclass(frozen=True)
class CardInfo:
    id: int
    set_id: int
    number: str
    variant: str
    name: str
    tcgplayer_id: str


@dataclass(frozen=True)
class MatchResult:
    status: str
    card_id: int | None = None
    candidates: tuple[int, ...] = ()
    reason: str = ""


class CardIndex:
    """The sets and cards a file's rows can name, loaded in two queries."""

    def __init__(self, rows: list[ParsedRow]):
        self.sets = {s.pk: s for s in CardSet.objects.all()}
        self.sets_by_code: dict[str, list[int]] = defaultdict(list)
        self.sets_by_name: dict[str, list[int]] = defaultdict(list)
        for card_set in self.sets.values():
            for code in {card_set.code.lower(), card_set.ptcgo_code.lower()} - {""}:
                self.sets_by_code[code].append(card_set.pk)
            names = {fold(card_set.name), fold(f"{card_set.series} {card_set.name}")}
            if card_set.pricecharting_name:
                names |= set(set_lookup_names(card_set.pricecharting_name))
            for name in names - {""}:
                self.sets_by_name[name].append(card_set.pk)
        self.row_sets = [self.sets_for(row.lookup) for row in rows]
        set_ids = {set_id for ids in self.row_sets for set_id in ids}
        tcg_ids = {row.lookup.tcgplayer_id for row in rows if row.lookup.tcgplayer_id}
        wanted = Q(card_set_id__in=set_ids)
        if len(tcg_ids) > MAX_IDS_IN_QUERY:
            wanted |= ~Q(tcgplayer_id="")
        elif tcg_ids:
            wanted |= Q(tcgplayer_id__in=tcg_ids)
        self.cards: dict[int, CardInfo] = {}
        self.by_set_number: dict[tuple[int, str], list[CardInfo]] = defaultdict(list)
        self.by_set: dict[int, list[CardInfo]] = defaultdict(list)
        self.by_tcg_id: dict[str, list[CardInfo]] = defaultdict(list)
        fields = ("pk", "card_set_id", "number", "variant", "name", "tcgplayer_id")
        for values in Card.objects.filter(wanted).values_list(*fields).iterator(2000):
            card = CardInfo(*values)
            self.cards[card.id] = card
            self.by_set_number[(card.set_id, number_key(card.number))].append(card)
            self.by_set[card.set_id].append(card)
            tcg_id = clean_tcg_id(card.tcgplayer_id)
            if tcg_id:
                self.by_tcg_id[tcg_id].append(card)

    def sets_for(self, lookup: CardLookup) -> list[int]:
        found: list[int] = []
        if lookup.set_code:
            found = self.sets_by_code.get(lookup.set_code.lower(), [])
        if not found and lookup.set_name:
            for name in set_lookup_names(lookup.set_name):
                found = self.sets_by_name.get(name, [])
                if found:
                    break
        return [
            set_id
            for set_id in found
            if (not lookup.games or self.sets[set_id].game in lookup.games)
            and (not lookup.language or self.sets[set_id].language == lookup.language)
        ]

    def match(self, position: int, row: ParsedRow) -> MatchResult:
        lookup = row.lookup
        if lookup.tcgplayer_id:
            by_id = self.by_tcg_id.get(lookup.tcgplayer_id, [])
            if by_id:
                return self._by_product_id(lookup, by_id)
        set_ids = self.row_sets[position]
        if not set_ids:
            named = lookup.set_name or lookup.set_code
            return MatchResult(Status.REJECTED, reason=f"no set {quoted(named)} in the catalog")
        number = number_key(lookup.number.split("/")[0])
        cards = [c for set_id in set_ids for c in self.by_set_number.get((set_id, number), ())]
        if not cards:
            named = [
                c
                for set_id in set_ids
                for c in self.by_set[set_id]
                if name_fits(c.name, lookup.name)
            ]
            if lookup.name and named:
                return MatchResult(
                    Status.AMBIGUOUS,
                    candidates=_ids(named),
                    reason=f"no card number {lookup.number} in the set; "
                    f"cards named {quoted(lookup.name)}:",
                )
            return MatchResult(Status.REJECTED, reason=f"no card {lookup.describe()}")
        fitting = [
            c for c in cards if variant_fits(c.variant, lookup.variant, exact=lookup.exact_variant)
        ]
        if not fitting:
            wanted = lookup.variant or "base"
            return MatchResult(
                Status.AMBIGUOUS,
                candidates=_ids(cards),
                reason=f"no {quoted(wanted)} print of this card; choose one of its prints",
            )
        named = [c for c in fitting if name_fits(c.name, lookup.name)]
        if not named:
            names = ", ".join(sorted({c.name for c in fitting}))
            return MatchResult(
                Status.AMBIGUOUS,
                candidates=_ids(fitting),
                reason=f"the card at that number is {names}, not {quoted(lookup.name)}",
            )
        if len(named) > 1 and lookup.card_id in {c.id for c in named}:
            named = [self.cards[lookup.card_id]]
        if len(named) > 1:
            return MatchResult(
                Status.AMBIGUOUS,
                candidates=_ids(named),
                reason=f"{len(named)} cards fit; choose one",
            )
        return MatchResult(Status.MATCHED, card_id=named[0].id)

    def _by_product_id(self, lookup: CardLookup, cards: list[CardInfo]) -> MatchResult:
        fitting = [c for c in cards if variant_fits(c.variant, lookup.variant, exact=False)]
        if len(cards) == 1 or len(fitting) == 1:
            card = cards[0] if len(cards) == 1 else fitting[0]
            number = number_key(lookup.number.split("/")[0])
            if number and number_key(card.number) != number:
                return MatchResult(
                    Status.AMBIGUOUS,
                    candidates=(card.id,),
                    reason=f"TCGplayer product {lookup.tcgplayer_id} is card number "
                    f"{card.number}, not {lookup.number}",
                )
            return MatchResult(Status.MATCHED, card_id=card.id)
        return MatchResult(
            Status.AMBIGUOUS,
            candidates=_ids(fitting or cards),
            reason=f"{len(fitting or cards)} cards carry TCGplayer product {lookup.tcgplayer_id}",
        )


def _ids(cards) -> tuple[int, ...]:
    return tuple(sorted({card.id for card in cards}))


def match_rows(rows: list[ParsedRow]) -> list[MatchResult]:
    index = CardIndex(rows)
    return [index.match(position, row) for position, row in enumerate(rows)]
