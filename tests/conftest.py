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
