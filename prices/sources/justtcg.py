"""JustTCG: raw prices per condition (NM, LP, MP, HP, DMG) for each printing of a card.

Cards are looked up in batches by TCGplayer product id (or JustTCG's own id) with one
POST /cards. A product lists every printing and condition; the printing matching the
catalog card's variant is chosen as for TCGplayer (tcgplayer.choose_printing).

Throttling. The per-minute pace is the shared rate budget of the HTTP layer
(config.rate_limit). Every answer also carries `_metadata` with the plan's per-minute
limit (apiRateLimit) and its remaining daily and monthly requests. When the plan allows
fewer calls a minute than the configured budget, this client spaces its own calls
60/apiRateLimit seconds apart (sleeping in between). When a remaining count reaches
zero, the answer in hand is still used, and the next fetch — in this process or any
other, through the shared cache — raises QuotaExhausted until the count resets: the day
at midnight UTC, the month on its first day (JustTCG does not say when it resets;
both are guesses on the safe side of a reset that may come earlier).
"""

import datetime as dt
import logging
import time
from collections import defaultdict

from django.core.cache import cache
from django.utils import timezone

from cards.models import Card
from prices import keys
from prices.sources.base import FetchResult, PriceClient
from prices.sources.tcgplayer import choose_printing, dollars_to_cents
from prices.writing import Observation
from tcgtracker.lib.http import PermanentError, QuotaExhausted, SourceConfig, SourceHttp

logger = logging.getLogger(__name__)

CARDS_PATH = "/cards"
CURRENCY = "USD"
ENGLISH = {"", "english", "en"}

CONDITIONS = {
    "near mint": "NM",
    "nm": "NM",
    "lightly played": "LP",
    "lp": "LP",
    "moderately played": "MP",
    "mp": "MP",
    "heavily played": "HP",
    "hp": "HP",
    "damaged": "DMG",
    "dmg": "DMG",
    "sealed": keys.UNGRADED,
    "s": keys.UNGRADED,
}
QUOTA_CACHE_KEY = "price-source-quota:justtcg"


