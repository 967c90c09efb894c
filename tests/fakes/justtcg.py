"""A fake JustTCG: the batch card lookup, POST /cards, with its plan metadata.

    with FakeJustTcg() as justtcg:
        justtcg.add_card("42382", [justtcg_variant("Near Mint", "Holofoil", 350.0)])
        client = JustTcgClient(justtcg_config(justtcg.url), http)

Requests need the x-api-key header. Each answered call counts against the plan like
JustTCG's does, and every answer carries `_metadata` (apiPlan, apiRequestLimit,
apiDailyLimit, apiRateLimit, apiRequestsUsed/Remaining, apiDailyRequestsUsed/Remaining).
A lookup batch larger than the plan allows is a 403; a spent plan is a 429. Errors come
as {"error": "...", "code": "..."}.
"""

from tests.fakes.server import FakeServer, Reply

CARDS_PATH = "/cards"
API_KEY = "tcg_0123456789abcdef0123456789abcdef"
UPDATED = 1793534400  # 2026-11-01 12:00 UTC


def justtcg_variant(
    condition: str,
    printing: str,
    price: object,
    *,
    language: str | None = "English",
    last_updated: int | None = UPDATED,
) -> dict:
    slug = f"{condition}-{printing}".lower().replace(" ", "-")
    return {
        "id": f"pokemon-base-set-charizard-holo-rare_{slug}",
        "condition": condition,
        "printing": printing,
        "language": language,
        "price": price,
        "lastUpdated": last_updated,
        "priceChange24hr": 0.5,
        "priceChange7d": -1.2,
        "priceChange30d": 4.8,
    }


class FakeJustTcg(FakeServer):
    def __init__(self, api_key: str = API_KEY):
        super().__init__()
        self.api_key = api_key
        self.cards: dict[str, dict] = {}
        self.plan = {
            "apiPlan": "Free Tier",
            "apiRequestLimit": 1000,
            "apiDailyLimit": 100,
            "apiRateLimit": 10,
            "apiRequestsUsed": 0,
            "apiDailyRequestsUsed": 0,
        }
        self.batch_limit = 20
        self.route("POST", CARDS_PATH, self._cards)

    @property
    def lookups(self):
        return self.calls("POST", CARDS_PATH)

    def add_card(self, tcgplayer_id: str, variants: list[dict], **fields) -> dict:
        number = len(self.cards) + 1
        card = {
            "id": fields.pop("id", f"pokemon-test-set-card-{number}"),
            "name": f"Card {number}",
            "game": "Pokemon",
            "set": "test-set-pokemon",
            "set_name": "Test Set",
            "number": str(number),
            "rarity": "Holo Rare",
            "tcgplayerId": tcgplayer_id,
            "variants": variants,
            **fields,
        }
        self.cards[tcgplayer_id] = card
        return card

    def spend(self, *, daily_left: int | None = None, monthly_left: int | None = None) -> None:
        """Use up the plan until only this many calls remain."""
        if daily_left is not None:
            self.plan["apiDailyRequestsUsed"] = self.plan["apiDailyLimit"] - daily_left
        if monthly_left is not None:
            self.plan["apiRequestsUsed"] = self.plan["apiRequestLimit"] - monthly_left

    def metadata(self) -> dict:
        plan = self.plan
        return {
            **plan,
            "apiRequestsRemaining": plan["apiRequestLimit"] - plan["apiRequestsUsed"],
            "apiDailyRequestsRemaining": plan["apiDailyLimit"] - plan["apiDailyRequestsUsed"],
        }

    def _cards(self, request) -> Reply:
        if request.headers.get("x-api-key") != self.api_key:
            return Reply(status=401, json={"error": "Invalid API key", "code": "UNAUTHORIZED"})
        metadata = self.metadata()
        if metadata["apiRequestsRemaining"] <= 0 or metadata["apiDailyRequestsRemaining"] <= 0:
            return Reply(
                status=429,
                json={"error": "API request limit exceeded", "code": "RATE_LIMIT_EXCEEDED"},
            )
        try:
            lookups = request.json
        except ValueError:
            lookups = None
        if not isinstance(lookups, list) or not all(isinstance(item, dict) for item in lookups):
            return Reply(
                status=400,
                json={"error": "Body must be an array of lookups", "code": "INVALID_REQUEST"},
            )
        if len(lookups) > self.batch_limit:
            return Reply(
                status=403,
                json={
                    "error": f"Batch size exceeds your plan's limit of {self.batch_limit}",
                    "code": "PLAN_LIMIT_EXCEEDED",
                },
            )
        self.plan["apiRequestsUsed"] += 1
        self.plan["apiDailyRequestsUsed"] += 1
        found = []
        for lookup in lookups:
            card = self.cards.get(str(lookup.get("tcgplayerId")))
            if card is None and lookup.get("cardId"):
                card = next((c for c in self.cards.values() if c["id"] == lookup["cardId"]), None)
            if card is not None:
                found.append(card)
        return Reply(
            json={
                "data": found,
                "meta": {"total": len(found), "limit": len(lookups), "offset": 0, "hasMore": False},
                "_metadata": self.metadata(),
            }
        )
