import pytest


@pytest.fixture(autouse=True)
def _clear_cache():
    """Every test starts with an empty cache; on a shared Redis only this process's keys
    (its KEY_PREFIX) are cleared. What the process keeps beside the cache goes too."""
    from django.core.cache import cache

    from pages.card_cache import forget_local_pages
    from pages.popularity import forget_visitors

    cache.clear()
    forget_local_pages()
    forget_visitors()
    yield


@pytest.fixture
def fake_server():
    """A real HTTP server on 127.0.0.1 with no routes yet (tests/fakes/server.py)."""
    from tests.fakes.server import FakeServer

    with FakeServer() as server:
        yield server
