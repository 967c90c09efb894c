"""The OpenAPI 3 document served at /api/v1/openapi.json.

Built from the same lists the endpoints check against (games, sources, sorts, periods),
so the two cannot drift apart; the suite runs schemathesis against it to prove that every
response matches. Objects are closed (additionalProperties: false): a field added to a
response without being documented here fails that test.
"""

from django.conf import settings

from api import params, ratelimit
from cards.models import Card, Game
from cards.search import SORTS
from prices import history, movers
from prices.models import Source
from tcgtracker.lib.text import CONTROL_CHARACTER_RANGE

NO_CONTROL_CHARACTERS = f"^[^{CONTROL_CHARACTER_RANGE}]*$"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


def _object(properties: dict, description: str = "") -> dict:
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": list(properties),
        "properties": properties,
    }
    if description:
        schema["description"] = description
    return schema


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
MONEY = {
    "type": "string",
    "pattern": r"^[0-9]+\.[0-9]{2}$",
    "description": "An amount in the row's currency as a decimal string, e.g. 12.34.",
    "example": "12.34",
}
TIMESTAMP = {
    "type": "string",
    "format": "date-time",
    "pattern": r"Z$",
    "description": "ISO 8601 in UTC, to the second, e.g. 2025-03-01T14:05:00Z.",
}
PERCENT = _nullable({"type": "number", "description": "Percent; null without enough history."})


