"""A fake eBay: the OAuth client-credentials token and the Browse item search.

    with FakeEbay() as ebay:
        ebay.listings = [ebay_item("Charizard 4/102 Base Set", "350.00")]
        client = EbayClient(ebay_config(ebay.url), http)

Tokens are checked like eBay checks them: Basic client id and secret on the token
endpoint, a Bearer token it issued (and has not revoked) on the search. Search answers
page through `listings` by limit and offset with eBay's envelope (href, total, limit,
offset, next, itemSummaries). Failure modes: script() eBay's error replies below, or
revoke_tokens() to make the next search a 401.
"""

import base64
import itertools
from urllib.parse import urlencode

from tests.fakes.server import FakeServer, Reply

TOKEN_PATH = "/identity/v1/oauth2/token"
SEARCH_PATH = "/buy/browse/v1/item_summary/search"
SCOPE = "https://api.ebay.com/oauth/api_scope"
CLIENT_ID = "TestApp-tcgtrack-PRD-0123456789-abcdef01"
CLIENT_SECRET = "PRD-0123456789ab-cdef-0123-4567-89ab"

TOO_MANY_REQUESTS = Reply(
    status=429,
    json={
        "errors": [
            {
                "errorId": 2001,
                "domain": "ACCESS",
                "category": "REQUEST",
                "message": "Too many requests.",
                "longMessage": "The request limit has been reached for the resource.",
            }
        ]
    },
)
INVALID_TOKEN = Reply(
    status=401,
    json={
        "errors": [
            {
                "errorId": 1001,
                "domain": "OAuth",
                "category": "REQUEST",
                "message": "Invalid access token",
                "longMessage": "Invalid access token. Check the value of the Authorization "
                "HTTP request header.",
            }
        ]
    },
)
INTERNAL_ERROR = Reply(
    status=500,
    json={
        "errors": [
            {
                "errorId": 12000,
                "domain": "API_BROWSE",
                "category": "APPLICATION",
                "message": "There was a problem with an eBay internal system or process.",
            }
        ]
    },
)
_item_ids = itertools.count(110000000001)


def ebay_item(
    title: str,
    price: str | None,
    *,
    condition_id: str = "4000",
    currency: str = "USD",
    item_id: str | None = None,
) -> dict:
    """One itemSummaries entry as the Browse API sends it (prices as strings)."""
    number = next(_item_ids)
    graded = condition_id == "2750"
    item = {
        "itemId": item_id or f"v1|{number}|0",
        "title": title,
        "leafCategoryIds": ["183454"],
        "categories": [{"categoryId": "183454", "categoryName": "CCG Individual Cards"}],
        "image": {"imageUrl": f"https://i.ebayimg.com/images/g/{number}/s-l225.jpg"},
        "price": {"value": price, "currency": currency},
        "itemHref": f"https://api.ebay.com/buy/browse/v1/item/v1%7C{number}%7C0",
        "seller": {"username": "cardshop", "feedbackPercentage": "99.8", "feedbackScore": 5120},
        "condition": "Graded" if graded else "Ungraded",
        "conditionId": condition_id,
        "shippingOptions": [
            {"shippingCostType": "FIXED", "shippingCost": {"value": "4.99", "currency": "USD"}}
        ],
        "buyingOptions": ["FIXED_PRICE"],
        "itemWebUrl": f"https://www.ebay.com/itm/{number}",
        "itemLocation": {"postalCode": "941**", "country": "US"},
        "adultOnly": False,
        "itemCreationDate": "2026-10-01T12:00:00.000Z",
    }
    if price is None:
        del item["price"]
    return item


class FakeEbay(FakeServer):
    def __init__(self, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET):
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_lifetime = 7200
        self.listings: list[dict] = []
        self.tokens_minted = 0
        self._valid_tokens: set[str] = set()
        self.route("POST", TOKEN_PATH, self._token)
        self.route("GET", SEARCH_PATH, self._search)

    @property
    def searches(self):
        return self.calls("GET", SEARCH_PATH)

    def revoke_tokens(self) -> None:
        """Tokens issued so far stop working, as when eBay expires them early."""
        self._valid_tokens.clear()

    def _token(self, request) -> Reply:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        form = request.form
        if request.headers.get("authorization") != f"Basic {expected}":
            return Reply(
                status=401,
                json={
                    "error": "invalid_client",
                    "error_description": "client authentication failed",
                },
            )
        if form.get("grant_type") != "client_credentials" or form.get("scope") != SCOPE:
            return Reply(
                status=400,
                json={"error": "invalid_scope", "error_description": "The scope is invalid"},
            )
        self.tokens_minted += 1
        token = f"v^1.1#i^1#r^0#p^1#I^3#f^0#t^H4sIAAAAAAAAAOVYb2wT{self.tokens_minted:04d}"
        self._valid_tokens.add(token)
        return Reply(
            json={
                "access_token": token,
                "expires_in": self.token_lifetime,
                "token_type": "Application Access Token",
            }
        )

    def _search(self, request) -> Reply:
        authorization = request.headers.get("authorization", "")
        if authorization.removeprefix("Bearer ") not in self._valid_tokens:
            return INVALID_TOKEN
        if request.headers.get("x-ebay-c-marketplace-id") != "EBAY_US":
            return Reply(
                status=400,
                json={"errors": [{"errorId": 12001, "message": "Invalid marketplace."}]},
            )
        limit = int(request.param("limit", "50"))
        offset = int(request.param("offset", "0"))
        page = self.listings[offset : offset + limit]
        query = {key: values[0] for key, values in request.query.items()}
        body = {
            "href": f"{self.url}{SEARCH_PATH}?{urlencode(query)}",
            "total": len(self.listings),
            "limit": limit,
            "offset": offset,
        }
        if offset + limit < len(self.listings):
            following = {**query, "offset": str(offset + limit)}
            body["next"] = f"{self.url}{SEARCH_PATH}?{urlencode(following)}"
        if page:
            body["itemSummaries"] = page  # eBay leaves the key out when nothing matched
        return Reply(json=body)
