"""The read-only JSON API under /api/v1/. Thin views: parameters are read strictly
(api.params), rows come from api.queries and the apps' own modules, and api.http does
the key, the rate limit and the error format. The OpenAPI document (api.openapi)
describes every response here."""

from django.utils import timezone

from api import openapi, params, queries, serializers
from api.http import (
    ApiError,
    api_endpoint,
    bad_parameter,
    cacheable,
    json_response,
    public_endpoint,
)
from cards.models import Game
from cards.search import SORTS, parse_query
from prices import history, keys, movers
from prices.models import Source
from tcgtracker.lib.text import parse_id

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
DEFAULT_MOVERS_LIMIT = 10
MAX_MOVERS_LIMIT = 50
DIRECTIONS = ("gainers", "losers")


def _page(total: int, limit: int, offset: int, results: list) -> dict:
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "has_more": offset + len(results) < total,
        "results": results,
    }


def _card_id(raw: str) -> int:
    card_id = parse_id(raw)
    if card_id is None:
        raise _card_not_found(raw)
    return card_id


def _card_not_found(card_id) -> ApiError:
    return ApiError(404, "CARD_NOT_FOUND", f"No card has id {card_id}.", {"id": str(card_id)})


@api_endpoint
def cards(request):
    raw_query = params.text(request, "q")
    parsed = parse_query(raw_query)
    if parsed.errors:
        raise bad_parameter("q", " ".join(parsed.errors))
    game = params.choice(request, "game", Game.values)
    set_code = params.text(request, "set")
    rarity = params.text(request, "rarity")
    sort = params.choice(request, "sort", list(SORTS))
    sort = sort or ("relevance" if parsed.text_terms else "number")
    limit, offset = params.page(request, default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT)

    page = queries.search_cards(
        parsed,
        game=game,
        set_code=set_code,
        rarity=rarity,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    now = timezone.now()
    prices = queries.prices_by_card(card.pk for card in page.rows) if page.rows else {}
    results = [
        {
            **serializers.card_summary(card),
            "prices": [serializers.price(summary, now) for summary in prices.get(card.pk, [])],
        }
        for card in page.rows
    ]
    return json_response(_page(page.total, limit, offset, results))


@api_endpoint
def card_detail(request, card_id):
    card_id = _card_id(card_id)
    card = queries.card_with_set(card_id)
    if card is None:
        raise _card_not_found(card_id)
    prices = history.current_prices(card)
    return json_response(serializers.card_detail(card, prices, timezone.now()))


@api_endpoint
def card_history(request, card_id):
    card_id = _card_id(card_id)
    period = params.choice(request, "period", list(history.PERIODS), history.DEFAULT_PERIOD)
    source = params.choice(request, "source", Source.values)
    price_key = params.text(request, "key", max_length=32)
    if price_key and not keys.is_valid(price_key):
        raise bad_parameter(
            "key",
            f"Unknown price key {price_key!r}: use ungraded, a condition (NM, LP, MP, HP, DMG) "
            "or a grade such as PSA 10.",
        )
    if not queries.card_exists(card_id):
        raise _card_not_found(card_id)
    now = timezone.now()
    spec = history.PERIODS[period]
    series = queries.history_series(card_id, period, source=source, price_key=price_key, now=now)
    data = {
        "card_id": card_id,
        "period": period,
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
                "points": [
                    {"t": serializers.moment(moment), "market": serializers.money(market)}
                    for moment, market in line.points
                ],
            }
            for line in series
        ],
    }
    # from and to move with the clock; the ETag follows the data.
    unchanged_unless = {key: value for key, value in data.items() if key not in ("from", "to")}
    return cacheable(request, json_response(data), etag_of=unchanged_unless)


@api_endpoint
def sets(request):
    game = params.choice(request, "game", Game.values)
    limit, offset = params.page(request, default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT)
    page = queries.sets(game, limit, offset)
    results = [
        {
            **serializers.set_facts(card_set),
            "card_count": card_set.card_count,
            "url": serializers.site_url(card_set.get_absolute_url()),
        }
        for card_set in page.rows
    ]
    return cacheable(request, json_response(_page(page.total, limit, offset, results)))


@api_endpoint
def price_movers(request):
    game = params.choice(request, "game", Game.values, Game.POKEMON)
    period = params.choice(request, "period", list(movers.PERIODS), movers.DEFAULT_PERIOD)
    direction = params.choice(request, "direction", DIRECTIONS, "gainers")
    limit = params.integer(
        request, "limit", default=DEFAULT_MOVERS_LIMIT, minimum=1, maximum=MAX_MOVERS_LIMIT
    )
    ranking = movers.movers(game, period, limit, most_watched=False)
    rows = ranking.gainers if direction == "gainers" else ranking.losers
    now = timezone.now()
    results = [
        {
            "card": serializers.card_summary(summary.card),
            "change_percent": serializers.percent(summary.period_change),
            "price": serializers.price(summary, now),
        }
        for summary in rows
    ]
    data = {
        "game": game,
        "period": period,
        "direction": direction,
        "simulated": any(summary.is_simulated for summary in rows),
        "results": results,
    }
    return json_response(data)


@public_endpoint
def openapi_document(request):
    response = json_response(openapi.document())
    response["Access-Control-Allow-Origin"] = "*"
    return response


@public_endpoint
def not_found(request, path=""):
    hint = ""
    if path.endswith("/"):
        hint = f" Did you mean /api/v1/{path.rstrip('/')}?"
    raise ApiError(
        404,
        "NOT_FOUND",
        f"There is no /api/v1/{path}.{hint} The endpoints are listed in /api/v1/openapi.json.",
        {"path": request.path},
    )