class JustTcgClient(PriceClient):
    name = "justtcg"
    label = "JustTCG"

    def __init__(self, config: SourceConfig | None = None, http: SourceHttp | None = None):
        super().__init__(config)
        self.http = http or SourceHttp(self.config)
        self.sleep = time.sleep
        self._call_interval = 0.0  # seconds between calls the plan asks for, if stricter
        self._last_call = 0.0

    def can_price(self, card: Card) -> bool:
        return bool(card.tcgplayer_id.strip() or card.justtcg_id.strip())

    def fetch(self, cards: list[Card]) -> FetchResult:
        result = FetchResult()
        # One lookup per product: printings of a card (base, Reverse Holo) share one.
        lookups: dict[tuple[str, str], list[Card]] = defaultdict(list)
        for card in cards:
            if card.tcgplayer_id.strip():
                lookups[("tcgplayerId", card.tcgplayer_id.strip())].append(card)
            elif card.justtcg_id.strip():
                lookups[("cardId", card.justtcg_id.strip())].append(card)
        wanted = list(lookups)
        batch_size = max(1, self.config.batch_size)
        for start in range(0, len(wanted), batch_size):
            # One call answers the whole batch, so a failed call fails the batch: the
            # sync records it once and decides whether to go on.
            self._raise_if_quota_spent()
            chunk = wanted[start : start + batch_size]
            found = self._post_cards(chunk)
            for lookup in chunk:
                product = found.get(lookup)
                for card in lookups[lookup]:
                    result.checked.add(card.pk)
                    if product is None:
                        result.errors.append(f"card {card.pk}: JustTCG has no card {lookup[1]}")
                    else:
                        self._read_card(card, product, result)
        return result

    def _read_card(self, card: Card, product: dict, result: FetchResult) -> None:
        variants = [
            variant
            for variant in product.get("variants") or []
            if isinstance(variant, dict)
            and str(variant.get("language") or "").strip().lower() in ENGLISH
        ]
        if not variants:
            return
        printing = choose_printing(card.variant, {str(v.get("printing") or "") for v in variants})
        if printing is None:
            printings = sorted({str(v.get("printing")) for v in variants})
            result.errors.append(
                f"card {card.pk}: no JustTCG printing for variant {card.variant or 'base'!r} "
                f"among {printings}"
            )
            return
        seen = set()
        for variant in variants:
            if variant.get("printing") != printing:
                continue
            price_key = CONDITIONS.get(str(variant.get("condition") or "").strip().lower())
            if price_key is None or price_key in seen:
                continue
            try:
                cents = dollars_to_cents(variant.get("price"))
            except ValueError as exc:
                result.rejected.append(f"card {card.pk}: JustTCG {printing} {price_key}: {exc}")
                continue
            if cents is None:
                continue
            seen.add(price_key)
            result.observations.append(
                Observation(
                    card_id=card.pk,
                    source=self.name,
                    price_key=price_key,
                    market=cents,
                    currency=CURRENCY,
                    observed_at=_observed_at(variant.get("lastUpdated")),
                )
            )

    def _post_cards(self, lookups: list[tuple[str, str]]) -> dict[tuple[str, str], dict]:
        """The cards JustTCG knows among the lookups, by lookup."""
        self._pace()
        headers = {"x-api-key": self.config.credentials["api_key"]}
        body = [{field: value} for field, value in lookups]
        data = self.http.post_json(CARDS_PATH, json=body, headers=headers)
        self._last_call = time.monotonic()
        if not isinstance(data, dict):
            raise PermanentError("JustTCG sent an answer that is not an object")
        if data.get("error"):
            raise PermanentError(f"JustTCG: {data['error']} ({data.get('code') or 'no code'})")
        self._read_metadata(data.get("_metadata"))
        found: dict[tuple[str, str], dict] = {}
        for product in data.get("data") or []:
            if not isinstance(product, dict):
                continue
            if product.get("tcgplayerId") is not None:
                found.setdefault(("tcgplayerId", str(product["tcgplayerId"])), product)
            if product.get("id") is not None:
                found.setdefault(("cardId", str(product["id"])), product)
        return found

    # Throttling

    def _pace(self) -> None:
        if self._call_interval and self._last_call:
            wait = self._last_call + self._call_interval - time.monotonic()
            if wait > 0:
                self.sleep(wait)

    def _read_metadata(self, metadata: object) -> None:
        if not isinstance(metadata, dict):
            return
        per_minute = _count(metadata.get("apiRateLimit"))
        configured = self.config.rate_limit
        if per_minute and configured:
            calls, seconds = configured
            ours = 60 * calls / seconds
            self._call_interval = 60 / per_minute if per_minute < ours else 0.0
        now = timezone.now()
        until = None
        if _count(metadata.get("apiRequestsRemaining")) == 0:
            until = _first_of_next_month(now)
        elif _count(metadata.get("apiDailyRequestsRemaining")) == 0:
            until = _next_midnight_utc(now)
        if until is not None:
            logger.warning("JustTCG quota spent until %s", until.isoformat())
            cache.set(QUOTA_CACHE_KEY, until, timeout=int((until - now).total_seconds()) + 60)

    def _raise_if_quota_spent(self) -> None:
        until = cache.get(QUOTA_CACHE_KEY)
        if until and until > timezone.now():
            raise QuotaExhausted(
                f"JustTCG's request quota is spent until {until:%Y-%m-%d %H:%M} UTC",
                retry_at=until,
            )


def _count(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _observed_at(last_updated: object) -> dt.datetime:
    """JustTCG's lastUpdated (epoch seconds); the current hour when it has none."""
    seconds = _count(last_updated)
    if seconds and seconds > 0:
        try:
            return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            pass
    return timezone.now().replace(minute=0, second=0, microsecond=0)


def _next_midnight_utc(now: dt.datetime) -> dt.datetime:
    return dt.datetime.combine(now.astimezone(dt.UTC).date(), dt.time(0), tzinfo=dt.UTC) + (
        dt.timedelta(days=1)
    )


def _first_of_next_month(now: dt.datetime) -> dt.datetime:
    now = now.astimezone(dt.UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return dt.datetime(year, month, 1, tzinfo=dt.UTC)