def _schemas() -> dict:
    card_set_ref = _object({"code": STRING, "name": STRING})
    card_set = _object(
        {
            "code": STRING,
            "game": {"type": "string", "enum": Game.values},
            "name": STRING,
            "series": STRING,
            "release_date": _nullable({"type": "string", "format": "date"}),
            "printed_total": _nullable(INTEGER),
            "total": _nullable(INTEGER),
            "language": STRING,
        }
    )
    card_properties = {
        "id": INTEGER,
        "name": STRING,
        "game": {"type": "string", "enum": Game.values},
        "set": _ref("CardSetRef"),
        "number": STRING,
        "display_number": {"type": "string", "description": "As printed: 4/102, OP01-001."},
        "variant": STRING,
        "rarity": STRING,
        "kind": {"type": "string", "enum": Card.Kind.values},
        "image_url": _nullable(STRING),
        "url": {"type": "string", "description": "The card's page on this site."},
    }
    price = _object(
        {
            "source": {"type": "string", "enum": Source.values},
            "source_name": STRING,
            "key": {
                "type": "string",
                "description": "Condition or grade: ungraded, NM, LP, MP, HP, DMG, PSA 10 ...",
            },
            "key_label": STRING,
            "currency": {"type": "string", "description": "ISO 4217, e.g. USD."},
            "market": MONEY,
            "low": _nullable(MONEY),
            "high": _nullable(MONEY),
            "sample_size": _nullable(
                {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Sales or listings behind this figure (this condition or "
                    "grade); null where the source counts its sales per card (PriceCharting).",
                }
            ),
            "product_sales_volume": _nullable(
                {
                    "type": "integer",
                    "minimum": 0,
                    "description": "PriceCharting's sales volume: the sales of the whole card, "
                    "all grades together, the same on each of its prices. Null for other "
                    "sources.",
                }
            ),
            "observed_at": TIMESTAMP,
            "age_seconds": {"type": "integer", "minimum": 0},
            "stale": {"type": "boolean", "description": "Observed more than 7 days ago."},
            "change_percent": _object({"1d": PERCENT, "7d": PERCENT, "30d": PERCENT}),
            "all_time_high": _nullable(MONEY),
            "all_time_low": _nullable(MONEY),
            "qualifier": _nullable(
                {"type": "string", "description": '"asks" for eBay, "simulated" for demo.'}
            ),
            "simulated": {
                "type": "boolean",
                "description": "True for the demo source: a simulated market, not real prices.",
            },
        },
        "The current price from one source for one condition or grade.",
    )
    page = {
        "total": {"type": "integer", "minimum": 0},
        "limit": {"type": "integer", "minimum": 1},
        "offset": {"type": "integer", "minimum": 0},
        "has_more": BOOLEAN,
    }
    return {
        "Error": _object(
            {
                "error": _object(
                    {
                        "code": {
                            "type": "string",
                            "description": "Stable and machine-readable, e.g. CARD_NOT_FOUND.",
                        },
                        "message": {"type": "string", "description": "For people."},
                        "details": {
                            "type": "object",
                            "description": 'More about the error, e.g. {"parameter": "limit"}.',
                        },
                    }
                )
            }
        ),
        "CardSetRef": card_set_ref,
        "CardSet": card_set,
        "Price": price,
        "Card": _object(card_properties),
        "CardListItem": _object(
            {**card_properties, "prices": {"type": "array", "items": _ref("Price")}}
        ),
        "CardList": _object({**page, "results": {"type": "array", "items": _ref("CardListItem")}}),
        "CardDetail": _object(
            {
                **card_properties,
                "set": _ref("CardSet"),
                "variant_label": STRING,
                "category": STRING,
                "color": STRING,
                "printed_in": STRING,
                "external_ids": _object(
                    {
                        "pricecharting": _nullable(STRING),
                        "tcgplayer": _nullable(STRING),
                        "justtcg": _nullable(STRING),
                    }
                ),
                "simulated": {
                    "type": "boolean",
                    "description": "Whether any of the prices is simulated.",
                },
                "prices": {"type": "array", "items": _ref("Price")},
            }
        ),
        "PriceHistory": _object(
            {
                "card_id": INTEGER,
                "period": {"type": "string", "enum": list(history.PERIODS)},
                "bucket": _nullable(
                    {
                        "type": "string",
                        "description": "null: every observation; day or week: one average "
                        "per day or week (3m, 1y, all).",
                    }
                ),
                "from": _nullable(TIMESTAMP),
                "to": TIMESTAMP,
                "series": {
                    "type": "array",
                    "items": _object(
                        {
                            "source": {"type": "string", "enum": Source.values},
                            "source_name": STRING,
                            "key": STRING,
                            "key_label": STRING,
                            "currency": STRING,
                            "simulated": BOOLEAN,
                            "points": {
                                "type": "array",
                                "items": _object({"t": TIMESTAMP, "market": MONEY}),
                            },
                        }
                    ),
                },
            }
        ),
        "SetListItem": _object(
            {
                **card_set["properties"],
                "card_count": {"type": "integer", "minimum": 0},
                "url": STRING,
            }
        ),
        "SetList": _object({**page, "results": {"type": "array", "items": _ref("SetListItem")}}),
        "Movers": _object(
            {
                "game": {"type": "string", "enum": Game.values},
                "period": {"type": "string", "enum": list(movers.PERIODS)},
                "direction": {"type": "string", "enum": ["gainers", "losers"]},
                "simulated": BOOLEAN,
                "results": {
                    "type": "array",
                    "items": _object(
                        {
                            "card": _ref("Card"),
                            # Null when the change is gone since the ranking was cached.
                            "change_percent": PERCENT,
                            "price": _ref("Price"),
                        }
                    ),
                },
            }
        ),
    }


RATE_HEADERS = {
    "X-RateLimit-Limit": {"$ref": "#/components/headers/X-RateLimit-Limit"},
    "X-RateLimit-Remaining": {"$ref": "#/components/headers/X-RateLimit-Remaining"},
    "X-RateLimit-Reset": {"$ref": "#/components/headers/X-RateLimit-Reset"},
}


def _headers() -> dict:
    def header(description: str, schema: dict, required: bool = True) -> dict:
        return {"description": description, "required": required, "schema": schema}

    return {
        "X-RateLimit-Limit": header("Requests allowed per key per hour.", INTEGER),
        "X-RateLimit-Remaining": header("Requests left in this hour's window.", INTEGER),
        "X-RateLimit-Reset": header(
            "When the window ends and the count starts again: epoch seconds (UTC).", INTEGER
        ),
        "Retry-After": header("Seconds until the window ends.", INTEGER),
        "ETag": header("Send it back in If-None-Match to get a 304 while unchanged.", STRING),
        "Cache-Control": header("private, max-age=60", STRING),
        "WWW-Authenticate": header('ApiKey header="X-API-Key"', STRING),
    }


def _json(schema_name: str) -> dict:
    return {"application/json": {"schema": _ref(schema_name)}}


def _error_response(description: str, headers: dict | None = None) -> dict:
    response = {"description": description, "content": _json("Error")}
    if headers:
        response["headers"] = headers
    return response


def _responses() -> dict:
    return {
        "BadRequest": _error_response(
            "A parameter is not valid; details.parameter names it (code INVALID_PARAMETER).",
            RATE_HEADERS,
        ),
        "Unauthorized": _error_response(
            "No key, an unknown key or a revoked key (API_KEY_MISSING, API_KEY_INVALID, "
            "API_KEY_REVOKED).",
            {"WWW-Authenticate": {"$ref": "#/components/headers/WWW-Authenticate"}},
        ),
        "NotFound": _error_response(
            "No such card (CARD_NOT_FOUND) or no such route (NOT_FOUND).",
            # Only a request that got past the key check was counted.
            {name: {**_headers()[name], "required": False} for name in RATE_HEADERS},
        ),
        "TooManyRequests": _error_response(
            "This key has used this hour's requests (RATE_LIMITED).",
            {**RATE_HEADERS, "Retry-After": {"$ref": "#/components/headers/Retry-After"}},
        ),
        "NotModified": {
            "description": "The ETag sent in If-None-Match still matches.",
            "headers": {
                **RATE_HEADERS,
                "ETag": {"$ref": "#/components/headers/ETag"},
                "Cache-Control": {"$ref": "#/components/headers/Cache-Control"},
            },
        },
    }


def _parameter(name: str, schema: dict, description: str, where: str = "query") -> dict:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema,
    }


