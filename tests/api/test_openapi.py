"""The OpenAPI document is served without a key and matches every response: schemathesis
generates requests from it and checks each answer against it."""

import datetime as dt

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tcgtracker.wsgi import application
from tests.factories import make_card, make_set, record_prices

pytestmark = pytest.mark.django_db


def test_the_document_is_served_without_a_key():
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert document["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    assert set(document["paths"]) == {
        "/cards",
        "/cards/{card_id}",
        "/cards/{card_id}/prices/history",
        "/cards/{card_id}/stats",
        "/sets",
        "/prices/movers",
        "/openapi.json",
        "/alerts",
        "/alerts/{alert_id}",
        "/collections",
        "/collections/{collection_id}",
        "/collections/{collection_id}/items",
        "/collections/{collection_id}/items/{item_id}",
        "/watchlist",
        "/watchlist/{card_id}",
    }


def test_every_operation_documents_its_errors_and_rate_limit_headers():
    document = Client().get("/api/v1/openapi.json").json()
    for path, item in document["paths"].items():
        if path == "/openapi.json":
            continue
        responses = item["get"]["responses"]
        assert {"200", "400", "401", "404", "429"} <= set(responses), path
        assert set(responses["200"]["headers"]) >= {
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
        }


def test_the_document_states_the_configured_rate_limit(settings):
    settings.API_RATE_LIMIT_PER_HOUR = 250
    document = Client().get("/api/v1/openapi.json").json()
    assert "250 requests per key per hour" in document["info"]["description"]


@pytest.fixture
def catalog():
    """A card with real and simulated prices and some history, so that generated requests
    meet cards, prices, series and movers, not only empty lists."""
    card_set = make_set(code="sv3pt5", name="151")
    card = make_card(card_set=card_set, name="Charizard ex", rarity="Special Illustration Rare")
    now = timezone.now().replace(microsecond=0)
    for days_ago, cents in [(20, 30000), (6, 33000), (1, 34000)]:
        record_prices(
            card, {"ungraded": cents, "PSA 10": cents * 5}, observed_at=now - dt.timedelta(days_ago)
        )
    record_prices(card, {"ungraded": 31500}, source="demo")
    make_card(card_set=card_set, name="Bulbasaur")
    return card


@pytest.fixture
def wsgi_requests():
    """Let schemathesis call the WSGI application directly without losing the test's
    database connection: the request signals close it otherwise (on PostgreSQL, inside
    the test's transaction). Django's test client disconnects them the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# Loaded at collection (the document needs no database), so each operation is its own
# test item and pytest-xdist spreads them over its workers. (The lazy from_fixture loader
# relies on a pytest internal that pytest 9 no longer has.)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@schema.parametrize()
@hypothesis_settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_response_matches_the_document(case, catalog, token, settings, wsgi_requests):
    settings.API_RATE_LIMIT_PER_HOUR = 1_000_000
    # Half of the generated card ids become a real card's, so both the 200 and the 404
    # answers of the card endpoints are checked.
    card_id = (case.path_parameters or {}).get("card_id")
    if isinstance(card_id, int) and card_id % 2:
        case.path_parameters["card_id"] = catalog.pk
    case.call_and_validate(
        headers={"X-API-Key": token},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        ],
    )
