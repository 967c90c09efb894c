"""Catalog search: a small query syntax on top of free text.

    charizard set:sv3pt5 rarity:"special illustration rare" number:199 game:pokemon

Free text is matched word by word. On PostgreSQL each word must match the card's search
document by full-text prefix; only when that finds nothing is the search repeated with
trigram similarity as well, so `charzard` finds Charizard without every search paying
for fuzzy matching. Both are served by GIN indexes (see migration 0002). Elsewhere each
word must appear in the search document, and a misspelling gets a "did you mean".
"""

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVector,
    TrigramWordSimilarity,
)
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Exists, F, OrderBy, OuterRef, Q, QuerySet

from cards.models import SEARCH_WORD_RE, Card, CardSet, Game
from tcgtracker.lib.sql import CompiledQuery, ids_in

FILTER_KEYS = {
    "game": "game:pokemon or game:onepiece",
    "set": "set:sv3pt5 (the set code)",
    "rarity": 'rarity:"rare holo"',
    "number": "number:199",
    "variant": "variant:p1",
    "kind": "kind:single or kind:sealed",
}

GAME_ALIASES = {
    "pokemon": Game.POKEMON,
    "pokémon": Game.POKEMON,
    "pkmn": Game.POKEMON,
    "onepiece": Game.ONEPIECE,
    "one-piece": Game.ONEPIECE,
    "one piece": Game.ONEPIECE,
    "op": Game.ONEPIECE,
}

# A blank sort means best match for free text, set and number otherwise.
SORTS = {
    "relevance": "Relevance",
    "number": "Set and number",
    "name": "Name",
    "newest": "Newest sets first",
    "popularity": "Most popular",
    "price-high": "Price: high to low",
    "price-low": "Price: low to high",
    "rising": "7-day change: rising most",
    "falling": "7-day change: falling most",
}
# Sorts by a price, as (the field to order by, descending). The catalog knows no prices:
# whoever offers these sorts passes `prices`, a callable that adds the field to a card
# queryset (the pages and the API pass prices.headline.annotate). Cards without a price
# come last either way, in set and number order.
PRICE_SORTS = {
    "price-high": ("headline_market", True),
    "price-low": ("headline_market", False),
    "rising": ("headline_change_7d", True),
    "falling": ("headline_change_7d", False),
}
PriceAnnotation = Callable[[QuerySet], QuerySet]

TOKEN_RE = re.compile(
    r"""(?P<key>[^\s:"]+):(?:"(?P<quoted>[^"]*)"?|(?P<bare>\S*))  # key:value or key:"a b"
      | "(?P<phrase>[^"]*)"?                                     # "a phrase"
      | (?P<word>\S+)""",
    re.VERBOSE,
)
WORD_RE = SEARCH_WORD_RE  # split what is typed as the search document was split
# The catalog changes rarely; the filter menus are the costliest part of a search page.
CHOICES_CACHE_SECONDS = 300

# Trigram similarity helps with misspelt names, not with numbers or very short words.
MIN_FUZZY_LENGTH = 4
# Every word and filter is one more condition in the query: far past any card's name,
# far below what builds a query too deep for Python (155 words did) or the database.
MAX_QUERY_LENGTH = 200
MAX_QUERY_TERMS = 20


@dataclass
class ParsedQuery:
    text_terms: list[str] = field(default_factory=list)
    filters: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(self.text_terms)


def parse_query(raw: str) -> ParsedQuery:
    parsed = ParsedQuery()
    raw = raw or ""
    if len(raw) > MAX_QUERY_LENGTH:
        parsed.errors.append(
            f"A search is at most {MAX_QUERY_LENGTH} characters long; this one has "
            f"{len(raw):,}. Shorten it."
        )
        return parsed
    for match in TOKEN_RE.finditer(raw):
        if match.group("key") is not None:
            key = match.group("key").lower()
            value = (match.group("quoted") or match.group("bare") or "").strip()
            if key not in FILTER_KEYS:
                known = ", ".join(f"{k}:" for k in FILTER_KEYS)
                parsed.errors.append(f'Unknown filter "{key}:". Filters you can use: {known}')
            elif not value:
                parsed.errors.append(f'"{key}:" needs a value, for example {FILTER_KEYS[key]}.')
            else:
                parsed.filters.setdefault(key, []).append(value)
        else:
            words = match.group("phrase") or match.group("word") or ""
            parsed.text_terms.extend(words.split())
    for value in parsed.filters.get("game", []):
        if value.lower() not in GAME_ALIASES:
            parsed.errors.append(f'Unknown game "{value}": use game:pokemon or game:onepiece.')
    for value in parsed.filters.get("kind", []):
        if value.lower() not in Card.Kind.values:
            parsed.errors.append(f'Unknown kind "{value}": use kind:single or kind:sealed.')
    terms = len(parsed.text_terms) + sum(len(values) for values in parsed.filters.values())
    if terms > MAX_QUERY_TERMS:
        parsed.errors.append(
            f"A search has at most {MAX_QUERY_TERMS} words and filters; this one has "
            f"{terms}. Remove some."
        )
    return parsed


