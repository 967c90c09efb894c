"""The Content-Security-Policy holds in a real browser: every page of the site — each of
our URL patterns, read from the resolver (tests/routes.py), and the account and admin
pages — loads and runs its scripts, htmx and Chart.js included, without one violation."""

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from tests.routes import ROUTES, make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTEN = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} ` +
    `at ${event.sourceFile}:${event.lineNumber} ${event.sample}`
  );
});
"""
# Pages of Django's and allauth's that the site's users and staff see.
OTHER_PAGES = [
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
    "/accounts/email/",
    "/accounts/password/change/",
    "/admin/",
    "/admin/cards/card/",
    "/admin/cards/card/add/",
    "/admin/collections_app/collection/",
]


def log_in(page, live_server, user):
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )


def violations(page) -> list[str]:
    return page.evaluate("window.cspViolations")


def visit(page, path: str) -> list[str]:
    """What broke the policy while the page loaded: violation events and the console's
    "Refused to …" errors."""
    page.console_errors.clear()
    page.goto(path)
    page.wait_for_load_state("load")
    refused = [error for error in page.console_errors if "Content Security Policy" in error]
    return [f"{path}: {problem}" for problem in violations(page) + refused]


def test_every_page_loads_without_a_content_security_policy_violation(page, live_server):
    world = make_world(owner_is_staff=True)
    page.context.add_init_script(LISTEN)
    log_in(page, live_server, world.owner)

    # The pages among our routes: what answers a GET with HTML (not a POST-only action,
    # the JSON API or the CSV export).
    client = Client()
    client.force_login(world.owner)
    paths = []
    for route in ROUTES:
        path = route.path(world.real_values(route)) if route.is_ours else None
        if path and path not in paths:
            response = client.get(path)
            if response.status_code != 405 and response["Content-Type"].startswith("text/html"):
                paths.append(path)
    assert len(paths) > 30  # the resolver's routes, not a handful

    problems = []
    for path in paths + OTHER_PAGES:
        problems += visit(page, path)
    assert problems == []


def test_htmx_and_the_charts_work_under_the_policy(page, live_server):
    world = make_world(owner_is_staff=True)
    page.context.add_init_script(LISTEN)
    log_in(page, live_server, world.owner)
    problems = []

    # htmx's live search: its request, its swap and its indicator.
    page.goto("/cards/")
    page.locator("#q").press_sequentially("chari", delay=30)
    page.wait_for_url("**/cards/?q=chari*")
    expect(page.locator(".card-tile-name")).to_have_text("Charizard")
    problems += violations(page)

    # The card page's Chart.js chart, drawn, then a period button swapping it (htmx).
    page.goto(world.card_url)
    chart = page.locator("canvas#price-chart")
    expect(chart).to_be_visible()
    page.wait_for_function("Chart.getChart(document.getElementById('price-chart')) !== undefined")
    page.locator('a[data-period="7d"]').click()
    expect(page.locator('a[data-period="7d"]')).to_have_attribute("aria-current", "true")
    page.wait_for_function("Chart.getChart(document.getElementById('price-chart')) !== undefined")
    problems += violations(page)

    # The collection page's value-over-time chart.
    page.goto(world.collection_url)
    page.wait_for_function(
        "Chart.getChart(document.getElementById('portfolio-chart')) !== undefined"
    )
    problems += violations(page)

    assert problems == []
    assert page.console_errors == []
