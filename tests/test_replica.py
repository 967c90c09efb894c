"""The read replica: GET pages read the catalog and prices there, everything else (writes,
sessions and users, reads after a write or inside a transaction, jobs) uses the primary.

The "replica" alias of the test settings is the test database itself (a test mirror), so
the two connections see the same rows; which connection ran each query tells them apart.
Transactional tests: a replica is another connection and never sees an open transaction.
"""

from contextlib import contextmanager

import pytest
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cards.models import Card
from collections_app.models import Watch
from prices.models import PriceSummary
from tcgtracker.lib import replica
from tests.factories import make_card, make_user

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


@pytest.fixture(scope="module", autouse=True)
def _close_the_replicas_connections():
    """The test database is dropped at the end: the mirror's connections (its pool, on
    PostgreSQL) must not hold it open. Django closes the primary's own."""
    yield
    connections["replica"].close()
    if hasattr(connections["replica"], "close_pool"):
        connections["replica"].close_pool()


@pytest.fixture(autouse=True)
def _router(settings):
    settings.DATABASE_ROUTERS = ["tcgtracker.lib.replica.ReplicaRouter"]


@contextmanager
def captured():
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as secondary,
    ):
        yield primary, secondary


def tables(queries) -> str:
    return " ".join(query["sql"] for query in queries)


def test_a_card_page_reads_the_catalog_and_prices_from_the_replica(client):
    card = make_card()
    with captured() as (primary, secondary):
        response = client.get(card.get_absolute_url())
    assert response.status_code == 200
    assert "cards_card" in tables(secondary)
    assert "prices_pricesummary" in tables(secondary)
    assert "prices_pricesummary" not in tables(primary)
    # The page counts its view on the card: a write, to the primary, after which this
    # request reads cards from the primary too.
    assert all(query["sql"].startswith("SELECT") for query in secondary)
    assert 'UPDATE "cards_card"' in tables(primary)


def test_a_signed_in_visitors_session_and_user_are_read_from_the_primary(client):
    card = make_card()
    client.force_login(make_user())
    with captured() as (primary, secondary):
        assert client.get(card.get_absolute_url()).status_code == 200
    assert "django_session" in tables(primary) and "auth_user" in tables(primary)
    assert "django_session" not in tables(secondary) and "auth_user" not in tables(secondary)
    assert "cards_card" in tables(secondary)


def test_a_post_writes_and_reads_on_the_primary_only(client):
    card = make_card()
    user = make_user()
    client.force_login(user)
    with captured() as (primary, secondary):
        response = client.post(reverse("collections:toggle_watch", args=[card.pk]))
    assert response.status_code == 302
    assert len(secondary) == 0
    assert "INSERT" in tables(primary)
    assert Watch.objects.filter(user=user, card=card).exists()


def test_reads_after_a_write_and_inside_a_transaction_use_the_primary():
    router = replica.ReplicaRouter()
    middleware = replica.replica_reads(lambda request: decisions(router))

    class Get:
        method, path = "GET", "/cards/"

    class Admin:
        method, path = "GET", "/admin/cards/card/"

    assert middleware(Get()) == ("replica", "default", "default", "replica")
    assert middleware(Admin()) == ("default", "default", "default", "default")
    # Outside a request (jobs, commands, the worker): the primary.
    assert router.db_for_read(Card) == "default"


def decisions(router) -> tuple[str, str, str, str]:
    first = router.db_for_read(Card)
    with transaction.atomic():
        inside = router.db_for_read(Card)
    router.db_for_write(Card)
    after_write = router.db_for_read(Card)
    other_app = router.db_for_read(PriceSummary)
    return first, inside, after_write, other_app


def test_the_replica_is_never_migrated():
    router = replica.ReplicaRouter()
    assert router.allow_migrate("default", "cards") is True
    assert router.allow_migrate("replica", "cards") is False
