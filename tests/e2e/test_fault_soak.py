"""A small fault soak in CI; ``python -m bench.soak`` runs the large one."""

import pytest
from django.db import connection

from bench.soak import run_soak
from connectors.thg.client import token_cache

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def fast_retries(settings):
    settings.CHANNEL_RETRY_BASE_DELAY = 0.02
    settings.CHANNEL_RETRY_MAX_DELAY = 0.1
    settings.CHANNEL_HTTP_TIMEOUT = (2.0, 0.5)
    token_cache.clear()


def database_url() -> str:
    db = connection.settings_dict
    return (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )


def test_soak_ends_with_exactly_the_channel_state(live_server, fast_retries):
    report = run_soak(
        live_server.url,
        orders=200,
        page_size=25,
        rounds=4,
        database_url=database_url(),
    )

    assert report.missing == 0
    assert report.doubled == 0
    assert report.hub_orders == report.orders
    assert report.fulfillments > 0
    assert report.dispatches == report.fulfillments
    assert report.dispatches_doubled == 0
    assert report.stock_mismatches == 0
    assert report.killed_run_left_running is True
    for kind in (
        "too_many_requests_retry_after",
        "too_many_requests",
        "internal_error",
        "slow_response",
        "truncated_body",
    ):
        assert report.faults[kind] > 0, kind
    assert report.faults["token_expired"] > 0
    assert report.retries_logged > 0
