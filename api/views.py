"""The catalog half of the JSON API under /api/v1/: cards, prices, history, sets, movers.
Thin operations: parameters are declared (api.params) and read by django-ninja, rows come
from api.queries and the apps' own modules, answers are declared in api.schemas, and
api.http does the key, the rate limit and the error format."""

from typing import Annotated

from django.utils import timezone
from ninja import Field, Query, Schema
from ninja.decorators import decorate_view

from api import openapi, params, queries, serializers
from api.http import ApiError, bad_parameter, etagged, json_response, public_endpoint
from api.ninja_api import api
from api.schemas import CardDetail, CardList, CardStats, Movers, PriceHistory, SetList
from cards.models import Game
from cards.search import SORTS, parse_query
from prices import headline, history, keys, movers, stats
from prices.models import Source

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
DEFAULT_MOVERS_LIMIT = 10
MAX_MOVERS_LIMIT = 50
DIRECTIONS = ("gainers", "losers")


def page(total: int, limit: int, offset: int, results: list) -> dict:
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "has_more": offset + len(results) < total,
        "results": results,
    }


def card_not_found(card_id) -> ApiError:
    return ApiError(404, "CARD_NOT_FOUND", f"No card has id {card_id}.", {"id": str(card_id)})


def unknown_key(key: str) -> ApiError:
    return bad_parameter(
        "key",
        f"Unknown price key {key!r}: use ungraded, a condition (NM, LP, MP, HP, DMG) or a "
        "grade such as PSA 10.",
    )


CardId = Annotated[params.object_id(card_not_found), Field(description="The card's id.")]
GameFilter = Annotated[params.choice(Game.values), Field(description="Only this game.")]


class CardSearch(Schema):
    q: params.text() = Field(
        "",
        description="Words and filters, as on the search page: charizard set:sv3pt5 "
        'rarity:"special illustration rare" number:199 game:pokemon kind:single',
    )
    game: GameFilter = ""
    set: params.text() = Field("", description="Only this set (its code, e.g. sv3pt5).")
    rarity: params.text() = Field("", description="Only this rarity (any case).")
    sort: params.choice(list(SORTS)) = Field(
        "",
        description="Default: relevance when q has words, else set and number. "
        "price-high / price-low order by the headline price, rising / falling by its "
        "7-day change; cards without one come last.",
    )
    limit: params.limit(DEFAULT_LIMIT, MAX_LIMIT) = DEFAULT_LIMIT
    offset: params.Offset = 0


@api.get(
    "/cards",
    response=CardList,
    operation_id="searchCards",
    summary="Search cards",
    description="Each result carries the card's current prices and, as `headline`, the "
    "one the site's lists show and sort by.",
    url_name="cards",
    by_alias=True,
)
def cards(request, search: Query[CardSearch]):
    parsed = parse_query(search.q)
    if parsed.errors:
        raise bad_parameter("q", " ".join(parsed.errors))
    sort = search.sort or ("relevance" if parsed.text_terms else "number")
    found = queries.search_cards(
        parsed,
        game=search.game,
        set_code=search.set,
        rarity=search.rarity,
        sort=sort,
        limit=search.limit,
        offset=search.offset,
    )
    now = timezone.now()
    prices = queries.prices_by_card(card.pk for card in found.rows) if found.rows else {}
    results = []
    for card, facts in zip(found.rows, serializers.card_summaries(found.rows), strict=True):
        summaries = prices.get(card.pk, [])
        shown = {summary.pk: serializers.price(summary, now) for summary in summaries}
        chosen = headline.choose(summaries)
        results.append(
            {
                **facts,
                "headline": shown[chosen.pk] if chosen else None,
                "prices": list(shown.values()),
            }
        )
    # Written as JSON here rather than handed to django-ninja, which would validate every
    # card and price of the page against CardList and dump them again (a millisecond, a
    # tenth of the answer). The serializers write CardList's fields in its order; the
    # suite checks the answers against the document (tests/api/test_openapi.py) and
    # against CardList itself (tests/api/test_cards.py).
    return json_response(page(found.total, search.limit, search.offset, results))


@api.get(
    "/cards/{digits:card_id}",
    response=CardDetail,
    operation_id="getCard",
    summary="A card's facts and current prices",
    description="One price per source and condition or grade, with when it was observed, "
    "whether it is stale, its sample size (or PriceCharting's sales volume for the whole "
    "card), range, 1/7/30-day change and all-time high and low.",
    url_name="card",
    by_alias=True,
)
def card_detail(request, card_id: CardId):
    card = queries.card_with_set(card_id)
    if card is None:
        raise card_not_found(card_id)
    prices = history.current_prices(card)
    return serializers.card_detail(card, prices, timezone.now())


class HistoryFilter(Schema):
    period: params.choice(list(history.PERIODS), history.DEFAULT_PERIOD) = Field(
        history.DEFAULT_PERIOD,
        description="7d and 30d: every observation; 3m and 1y: daily averages; "
        "all: weekly averages.",
    )
    source: params.choice(Source.values) = Field("", description="Only this source.")
    key: params.text(32) = Field(
        "", description="Only this condition or grade, e.g. ungraded, NM or PSA 10."
    )


