"""README's phone screenshot, taken from a running demo with Debian's Chromium.

    make run                                   # in one terminal: the demo on :8000
    .venv/bin/python docs/phone_screenshots.py       # in another
    .venv/bin/python docs/phone_screenshots.py http://127.0.0.1:8101   # a demo elsewhere

It signs in as the demo login `make run` creates and saves its first collection as a
390×844 phone shows it — the top of the page, then its items — next to this file. Card
images come from the catalog sources' servers; offline, the page shows its placeholders
for them, as it would for a collector.
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "tcg-demo-collector"
PHONE = {"width": 390, "height": 844}


def phone_collection(browser, base_url: str) -> list[Path]:
    context = browser.new_context(base_url=base_url, viewport=PHONE, reduced_motion="reduce")
    page = context.new_page()
    page.goto("/accounts/login/")
    page.locator("#id_login").fill(DEMO_EMAIL)
    page.locator("#id_password").fill(DEMO_PASSWORD)
    page.locator("#id_password").press("Enter")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    page.goto("/collections/")
    page.locator(".collections-table tbody th a").first.click()
    page.wait_for_function(
        "() => window.Chart !== undefined"
        " && Chart.getChart(document.getElementById('portfolio-chart')) !== undefined"
    )
    top = DOCS / "screenshot-phone-collection.png"
    page.screenshot(path=top)
    # The items, stacked one under another with their value, gain and actions.
    page.locator("#items").evaluate("(items) => items.scrollIntoView()")
    items = DOCS / "screenshot-phone-collection-items.png"
    page.screenshot(path=items)
    context.close()
    return [top, items]


def main(base_url: str = "http://127.0.0.1:8000") -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for path in phone_collection(browser, base_url.rstrip("/")):
            print(path)
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
