import pytest


@pytest.fixture(autouse=True)
def _clear_cache():
    """Every test starts with an empty cache, also on a shared Redis."""
    from django.core.cache import cache

    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")  # django-redis: only this worker's prefix, not FLUSHDB
    else:
        cache.clear()
    yield


@pytest.fixture
def fake_server():
    """A real HTTP server on 127.0.0.1 with no routes yet (tests/fakes/server.py)."""
    from tests.fakes.server import FakeServer

    with FakeServer() as server:
        yield server
