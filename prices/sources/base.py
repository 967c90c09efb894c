"""The one small interface every price source implements.

A source is one module in prices/sources/ with one PriceClient subclass, registered in
CLIENTS below. A client says which cards it can price, fetches a batch of them and
returns observations; the sync (prices.sync) picks due cards, respects the rate budget
through the HTTP layer, writes through prices.writing and records the job run.

HTTP plumbing shared by all clients (timeouts, retries, rate budget, circuit breaker,
secret scrubbing) lives in prices.sources.http.
"""

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from django.conf import settings

if TYPE_CHECKING:
    from cards.models import Card
    from prices.writing import Observation


class SourceError(Exception):
    """A source could not answer. Messages never contain credentials."""

    transient = False


class TransientError(SourceError):
    """Worth trying again later: timeouts, connection errors, 5xx, 429."""

    transient = True


class PermanentError(SourceError):
    """Trying again will not help: 4xx other than 429, malformed or error bodies."""


class QuotaExhausted(TransientError):
    """The source's quota is spent (eBay's daily 429): no calls until retry_at."""

    def __init__(self, message: str, retry_at=None):
        super().__init__(message)
        self.retry_at = retry_at


class CircuitOpen(TransientError):
    """Too many recent failures: the source is not called until its cool-down ends."""


class BudgetExhausted(TransientError):
    """The shared rate budget has no calls left in this window."""


class NotConfigured(PermanentError):
    """Credentials are missing: the source cannot be used."""


@dataclass(frozen=True)
class SourceConfig:
    name: str
    enabled: bool
    base_url: str
    credentials: dict[str, str]
    rate_limit: tuple[int, int] | None  # (calls, per seconds), shared by every process
    batch_size: int
    options: dict

    @classmethod
    def from_settings(cls, name: str) -> "SourceConfig":
        raw = dict(settings.PRICE_SOURCES[name])
        return cls(
            name=name,
            enabled=raw.pop("enabled"),
            base_url=raw.pop("base_url").rstrip("/"),
            credentials=raw.pop("credentials"),
            rate_limit=raw.pop("rate_limit"),
            batch_size=raw.pop("batch_size"),
            options=raw,
        )

    @property
    def has_credentials(self) -> bool:
        return all(self.credentials.values())

    @property
    def secrets(self) -> list[str]:
        return [value for value in self.credentials.values() if value]


@dataclass
class FetchResult:
    """What one batch fetch produced.

    observations: prices to write. rejected: values the source sent that are not prices
    (negative, garbage), as messages — counted and never written. errors: cards the
    source could not answer for, as messages. checked: ids of cards the source answered
    for (with or without prices), so the sync does not ask again before they are due.
    """

    observations: list["Observation"] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    checked: set[int] = field(default_factory=set)


class PriceClient(ABC):
    """Base class of the source clients."""

    name: ClassVar[str]
    label: ClassVar[str]
    # Shown beside every figure from this source (eBay: "asks", demo: "simulated").
    qualifier: ClassVar[str] = ""

    def __init__(self, config: SourceConfig | None = None):
        self.config = config or SourceConfig.from_settings(self.name)

    @property
    def is_configured(self) -> bool:
        return self.config.has_credentials

    @property
    def is_usable(self) -> bool:
        return self.config.enabled and self.is_configured

    def can_price(self, card: "Card") -> bool:
        """Whether this source can look this card up at all (ids, kind)."""
        return True

    @abstractmethod
    def fetch(self, cards: list["Card"]) -> FetchResult:
        """Prices for a batch of cards (at most config.batch_size)."""


CLIENTS = {
    "pricecharting": "prices.sources.pricecharting.PriceChartingClient",
    "ebay": "prices.sources.ebay.EbayClient",
    "justtcg": "prices.sources.justtcg.JustTcgClient",
    "tcgplayer": "prices.sources.tcgplayer.TcgplayerClient",
    "demo": "prices.sources.demo.DemoClient",
}


def get_client(name: str, config: SourceConfig | None = None) -> PriceClient:
    module_name, class_name = CLIENTS[name].rsplit(".", 1)
    client_class = getattr(importlib.import_module(module_name), class_name)
    return client_class(config)