def _text(max_length: int = params.MAX_TEXT_LENGTH) -> dict:
    return {"type": "string", "maxLength": max_length, "pattern": NO_CONTROL_CHARACTERS}


def _limit(default: int, maximum: int) -> dict:
    return _parameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": maximum, "default": default},
        f"How many results (at most {maximum}).",
    )


OFFSET = _parameter(
    "offset",
    {"type": "integer", "minimum": 0, "maximum": params.MAX_OFFSET, "default": 0},
    "How many results to skip.",
)
CARD_ID = _parameter("card_id", {"type": "integer", "minimum": 1}, "The card's id.", where="path")
GAME = _parameter("game", {"type": "string", "enum": Game.values}, "Only this game.")
IF_NONE_MATCH = _parameter(
    "If-None-Match", STRING, "An ETag from an earlier response.", where="header"
)
IF_NONE_MATCH["required"] = False


def _operation(
    operation_id: str,
    summary: str,
    parameters: list,
    schema_name: str,
    *,
    description: str = "",
    cacheable: bool = False,
) -> dict:
    ok_headers = dict(RATE_HEADERS)
    responses = {}
    if cacheable:
        ok_headers["ETag"] = {"$ref": "#/components/headers/ETag"}
        ok_headers["Cache-Control"] = {"$ref": "#/components/headers/Cache-Control"}
        parameters = [*parameters, IF_NONE_MATCH]
    responses["200"] = {"description": "OK", "headers": ok_headers, "content": _json(schema_name)}
    if cacheable:
        responses["304"] = {"$ref": "#/components/responses/NotModified"}
    for status, name in [
        ("400", "BadRequest"),
        ("401", "Unauthorized"),
        ("404", "NotFound"),
        ("429", "TooManyRequests"),
    ]:
        responses[status] = {"$ref": f"#/components/responses/{name}"}
    operation = {
        "operationId": operation_id,
        "summary": summary,
        "parameters": parameters,
        "responses": responses,
    }
    if description:
        operation["description"] = description
    return {"get": operation}


