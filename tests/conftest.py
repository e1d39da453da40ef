import os

import pytest
from django.db import connection


def pytest_collection_modifyitems(config, items):
    """Skip PostgreSQL-only tests on SQLite, except in CI, where they fail."""
    if connection.vendor == "postgresql" or os.environ.get("CI") == "true":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
