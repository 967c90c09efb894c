"""schemathesis against the key holder's own operations — alerts, collections, items,
watchlist — with a key that may write and a world of real objects of its owner, so the
generated requests create, change and delete real rows, and every answer (201, 204, the
forms' 422s, 404s) is checked against the document."""

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from alerts.models import Alert
from api.models import ApiKey
from tcgtracker.wsgi import application
from tests.api.test_openapi import wsgi_requests  # noqa: F401  (a fixture)
from tests.factories import make_card, make_collection, make_item, make_user, record_prices

pytestmark = pytest.mark.django_db

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application).include(
    path_regex="^/(alerts|collections|watchlist)"
)


@pytest.fixture
def owned():
    """A user with a card they watch, an alert on it and a collection holding it."""
    user = make_user()
    card = make_card(name="Charizard ex")
    record_prices(card, {"ungraded": 30000, "NM": 31000, "PSA 10": 150000})
    collection = make_collection(user, name="Binder")
    item = make_item(collection, card, purchase_price=20000)
    alert = Alert.objects.create(user=user, card=card, kind=Alert.Kind.BELOW, threshold=25000)
    user.watches.create(card=card)
    _, secret = ApiKey.issue(user, "schemathesis", ApiKey.Scope.WRITE)
    return {
        "secret": secret,
        "card_id": card.pk,
        "alert_id": alert.pk,
        "collection_id": collection.pk,
        "item_id": item.pk,
    }


@schema.parametrize()
@hypothesis_settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_write_answer_matches_the_document(case, owned, settings, wsgi_requests):  # noqa: F811
    settings.API_RATE_LIMIT_PER_HOUR = 1_000_000
    # Odd generated ids become the owner's real ones, so the answers of real objects are
    # checked as well as the 404s.
    for name, value in (case.path_parameters or {}).items():
        if name in owned and isinstance(value, int) and value % 2:
            case.path_parameters[name] = owned[name]
    body = case.body if isinstance(case.body, dict) else {}
    if isinstance(body.get("card_id"), int) and body["card_id"] % 2:
        body["card_id"] = owned["card_id"]
    case.call_and_validate(
        headers={"X-API-Key": owned["secret"]},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        ],
    )
