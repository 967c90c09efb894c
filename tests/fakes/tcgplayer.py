"""A fake TCGplayer (legacy API): the bearer token and market prices per product.

    with FakeTcgplayer() as tcgplayer:
        tcgplayer.add_prices(42382, tcgplayer_row("Holofoil", market=350.0))
        client = TcgplayerClient(tcgplayer_config(tcgplayer.url), http)

POST /token checks the public and private key in the form; GET
/pricing/product/{id,id,...} needs a bearer token it issued and answers like TCGplayer:
{"success", "errors", "results"} with one row per printing, HTTP 404 with
success=false when none of the ids is known. Pricing paths carry the ids, so they are
routed (and scripted) under PRICING_ROUTE; pricing_calls() lists the real requests.
"""

from tests.fakes.server import FakeServer, Reply

TOKEN_PATH = "/token"
PRICING_PREFIX = "/pricing/product/"
PRICING_ROUTE = PRICING_PREFIX + "{productIds}"
PUBLIC_KEY = "A1B2C3D4-0000-4000-8000-PUBLIC000001"
PRIVATE_KEY = "F9E8D7C6-0000-4000-8000-PRIVATE00001"

UNAUTHORIZED = Reply(
    status=401, json={"message": "Authorization has been denied for this request."}
)


def tcgplayer_row(
    printing: str,
    *,
    market: object = None,
    low: object = None,
    mid: object = None,
    high: object = None,
    direct_low: object = None,
) -> dict:
    return {
        "lowPrice": low,
        "midPrice": mid,
        "highPrice": high,
        "marketPrice": market,
        "directLowPrice": direct_low,
        "subTypeName": printing,
    }


class FakeTcgplayer(FakeServer):
    def __init__(self, public_key: str = PUBLIC_KEY, private_key: str = PRIVATE_KEY):
        super().__init__()
        self.public_key = public_key
        self.private_key = private_key
        self.token_lifetime = 1209599
        self.tokens_minted = 0
        self.prices: dict[int, list[dict]] = {}
        self._valid_tokens: set[str] = set()
        self.route("POST", TOKEN_PATH, self._token)
        self.route("GET", PRICING_ROUTE, self._pricing)

    def add_prices(self, product_id: int, *rows: dict) -> None:
        self.prices[product_id] = [{"productId": product_id, **row} for row in rows]

    def pricing_calls(self):
        return [request for request in self.requests if request.path.startswith(PRICING_PREFIX)]

    def revoke_tokens(self) -> None:
        self._valid_tokens.clear()

    def _answer(self, request):
        # Route and script every pricing path under one key; the request keeps its path.
        key_path = PRICING_ROUTE if request.path.startswith(PRICING_PREFIX) else request.path
        key = (request.method, key_path)
        with self._lock:
            self.requests.append(request)
            queued = self.scripts.get(key)
            if queued:
                return queued.pop(0)
        handler = self.routes.get(key)
        if handler is None:
            return Reply(status=404, json={"message": f"No route {request.method} {request.path}"})
        return handler(request)

    def _token(self, request) -> Reply:
        form = request.form
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != self.public_key
            or form.get("client_secret") != self.private_key
        ):
            return Reply(status=400, json={"error": "invalid_client"})
        self.tokens_minted += 1
        token = f"bK9x-TCG-bearer-token-{self.tokens_minted:04d}-Zq8VwW3nR5tY"
        self._valid_tokens.add(token)
        return Reply(
            json={
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self.token_lifetime,
                "userName": self.public_key,
                ".issued": "Sun, 01 Nov 2026 12:00:00 GMT",
                ".expires": "Sun, 15 Nov 2026 11:59:59 GMT",
            }
        )

    def _pricing(self, request) -> Reply:
        authorization = request.headers.get("authorization", "")
        if authorization.removeprefix("bearer ") not in self._valid_tokens:
            return UNAUTHORIZED
        raw_ids = request.path.removeprefix(PRICING_PREFIX).split(",")
        if not all(raw.isdigit() for raw in raw_ids):
            return Reply(
                status=400,
                json={"success": False, "errors": ["Invalid productIds."], "results": []},
            )
        results = [row for raw in raw_ids for row in self.prices.get(int(raw), [])]
        if not results:
            return Reply(
                status=404,
                json={"success": False, "errors": ["No products were found."], "results": []},
            )
        return Reply(json={"success": True, "errors": [], "results": results})