@api.get(
    "/cards/{digits:card_id}/prices/history",
    response=PriceHistory,
    by_alias=True,
    operation_id="getCardPriceHistory",
    summary="A card's price history",
    url_name="card_history",
    openapi_extra=openapi.CACHEABLE,
)
# from and to move with the clock; the ETag follows the data.
@decorate_view(etagged(ignoring=("from", "to")))
def card_history(request, card_id: CardId, wanted: Query[HistoryFilter]):
    if wanted.key and not keys.is_valid(wanted.key):
        raise unknown_key(wanted.key)
    if not queries.card_exists(card_id):
        raise card_not_found(card_id)
    now = timezone.now()
    spec = history.PERIODS[wanted.period]
    series = queries.history_series(
        card_id, wanted.period, source=wanted.source, price_key=wanted.key, now=now
    )
    return {
        "card_id": card_id,
        "period": wanted.period,
        "bucket": spec.bucket,
        "from": serializers.moment(now - spec.span) if spec.span else None,
        "to": serializers.moment(now),
        "series": [
            {
                "source": line.source,
                "source_name": history.source_name(line.source),
                "key": line.price_key,
                "key_label": keys.label(line.price_key),
                "currency": line.currency,
                "simulated": line.source == Source.DEMO,
                "points": [serializers.history_point(line.source, point) for point in line.points],
            }
            for line in series
        ],
    }


class StatsFilter(HistoryFilter):
    """The history's filters; the period is only described otherwise."""

    period: params.choice(list(history.PERIODS), history.DEFAULT_PERIOD) = Field(
        history.DEFAULT_PERIOD, description="The period, as the card page's chart tabs."
    )


@api.get(
    "/cards/{digits:card_id}/stats",
    response=CardStats,
    by_alias=True,
    operation_id="getCardStats",
    summary="A card's price statistics over a period",
    description="Per source, condition or grade and currency: observations, average and "
    "median of the daily prices, lowest and highest price, annualised volatility and the "
    "trend as % per month with a confidence word. Lines of the demo source are simulated.",
    url_name="card_stats",
    openapi_extra=openapi.CACHEABLE,
)
@decorate_view(etagged(ignoring=("from", "to")))
def card_stats(request, card_id: CardId, wanted: Query[StatsFilter]):
    if wanted.key and not keys.is_valid(wanted.key):
        raise unknown_key(wanted.key)
    if not queries.card_exists(card_id):
        raise card_not_found(card_id)
    now = timezone.now()
    spec = history.PERIODS[wanted.period]
    lines = stats.card_stats(
        card_id, wanted.period, now, source=wanted.source, price_key=wanted.key
    )
    return {
        "card_id": card_id,
        "period": wanted.period,
        "from": serializers.moment(now - spec.span) if spec.span else None,
        "to": serializers.moment(now),
        "simulated": any(line.simulated for line in lines),
        "lines": [serializers.line_stats(line) for line in lines],
    }


class SetFilter(Schema):
    game: GameFilter = ""
    limit: params.limit(DEFAULT_LIMIT, MAX_LIMIT) = DEFAULT_LIMIT
    offset: params.Offset = 0


@api.get(
    "/sets",
    response=SetList,
    operation_id="listSets",
    summary="Sets",
    description="Newest first within each game.",
    url_name="sets",
    by_alias=True,
    openapi_extra=openapi.CACHEABLE,
)
@decorate_view(etagged())
def sets(request, wanted: Query[SetFilter]):
    found = queries.sets(wanted.game, wanted.limit, wanted.offset)
    results = [
        {
            **serializers.set_facts(card_set),
            "card_count": card_set.card_count,
            "url": serializers.site_url(card_set.get_absolute_url()),
        }
        for card_set in found.rows
    ]
    return page(found.total, wanted.limit, wanted.offset, results)


class MoversFilter(Schema):
    game: params.choice(Game.values, Game.POKEMON) = Field(Game.POKEMON, description="The game.")
    period: params.choice(list(movers.PERIODS), movers.DEFAULT_PERIOD) = Field(
        movers.DEFAULT_PERIOD, description="Change over 24 hours, 7 days or 30 days."
    )
    direction: params.choice(DIRECTIONS, "gainers") = Field(
        "gainers", description="Largest rises or largest falls first."
    )
    limit: params.limit(DEFAULT_MOVERS_LIMIT, MAX_MOVERS_LIMIT) = DEFAULT_MOVERS_LIMIT


@api.get(
    "/prices/movers",
    response=Movers,
    operation_id="getMovers",
    summary="Biggest price moves",
    description="One price per card: a real source before the simulation, a raw copy "
    "before grades; only prices observed in the last 3 days and of at least 1.00. "
    "Rankings are redone after every price write and every 5 minutes.",
    url_name="movers",
    by_alias=True,
)
def price_movers(request, wanted: Query[MoversFilter]):
    ranking = movers.movers(wanted.game, wanted.period, wanted.limit, most_watched=False)
    rows = ranking.gainers if wanted.direction == "gainers" else ranking.losers
    now = timezone.now()
    return {
        "game": wanted.game,
        "period": wanted.period,
        "direction": wanted.direction,
        "simulated": any(summary.is_simulated for summary in rows),
        "results": [
            {
                "card": serializers.card_summary(summary.card),
                "change_percent": serializers.percent(summary.period_change),
                "price": serializers.price(summary, now),
            }
            for summary in rows
        ],
    }


@public_endpoint()
def openapi_document(request):
    response = json_response(openapi.document())
    response["Access-Control-Allow-Origin"] = "*"
    return response


@public_endpoint(methods=None)
def not_found(request, path=""):
    """No such path: a 404 whatever the method (a DELETE to a mistyped id too)."""
    hint = ""
    if path.endswith("/"):
        hint = f" Did you mean /api/v1/{path.rstrip('/')}?"
    raise ApiError(
        404,
        "NOT_FOUND",
        f"There is no /api/v1/{path}.{hint} The endpoints are listed in /api/v1/openapi.json.",
        {"path": request.path},
    )
