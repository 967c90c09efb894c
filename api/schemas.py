"""What the API answers and what it accepts, declared once as pydantic models: django-ninja
checks every response against them (but the card search's, written as JSON directly for
speed and checked by the suite) and writes the OpenAPI document from them, and the suite
runs schemathesis against that document.

Answers are closed (extra="forbid", so additionalProperties: false): a field added to a
serializer without being declared here fails every request that returns it, and the
suite's check of the card search.

Requests (the *In and *Changes models) declare the JSON a client sends: its fields, their
JSON types, defaults and the choices offered. The rules and messages are the web forms'
(alerts.forms, collections_app.forms): api.form_input runs them on the values. A number
may come as a JSON number or as a string, as a form posts it.
"""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from alerts.forms import AlertForm
from alerts.models import Alert as AlertModel
from cards.models import Card as CardModel
from cards.models import Game
from collections_app.forms import ItemForm
from collections_app.models import Collection as CollectionModel
from collections_app.models import CollectionItem
from prices import history, keys, movers, stats
from prices.models import Source


def _enum(values, description: str | None = None, **extra):
    """Choices offered, for the document; the form that reads the field checks them."""
    return Field(json_schema_extra={"enum": list(values)}, description=description, **extra)


Money = Annotated[
    str,
    Field(
        pattern=r"^[0-9]+\.[0-9]{2}$",
        description="An amount in the row's currency as a decimal string, e.g. 12.34.",
        examples=["12.34"],
    ),
]
SignedMoney = Annotated[
    str,
    Field(
        pattern=r"^-?[0-9]+\.[0-9]{2}$",
        description="An amount that may be negative (a loss), e.g. -3.50.",
        examples=["-3.50"],
    ),
]
Timestamp = Annotated[
    str,
    Field(
        pattern=r"Z$",
        json_schema_extra={"format": "date-time"},
        description="ISO 8601 in UTC, to the second, e.g. 2025-03-01T14:05:00Z.",
    ),
]
Day = Annotated[str, Field(json_schema_extra={"format": "date"}, examples=["2025-03-01"])]
Percent = Annotated[float | None, Field(description="Percent; null without enough history.")]
GameName = Annotated[str, _enum(Game.values)]
SourceName = Annotated[str, _enum(Source.values)]
Count = Annotated[int, Field(ge=0)]


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- The catalog ---------------------------------------------------------------------------


class CardSetRef(Answer):
    code: str
    name: str


class CardSet(Answer):
    code: str
    game: GameName
    name: str
    series: str
    release_date: Day | None
    printed_total: int | None
    total: int | None
    language: str


class ChangePercent(Answer):
    day: Percent = Field(alias="1d")
    week: Percent = Field(alias="7d")
    month: Percent = Field(alias="30d")


class Price(Answer):
    """The current price from one source for one condition or grade."""

    source: SourceName
    source_name: str
    key: str = Field(description="Condition or grade: ungraded, NM, LP, MP, HP, DMG, PSA 10 ...")
    key_label: str
    currency: str = Field(description="ISO 4217, e.g. USD.")
    market: Money
    low: Money | None
    high: Money | None
    sample_size: Count | None = Field(
        description="Sales or listings behind this figure (this condition or grade); null "
        "where the source counts its sales per card (PriceCharting)."
    )
    product_sales_volume: Count | None = Field(
        description="PriceCharting's sales volume: the sales of the whole card, all grades "
        "together, the same on each of its prices. Null for other sources."
    )
    observed_at: Timestamp
    age_seconds: Count
    stale: bool = Field(description="Observed more than 7 days ago.")
    change_percent: ChangePercent
    all_time_high: Money | None
    all_time_low: Money | None
    qualifier: str | None = Field(description='"asks" for eBay, "simulated" for demo.')
    simulated: bool = Field(
        description="True for the demo source: a simulated market, not real prices."
    )


class Card(Answer):
    id: int
    name: str
    game: GameName
    set: CardSetRef
    number: str
    display_number: str = Field(description="As printed: 4/102, OP01-001.")
    variant: str
    rarity: str
    kind: Annotated[str, _enum(CardModel.Kind.values)]
    image_url: str | None
    url: str = Field(description="The card's page on this site.")