def filter_cards(
    queryset: QuerySet,
    parsed: ParsedQuery,
    *,
    game: str = "",
    set_code: str = "",
    rarity: str = "",
    fuzzy: bool = False,
) -> QuerySet:
    """Apply the parsed query and the form's filters; syntax filters and form filters AND."""
    if game:
        queryset = queryset.filter(card_set__game=game)
    if set_code:
        queryset = queryset.filter(card_set__code__iexact=set_code)
    if rarity:
        queryset = queryset.filter(rarity__iexact=rarity)

    for value in parsed.filters.get("game", []):
        queryset = queryset.filter(card_set__game=GAME_ALIASES.get(value.lower(), value))
    for value in parsed.filters.get("set", []):
        queryset = queryset.filter(
            Q(card_set__code__iexact=value)
            | Q(card_set__ptcgo_code__iexact=value)
            | Q(card_set__name__iexact=value)
        )
    for value in parsed.filters.get("rarity", []):
        queryset = queryset.filter(rarity__iexact=value)
    for value in parsed.filters.get("number", []):
        # "199/165" is how the number is printed; the part before the slash is the number.
        number = value.split("/")[0].strip()
        queryset = queryset.filter(Q(number__iexact=number) | Q(number__iexact=number.lstrip("0")))
    for value in parsed.filters.get("variant", []):
        queryset = queryset.filter(variant__iexact=value)
    for value in parsed.filters.get("kind", []):
        queryset = queryset.filter(kind=value.lower())

    if parsed.text_terms:
        if connection.vendor == "postgresql":
            queryset = _postgres_text_search(queryset, parsed.text_terms, fuzzy)
        else:
            for term in parsed.text_terms:
                for word in WORD_RE.findall(term.lower()):
                    queryset = queryset.filter(search_document__contains=word)
    return queryset


def _prefix_tsquery(term: str) -> SearchQuery | None:
    words = WORD_RE.findall(term.lower())
    if not words:
        return None
    # Only \w characters reach the raw query, so no tsquery operator can be injected.
    return SearchQuery(
        " & ".join(f"{word}:*" for word in words), search_type="raw", config="simple"
    )


def _postgres_text_search(queryset: QuerySet, terms: list[str], fuzzy: bool) -> QuerySet:
    # This expression is the one the GIN index of migration 0002 is built on.
    queryset = queryset.alias(document=SearchVector("search_document", config="simple"))
    queries = []
    for term in terms:
        tsquery = _prefix_tsquery(term)
        condition = Q(document=tsquery) if tsquery is not None else Q()
        if fuzzy and len(term) >= MIN_FUZZY_LENGTH and not any(ch.isdigit() for ch in term):
            # Similar to the whole name (charzard → Charizard) or to a word in it
            # (blastiose → Dark Blastoise). Both operators use the name's trigram index.
            condition |= Q(name__trigram_similar=term.lower()) | Q(
                name__trigram_word_similar=term.lower()
            )
        if condition:
            queryset = queryset.filter(condition)
        if tsquery is not None:
            queries.append(tsquery)
    text = " ".join(terms).lower()
    rank = TrigramWordSimilarity(text, "name")
    if queries:
        combined = queries[0]
        for query in queries[1:]:
            combined &= query
        rank = rank + SearchRank(F("document"), combined)
    return queryset.alias(relevance=rank)


