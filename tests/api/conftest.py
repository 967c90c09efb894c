import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from api.models import ApiKey
from tests.factories import make_user


@pytest.fixture
def user():
    return make_user()


@pytest.fixture
def token(user):
    _, secret = ApiKey.issue(user, "Test script")
    return secret


@pytest.fixture
def count_queries():
    """How many queries a request makes once the key's last use is recorded (that write
    happens at most once a minute, so the first request of a test makes one more)."""

    def count(client, url, params=None, *, results=None, fresh=False):
        client.get(url, params)
        if fresh:
            cache.clear()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, params)
        assert response.status_code == 200
        if results is not None:
            assert len(response.json()["results"]) == results
        return len(queries)

    return count


@pytest.fixture
def api(token):
    """A client that sends a valid API key with every request."""
    return Client(headers={"X-API-Key": token})


def pytest_collection_modifyitems(items):
    """schemathesis makes one test per API operation, named `test_x[GET /cards]`, but on
    pytest 9 their node ids leave the operation out and all come out the same — and
    pytest-xdist hands tests to its workers by node id. Put the operation back."""
    for item in items:
        label = getattr(item, "operation_label", None)
        if label and hasattr(item, "_id") and not item.nodeid.endswith("]"):
            item._id = item.parent.id.child(item.originalname).with_params(label)
