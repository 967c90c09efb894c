"""The one small interface every price source implements.

A source is one module in prices/sources/ with one PriceClient subclass, registered in
CLIENTS below. A client says which cards it can price, fetches a batch of them and
returns observations; the sync (prices.sync) picks due cards, respects the rate budget
through the HTTP layer, writes through prices.writing and records the job run.

HTTP plumbing shared by all clients and the catalog sync (timeouts, retries, rate
budget, circuit breaker, secret scrubbing, the error classes and SourceConfig) lives below
every app, in tcgtracker.lib.http.
"""

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from tcgtracker.lib.http import SourceConfig

if TYPE_CHECKING:
    from cards.models import Card
    from prices.writing import Observation


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
