"""Catalog search: a small query syntax on top of free text.

    charizard set:sv3pt5 rarity:"special illustration rare" number:199 game:pokemon

Free text is matched word by word. On PostgreSQL each word matches the card's search
document by full-text prefix or by trigram word similarity, so `charzard` finds
Charizard; both are served by GIN indexes (see migration 0002). Elsewhere each word must
appear in the search document.
"""

import difflib
import re
from dataclasses import dataclass, field

from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVector,
    TrigramWordSimilarity,
)
from django.db import connection
from django.db.models import F, Q, QuerySet

from cards.models import Card, Game

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

SORTS = {
    "relevance": "Best match",
    "number": "Set and number",
    "name": "Name",
    "newest": "Newest sets first",
    "popularity": "Most popular",
}

TOKEN_RE = re.compile(
    r"""(?P<key>[^\s:"]+):(?:"(?P<quoted>[^"]*)"?|(?P<bare>\S*))  # key:value or key:"a b"
      | "(?P<phrase>[^"]*)"?                                     # "a phrase"
      | (?P<word>\S+)""",
    re.VERBOSE,
)
WORD_RE = re.compile(r"\w+")
# Trigram similarity helps with misspelt names, not with numbers or very short words.
MIN_FUZZY_LENGTH = 4


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
    for match in TOKEN_RE.finditer(raw or ""):
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
    return parsed


def filter_cards(
    queryset: QuerySet,
    parsed: ParsedQuery,
    *,
    game: str = "",
    set_code: str = "",
    rarity: str = "",
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
            queryset = _postgres_text_search(queryset, parsed.text_terms)
        else:
            for term in parsed.text_terms:
                queryset = queryset.filter(search_document__contains=term.lower())
    return queryset


def _prefix_tsquery(term: str) -> SearchQuery | None:
    words = WORD_RE.findall(term.lower())
    if not words:
        return None
    # Only \w characters reach the raw query, so no tsquery operator can be injected.
    return SearchQuery(" & ".join(f"{word}:*" for word in words), search_type="raw", config="simple")


def _postgres_text_search(queryset: QuerySet, terms: list[str]) -> QuerySet:
    # This expression is the one the GIN index of migration 0002 is built on.
    queryset = queryset.alias(document=SearchVector("search_document", config="simple"))
    queries = []
    for term in terms:
        tsquery = _prefix_tsquery(term)
        condition = Q(document=tsquery) if tsquery is not None else Q()
        if len(term) >= MIN_FUZZY_LENGTH and not any(ch.isdigit() for ch in term):
            # Similar to the whole name (charzard → Charizard), or to a word anywhere in
            # the document (mewtoo → Team Rocket's Mewtwo). Both operators use an index.
            condition |= Q(name__trigram_similar=term.lower()) | Q(
                search_document__trigram_word_similar=term.lower()
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


def order_cards(queryset: QuerySet, sort: str, has_text: bool) -> QuerySet:
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
    # where the database cannot rank.
    return queryset.order_by(
        "card_set__game", F("card_set__release_date").asc(nulls_last=True), "card_set__code",
        "sort_number", "number", "variant",
    )


def suggest_spelling(terms: list[str]) -> str:
    """A 'did you mean' for databases without trigram search: the closest card name."""
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
