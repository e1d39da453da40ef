import pytest

from connectors.thg.client import token_cache


@pytest.fixture(autouse=True)
def fresh_tokens():
    token_cache.clear()
    yield
    token_cache.clear()