# A result of up to this many cards is sorted whole in one query; a larger one (a browse of
# the catalog, or of much of it) is read keys first (page_rows).
KEYS_FIRST_ABOVE = 2000


def page_rows(cards: QuerySet, start: int, stop: int, *, total: int) -> list[Card]:
    """Cards start to stop, with their sets, of an ordered queryset of `total` cards. A
    large one is read in two queries: the cards' keys in its order, then those cards by
    key (a card deleted in between is left out). The database then sorts narrow rows to
    find the page, and reads full rows for that page only: sorting every column of the card
    and its set cost about twice as much (the whole catalog by price: 97 → 45 ms of SQL for
    its first page). A small one is read in one query, which costs less than a second one."""
    if total <= KEYS_FIRST_ABOVE:
        return list(cards.select_related("card_set")[start:stop])
    keys = _page_keys(cards, start, stop)
    if connection.vendor == "postgresql":
        found = {card.pk: card for card in _CARDS_BY_KEY.objects(keys=keys)}
    else:
        found = Card.objects.select_related("card_set").order_by().in_bulk(keys)
    return [found[key] for key in keys if key in found]


# A page's cards by key, with their sets, on PostgreSQL: one array parameter, so one shape
# whatever the page's size, compiled once (tcgtracker.lib.sql).
_CARDS_BY_KEY = CompiledQuery(
    lambda keys: Card.objects.select_related("card_set").filter(pk__in=ids_in(keys)).order_by(),
    keys=list,
)


def _page_keys(cards: QuerySet, start: int, stop: int) -> list[int]:
    """The keys of cards start to stop of an ordered queryset.

    One ordered first by a value some cards lack, last (a price sort: the cards' headline
    price or 7-day change, NULLS LAST), is read as two lists one after the other: the
    cards with the value, then those without. The first is what an index on the value
    gives in order (prices.CardHeadline's; asked for without NULLS LAST, which means
    nothing there, and which an index read backwards does not give), so that its first
    pages read a few dozen rows where a single query sorted every card (the whole catalog
    by price: 12-21 ms -> about 1 ms of SQL on this project's bench); the second is read
    only by a page that reaches past the first.
    """
    lead = _nulls_last_lead(cards)
    if lead is None:
        return list(cards.values_list("pk", flat=True)[start:stop])
    name = lead.expression.name
    valued = cards.filter(**{f"{name}__isnull": False}).order_by(
        OrderBy(F(name), descending=lead.descending), *cards.query.order_by[1:]
    )
    keys = list(valued.values_list("pk", flat=True)[start:stop])
    if len(keys) == stop - start:
        return keys
    # The page ends past the cards with the value: how many there are, then the rest.
    valued_count = start + len(keys) if keys or not start else valued.count()
    rest = cards.filter(**{f"{name}__isnull": True}).values_list("pk", flat=True)
    return keys + list(rest[max(0, start - valued_count) : stop - valued_count])


def _nulls_last_lead(cards: QuerySet) -> OrderBy | None:
    """The first term of a queryset's order when it is an annotation or alias, NULLS
    LAST; None when the queryset is ordered otherwise."""
    ordering = cards.query.order_by
    if not ordering:
        return None
    first = ordering[0]
    if (
        isinstance(first, OrderBy)
        and first.nulls_last
        and isinstance(first.expression, F)
        and first.expression.name in cards.query.annotations
    ):
        return first
    return None


class PagedCards:
    """An ordered queryset of cards for Paginator, its pages read by page_rows(). Its
    cards are counted from `unordered`, the same cards before the order's prices were
    joined (when given): the count neither joins nor compiles them."""

    def __init__(self, cards: QuerySet, unordered: QuerySet | None = None):
        self.cards = cards
        self.unordered = cards if unordered is None else unordered
        self.ordered = cards.ordered
        self.total: int | None = None

    def count(self) -> int:
        if self.total is None:
            self.total = self.unordered.count()
        return self.total

    def __getitem__(self, page: slice) -> list[Card]:
        return page_rows(self.cards, page.start or 0, page.stop, total=self.count())


