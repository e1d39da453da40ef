"""Headless Chromium driving the admin on pytest-django's live server.

The browser is Debian's Chromium at /usr/bin/chromium (``.ci/run`` installs
it), launched through Playwright without the browser Playwright downloads.
A failing test leaves a screenshot in ``tests/browser/screenshots/``.
"""

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread, which makes
# Django refuse ORM calls there unless this is set.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
ADMIN_PASSWORD = "browser-admin-password"
SUPPORT_PASSWORD = "browser-support-password"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def browser(live_server):
    # Depending on live_server makes the browser close first, so no
    # keep-alive connection is open when the live server stops.
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing; .ci/run installs it with apt-get.")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(request, browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1400, "height": 1000}
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(
            path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True
        )
    context.close()


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser(
        "admin", "admin@example.test", ADMIN_PASSWORD
    )


@pytest.fixture
def support_user(django_user_model):
    from django.contrib.auth.models import Group

    from connectors.roles import SUPPORT, setup_roles

    setup_roles()
    user = django_user_model.objects.create_user(
        "support", "support@example.test", SUPPORT_PASSWORD, is_staff=True
    )
    user.groups.add(Group.objects.get(name=SUPPORT))
    return user


def log_in(page, username, password):
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")


def run_action(page, changelist_url, pk, action):
    """Tick one row of a changelist and run an action on it."""
    page.goto(changelist_url)
    page.check(f"input[name=_selected_action][value='{pk}']")
    page.select_option("select[name=action]", action)
    # Wait for the action's page, or a caller may read the changelist it
    # is leaving (a slow action ran out the race on a loaded machine).
    with page.expect_navigation():
        page.click("button[name=index]")


def messages(page) -> list[str]:
    return page.locator("ul.messagelist li").all_inner_texts()
