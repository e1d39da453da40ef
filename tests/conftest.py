import pytest
from django.db import connection


def pytest_collection_modifyitems(config, items):
    """Skip the PostgreSQL-only tests (locking, concurrency) on SQLite.

    CI runs the suite once on PostgreSQL, where they run, and `.ci/run` fails
    when PostgreSQL cannot be reached, so they are never skipped there.
    """
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def fresh_caches():
    """Start each test with no cached THG token and an empty Django cache
    (the inbound-auth throttle counts failures there)."""
    from django.core.cache import cache

    from connectors.thg.client import token_cache

    token_cache.clear()
    cache.clear()
    yield
    token_cache.clear()