DESCRIPTION = """\
Read-only JSON for cards, current prices, price history, sets and movers.

**Authentication**: send your key in the `X-API-Key` header. Create keys on your
account's *API keys* page; a key is shown once, when it is created.

**Rate limit**: {limit} requests per key per hour, in fixed one-hour windows. Every
response after the key check carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
`X-RateLimit-Reset` (the window's end, in epoch seconds). Past the limit: 429 with
`Retry-After` in seconds.

**Formats**: money is a decimal string in the row's currency (`"12.34"` with
`"currency": "USD"`); times are ISO 8601 in UTC ending in `Z`. Prices from the `demo`
source are a simulated market and say `"simulated": true`.

**Errors**: always `{{"error": {{"code": ..., "message": ..., "details": {{...}}}}}}`:
400 INVALID_PARAMETER (details.parameter names it), 401 API_KEY_MISSING /
API_KEY_INVALID / API_KEY_REVOKED, 404 CARD_NOT_FOUND / NOT_FOUND, 405
METHOD_NOT_ALLOWED (the API answers only GET and HEAD), 429 RATE_LIMITED.
"""


def document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": f"{settings.SITE_NAME} API",
            "version": "1.0.0",
            "description": DESCRIPTION.format(limit=ratelimit.limit_per_hour()),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"ApiKey": []}],
        "paths": {
            "/cards": _operation(
                "searchCards",
                "Search cards",
                [
                    _parameter(
                        "q",
                        _text(),
                        "Words and filters, as on the search page: charizard set:sv3pt5 "
                        'rarity:"special illustration rare" number:199 game:pokemon kind:single',
                    ),
                    GAME,
                    _parameter("set", _text(), "Only this set (its code, e.g. sv3pt5)."),
                    _parameter("rarity", _text(), "Only this rarity (any case)."),
                    _parameter(
                        "sort",
                        {"type": "string", "enum": list(SORTS)},
                        "Default: relevance when q has words, else set and number.",
                    ),
                    _limit(20, 100),
                    OFFSET,
                ],
                "CardList",
                description="Each result carries the card's current prices.",
            ),
            "/cards/{card_id}": _operation(
                "getCard",
                "A card's facts and current prices",
                [CARD_ID],
                "CardDetail",
                description="One price per source and condition or grade, with when it was "
                "observed, whether it is stale, its sample size (or PriceCharting's sales "
                "volume for the whole card), range, 1/7/30-day change and all-time high and "
                "low.",
            ),
            "/cards/{card_id}/prices/history": _operation(
                "getCardPriceHistory",
                "A card's price history",
                [
                    CARD_ID,
                    _parameter(
                        "period",
                        {
                            "type": "string",
                            "enum": list(history.PERIODS),
                            "default": history.DEFAULT_PERIOD,
                        },
                        "7d and 30d: every observation; 3m and 1y: daily averages; "
                        "all: weekly averages.",
                    ),
                    _parameter(
                        "source", {"type": "string", "enum": Source.values}, "Only this source."
                    ),
                    _parameter(
                        "key",
                        _text(32),
                        "Only this condition or grade, e.g. ungraded, NM or PSA 10.",
                    ),
                ],
                "PriceHistory",
                cacheable=True,
            ),
            "/sets": _operation(
                "listSets",
                "Sets",
                [GAME, _limit(20, 100), OFFSET],
                "SetList",
                description="Newest first within each game.",
                cacheable=True,
            ),
            "/prices/movers": _operation(
                "getMovers",
                "Biggest price moves",
                [
                    _parameter(
                        "game",
                        {"type": "string", "enum": Game.values, "default": Game.POKEMON},
                        "The game.",
                    ),
                    _parameter(
                        "period",
                        {
                            "type": "string",
                            "enum": list(movers.PERIODS),
                            "default": movers.DEFAULT_PERIOD,
                        },
                        "Change over 24 hours, 7 days or 30 days.",
                    ),
                    _parameter(
                        "direction",
                        {"type": "string", "enum": ["gainers", "losers"], "default": "gainers"},
                        "Largest rises or largest falls first.",
                    ),
                    _limit(10, 50),
                ],
                "Movers",
                description="One price per card: a real source before the simulation, a raw "
                "copy before grades; only prices observed in the last 3 days and of at least "
                "1.00. Rankings are recomputed every few minutes.",
            ),
            "/openapi.json": {
                "get": {
                    "operationId": "getOpenApiDocument",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3 document.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
            "schemas": _schemas(),
            "headers": _headers(),
            "responses": _responses(),
        },
    }
