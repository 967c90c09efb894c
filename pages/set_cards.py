"""What a set's page reads of the catalog on every request: the set its address names, how
many cards it has, and a page of them in the chosen order.

The queries have the same shape on every request; Django took longer to write their SQL
than the database took to answer it. Each is compiled once per process
(tcgtracker.lib.sql.CompiledQuery) and run with the set's values: the page of cards with
its LIMIT and OFFSET written at each run, so one compiled query per sort serves every
page.
"""

from django.db.models import Count, Value
from django.db.models.functions import Upper
from django.db.models.query import MAX_GET_RESULTS
from django.http import Http404

from cards.models import CARD_ROW_COLUMNS, Card, CardRow, CardSet, card_rows
from cards.search import SORTS, order_cards
from prices import headline
from tcgtracker.lib.sql import CompiledQuery

# A set page sorts as search does, less what means nothing within one set.
SET_SORTS = {value: label for value, label in SORTS.items() if value not in ("relevance", "newest")}

# The set's code in any case, as `code__iexact` matched it on PostgreSQL; written without
# iexact, which is a LIKE pattern on SQLite (its value escaped per run, not a parameter).
_SET_BY_CODE = CompiledQuery(
    lambda game, code: (
        CardSet.objects.alias(upper_code=Upper("code"))
        .filter(game=game, upper_code=Upper(Value(code)))
        .order_by()[:MAX_GET_RESULTS]
    ),
    game=str,
    code=str,
)
_CARD_COUNT = CompiledQuery(
    lambda set_id: (
        Card.objects.filter(card_set_id=set_id)
        .values("card_set_id")
        .annotate(count=Count("*"))
        .order_by()
        .values_list("count")
    ),
    set_id=int,
)


def _page_query(sort: str) -> CompiledQuery:
    return CompiledQuery(
        lambda set_id: order_cards(
            Card.objects.filter(card_set_id=set_id), sort, has_text=False, prices=headline.annotate
        ).values_list(*CARD_ROW_COLUMNS),
        set_id=int,
    )


_PAGE_QUERIES = {sort: _page_query(sort) for sort in SET_SORTS}


def set_by_code(game: str, code: str) -> CardSet:
    """get_object_or_404(CardSet, game=game, code__iexact=code): the set, or Http404."""
    found = _SET_BY_CODE.objects(game=game, code=code)
    if not found:
        raise Http404("No CardSet matches the given query.")
    if len(found) > 1:
        raise CardSet.MultipleObjectsReturned(
            f"get() returned more than one CardSet -- it returned {len(found)}!"
        )
    return found[0]


class SetCards:
    """A set's cards in one of SET_SORTS, as a Paginator pages them: count() counts them,
    a slice reads that page as CardRows of the set (values_list(*CARD_ROW_COLUMNS)
    would give the same columns)."""

    def __init__(self, card_set: CardSet, sort: str):
        self.card_set = card_set
        self.query = _PAGE_QUERIES[sort]

    def count(self) -> int:
        rows = _CARD_COUNT.fetch(set_id=self.card_set.pk)
        return rows[0][0] if rows else 0

    def __getitem__(self, page: slice) -> list[CardRow]:
        # The driver's own values (integers and text): no converter would change them.
        rows = self.query.fetch_slice(page.start or 0, page.stop, set_id=self.card_set.pk)
        return card_rows(rows, self.card_set)