class CardListItem(Card):
    headline: Price | None = Field(
        description="The price lists show and sort by: ungraded or Near Mint (else the best "
        "raw condition) from the most trusted source that has one, the demo simulation "
        "last; null without a raw price."
    )
    prices: list[Price]


class Page(Answer):
    total: Count
    limit: int = Field(ge=1)
    offset: Count
    has_more: bool


class CardList(Page):
    results: list[CardListItem]


class ExternalIds(Answer):
    pricecharting: str | None
    tcgplayer: str | None
    justtcg: str | None


class CardDetail(Card):
    set: CardSet
    variant_label: str
    category: str
    color: str
    printed_in: str
    external_ids: ExternalIds
    simulated: bool = Field(description="Whether any of the prices is simulated.")
    prices: list[Price]


class HistoryPoint(Answer):
    t: Timestamp
    market: Money = Field(description="The observation, or the day's or week's average.")
    low: Money | None = Field(
        description="The low of the range the source reported; for an average, the "
        "lowest low of its observations. Null where the source gave none."
    )
    high: Money | None = Field(description="Likewise the high.")
    sample_size: Count | None = Field(
        description="Sales or listings behind this figure; for an average, the largest "
        "of its observations' samples (overlapping windows do not add up). Null where "
        "unknown and for PriceCharting, which counts its sales per card."
    )
    product_sales_volume: Count | None = Field(
        description="PriceCharting's sales volume of the whole card, all grades together; "
        "null for other sources."
    )


class HistorySeries(Answer):
    source: SourceName
    source_name: str
    key: str
    key_label: str
    currency: str
    simulated: bool
    points: list[HistoryPoint]


class PriceHistory(Answer):
    card_id: int
    period: Annotated[str, _enum(history.PERIODS)]
    bucket: str | None = Field(
        description="null: every observation; day or week: one average per day or week "
        "(3m, 1y, all)."
    )
    start: Timestamp | None = Field(alias="from")
    to: Timestamp
    series: list[HistorySeries]


class StatsTrend(Answer):
    direction: Annotated[str, _enum(stats.DIRECTIONS)] = Field(
        description=f"rising or falling: the 95% interval of the slope excludes 0 and the "
        f"slope is at least {stats.FLAT_PERCENT_PER_MONTH:g}% a month either way; flat "
        f"otherwise; too little data under {stats.MIN_TREND_DAYS} days with a price or "
        f"when they span less than {stats.MIN_TREND_SPAN_DAYS} days."
    )
    percent_per_month: float | None = Field(
        description="The least-squares slope of the log of the daily prices, as % per "
        "month (30.44 days); null with too little data."
    )
    interval_low: float | None = Field(description="The slope's 95% confidence interval.")
    interval_high: float | None


class LineStats(Answer):
    source: SourceName
    source_name: str
    key: str
    key_label: str
    currency: str
    simulated: bool = Field(description="The demo source: simulated, not market data.")
    observations: Count = Field(description="Price observations in the period.")
    days: Count = Field(description="UTC days with a price.")
    first_day: Day
    last_day: Day
    average: Money = Field(description="Mean of the daily prices (a day: its observations' mean).")
    median: Money = Field(description="Median of the daily prices.")
    low: Money = Field(description="Lowest price observed.")
    high: Money = Field(description="Highest price observed.")
    volatility_percent: float | None = Field(
        description="Standard deviation of daily log returns, annualised (×√365), in "
        f"percent: how far a year typically moves the price. Null under "
        f"{stats.MIN_RETURNS} returns."
    )
    trend: StatsTrend


class CardStats(Answer):
    card_id: int
    period: Annotated[str, _enum(history.PERIODS)]
    start: Timestamp | None = Field(alias="from")
    to: Timestamp
    simulated: bool = Field(description="Whether any line is simulated.")
    lines: list[LineStats]


class SetListItem(CardSet):
    card_count: Count
    url: str


class SetList(Page):
    results: list[SetListItem]


class Mover(Answer):
    card: Card
    # Null when the change is gone since the ranking was cached.
    change_percent: Percent
    price: Price