def search_page(
    parsed: ParsedQuery,
    *,
    game: str,
    set_code: str,
    rarity: str,
    sort: str,
    page_number,
    per_page: int,
    prices: PriceAnnotation | None = None,
) -> tuple[Page, bool]:
    """One page of results, and whether it took fuzzy matching to find them."""

    def paginate(fuzzy: bool) -> Page:
        cards = Card.objects.select_related("card_set")
        if parsed.errors:
            return Paginator(PagedCards(cards.none()), per_page).get_page(page_number)
        found = filter_cards(
            cards, parsed, game=game, set_code=set_code, rarity=rarity, fuzzy=fuzzy
        )
        ordered = order_cards(found, sort, has_text=bool(parsed.text_terms), prices=prices)
        return Paginator(PagedCards(ordered, found), per_page).get_page(page_number)

    page = paginate(fuzzy=False)
    if (
        not page.paginator.count
        and parsed.text_terms
        and not parsed.errors
        and connection.vendor == "postgresql"
    ):
        return paginate(fuzzy=True), True
    return page, False


def quick_search(query: str, limit: int) -> list[Card]:
    """The first cards a picker offers for what was typed (name, number, set:code ...),
    with their sets; none for a blank query or one with errors."""
    parsed = parse_query(query)
    if not query.strip() or parsed.errors:
        return []
    page, _ = search_page(
        parsed,
        game="",
        set_code="",
        rarity="",
        sort="relevance" if parsed.text_terms else "number",
        page_number=1,
        per_page=limit,
    )
    return list(page.object_list)


CATALOG_ORDER = (
    "card_set__game",
    F("card_set__release_date").asc(nulls_last=True),
    "card_set__code",
    "sort_number",
    "number",
    "variant",
)


def order_cards(
    queryset: QuerySet, sort: str, has_text: bool, prices: PriceAnnotation | None = None
) -> QuerySet:
    if sort in PRICE_SORTS and prices is not None:
        field_name, descending = PRICE_SORTS[sort]
        price = F(field_name)
        price = price.desc(nulls_last=True) if descending else price.asc(nulls_last=True)
        return prices(queryset).order_by(price, *CATALOG_ORDER)
    if sort == "relevance" and has_text and connection.vendor == "postgresql":
        return queryset.order_by("-relevance", "name", "pk")
    if sort == "name":
        return queryset.order_by("name", "card_set__release_date", "pk")
    if sort == "newest":
        return queryset.order_by(
            F("card_set__release_date").desc(nulls_last=True), "sort_number", "pk"
        )
    if sort == "popularity":
        return queryset.order_by("-popularity", "name", "pk")
    # Set and number: the order cards are printed in. Also the fallback for relevance
    # where the database cannot rank, and for a price sort where no prices are offered.
    return queryset.order_by(*CATALOG_ORDER)


def suggest_spelling(terms: list[str]) -> str:
    """A 'did you mean' where the search itself could not be fuzzy: the closest card name.

    Not for PostgreSQL, whose trigram search has already tried harder than this can.
    """
    if connection.vendor == "postgresql":
        return ""
    text = " ".join(terms).lower()
    if len(text) < MIN_FUZZY_LENGTH:
        return ""
    names = Card.objects.values_list("name", flat=True).distinct()
    lowered = {name.lower(): name for name in names}
    candidates = list(lowered)
    # Also compare against each name's first word, so "charzard" meets "Charizard ex".
    first_words = {name.split()[0]: name for name in candidates if name.split()}
    matches = difflib.get_close_matches(text, candidates + list(first_words), n=1, cutoff=0.75)
    if not matches:
        return ""
    best = matches[0]
    return lowered.get(best) or lowered[first_words[best]].split()[0]


def filter_choices(game: str = "") -> dict:
    """Sets (that have cards) and rarities for the search filters, cached briefly."""
    key = f"search:choices:{game or 'all'}"
    choices = cache.get(key)
    if choices is None:
        sets = CardSet.objects.filter(Exists(Card.objects.filter(card_set=OuterRef("pk"))))
        rarities = Card.objects.exclude(rarity="")
        if game:
            sets = sets.filter(game=game)
            rarities = rarities.filter(card_set__game=game)
        choices = {
            "sets": [
                (code, f"{name} ({code})")
                for code, name in sets.order_by("game", "-release_date").values_list("code", "name")
            ],
            "rarities": list(
                rarities.values_list("rarity", flat=True).distinct().order_by("rarity")
            ),
        }
        cache.set(key, choices, CHOICES_CACHE_SECONDS)
    return choices