class Movers(Answer):
    game: GameName
    period: Annotated[str, _enum(movers.PERIODS)]
    direction: Annotated[str, _enum(["gainers", "losers"])]
    simulated: bool
    results: list[Mover]


# --- The key holder's own: alerts, collections, items, watchlist -----------------------------

AlertKind = Annotated[str, _enum(AlertModel.Kind.values)]
AlertWindow = Annotated[str, _enum(AlertModel.Window.values)]
COOLDOWN_HOURS = [hours for hours, _ in AlertForm.base_fields["cooldown_hours"].choices]
BASIS_KEYS = [value for value, _ in CollectionModel.BASIS_KEY_CHOICES]
CONDITIONS = [*CollectionItem.Condition.values, ""]
GRADERS = ["", *CollectionItem.Grader.values]
GRADE_LABELS = CollectionItem.GradeLabel.values
GRADES = [value for value, _ in ItemForm.base_fields["grade"].choices if value]
# An amount as a form takes it: a JSON number or a decimal string.
Amount = str | int | float
Whole = int | str


class Alert(Answer):
    id: int
    card: Card
    price_key: str
    key_label: str
    source: SourceName | None = Field(description="null: the best price of any source.")
    kind: AlertKind
    threshold: Money | None = Field(description="US dollars, for below and above.")
    percent: Money | None = Field(description="Percent, for move.")
    window: AlertWindow
    cooldown_hours: int
    active: bool = Field(description="false: paused.")
    armed: bool = Field(
        description="false after firing, until the price crosses back or the cooldown passes."
    )
    description: str = Field(examples=["falls to or below $400.00"])
    summary: str = Field(
        description="What the alert does, in words.",
        examples=[
            "Email + Discord (Trades) when PSA 10 at PriceCharting falls to $400.00 or below"
        ],
    )
    channels: list[str] = Field(
        description='Where it goes when it fires: "email" and the ids of your webhook '
        "channels (managed on the site's Channels page).",
        examples=[["email", "12"]],
    )
    last_triggered_at: Timestamp | None
    last_triggered_price: Money | None
    created_at: Timestamp
    updated_at: Timestamp
    url: str


class AlertList(Page):
    results: list[Alert]


class AlertIn(BaseModel):
    """A new alert: the alert form's fields, for the card `card_id`."""

    model_config = ConfigDict(extra="forbid")

    card_id: int = Field(ge=1)
    price_key: str = Field(
        keys.UNGRADED,
        json_schema_extra={"maxLength": 32},
        description="A condition or grade the card is priced at: ungraded, NM, PSA 10 ...",
    )
    source: str | None = _enum(
        ["", *Source.values], "Blank or null: the best price of any source.", default=""
    )
    kind: str = _enum(AlertModel.Kind.values, default=AlertModel.Kind.BELOW)
    threshold: Amount | None = Field(
        None, description='US dollars, for below and above: 400, "400.00".', examples=["400.00"]
    )
    percent: Amount | None = Field(None, description="Percent, for move: 10.", examples=[10])
    window: str = _enum(AlertModel.Window.values, default=AlertModel.Window.DAY)
    cooldown_hours: Whole = _enum(
        COOLDOWN_HOURS,
        "At most one alert (email and channels) every so many hours while the price stays "
        "past the line.",
        default=AlertForm.base_fields["cooldown_hours"].initial,
    )
    channels: list[Annotated[str, Field(max_length=20)]] | None = Field(
        None,
        max_length=20,
        description='"email" and ids of your webhook channels. Left out: a new alert goes '
        "to email and every channel that is on; a change keeps the alert's channels.",
        examples=[["email", "12"]],
    )


class AlertChanges(BaseModel):
    """What to change; fields left out stay as they are. `active`: false pauses the
    alert, true resumes it (within the limit on active alerts)."""

    model_config = ConfigDict(extra="forbid")

    price_key: str | None = Field(None, json_schema_extra={"maxLength": 32})
    source: str | None = _enum(["", *Source.values], default=None)
    kind: str | None = _enum(AlertModel.Kind.values, default=None)
    threshold: Amount | None = None
    percent: Amount | None = None
    window: str | None = _enum(AlertModel.Window.values, default=None)
    cooldown_hours: Whole | None = _enum(COOLDOWN_HOURS, default=None)
    channels: list[Annotated[str, Field(max_length=20)]] | None = Field(
        None,
        max_length=20,
        description='"email" and ids of your webhook channels. Left out: a new alert goes '
        "to email and every channel that is on; a change keeps the alert's channels.",
        examples=[["email", "12"]],
    )
    active: bool | None = None


class Collection(Answer):
    id: int
    name: str
    basis_source: SourceName | None = Field(description="null: the best available source.")
    basis_key: Annotated[str, _enum([key for key in BASIS_KEYS if key])] | None = Field(
        description="null: each item's own condition or grade."
    )
    shared: bool = Field(description="Whether a public read-only link is on.")
    items: Count = Field(description="Lots (rows) in the collection.")
    copies: Count
    currency: str
    value: Money = Field(description="The priced items' value.")
    cost: Money = Field(description="What was paid for the items with a purchase price.")
    gain: SignedMoney | None = Field(
        description="Value minus cost of the items with both; null when none has."
    )
    unpriced_items: Count
    simulated: bool = Field(description="Whether a simulated price values any item.")
    created_at: Timestamp
    updated_at: Timestamp
    url: str


class CollectionList(Page):
    results: list[Collection]


class CollectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(json_schema_extra={"maxLength": 100})
    basis_source: str | None = _enum(
        ["", *Source.values], "Blank or null: the best available source.", default=""
    )
    basis_key: str | None = _enum(
        BASIS_KEYS, "Blank or null: each item's own condition or grade.", default=""
    )


class CollectionChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, json_schema_extra={"maxLength": 100})
    basis_source: str | None = _enum(["", *Source.values], default=None)
    basis_key: str | None = _enum(BASIS_KEYS, default=None)


class Item(Answer):
    id: int
    collection_id: int
    card: Card
    quantity: int = Field(ge=1)
    condition: str | None = Field(description="null for a graded copy.")
    grader: str | None
    grade: str | None = Field(examples=["9.5"])
    grade_label: str | None
    price_key: str
    key_label: str
    purchase_price: Money | None = Field(description="US dollars paid per copy.")
    purchase_date: Day | None
    acquired_from: str
    notes: str
    value: Money | None = Field(description="The lot's value; null while unpriced.")
    gain: SignedMoney | None
    created_at: Timestamp
    updated_at: Timestamp


class ItemList(Page):
    results: list[Item]


class ItemFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: Whole = Field(1, description="Copies in this lot.", examples=[1])
    condition: str | None = _enum(
        CONDITIONS,
        "A raw copy's condition; blank or null for a graded copy (a grade given wins).",
        default=ItemForm.base_fields["condition"].initial,
    )
    grader: str | None = _enum(GRADERS, default="")
    grade: Amount | None = _enum(GRADES, default=None)
    grade_label: str | None = _enum(GRADE_LABELS, default="")
    purchase_price: Amount | None = Field(
        None, description="US dollars paid per copy.", examples=["12.50"]
    )
    purchase_date: str | None = Field(None, json_schema_extra={"format": "date"})
    acquired_from: str | None = Field("", json_schema_extra={"maxLength": 200})
    notes: str | None = ""


class ItemIn(ItemFields):
    card_id: int = Field(ge=1)


class ItemChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: Whole | None = None
    condition: str | None = _enum(CONDITIONS, default=None)
    grader: str | None = _enum(GRADERS, default=None)
    grade: Amount | None = _enum(GRADES, default=None)
    grade_label: str | None = _enum(GRADE_LABELS, default=None)
    purchase_price: Amount | None = None
    purchase_date: str | None = Field(None, json_schema_extra={"format": "date"})
    acquired_from: str | None = Field(None, json_schema_extra={"maxLength": 200})
    notes: str | None = None


class Watch(Answer):
    card: Card
    created_at: Timestamp


class WatchList(Page):
    results: list[Watch]


class WatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    card_id: int = Field(ge=1)
