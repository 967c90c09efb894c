"""Make README's screenshots again: `.venv/bin/python docs/screenshots.py`.

Sets up a scratch SQLite database the way `make run` does (`setup_demo`: the demo
catalog, a year of simulated demo prices, the demo login and its binder), serves it with
`runserver` on a free loopback port, and captures the pages with Debian's Chromium
through Playwright (the browser tests' launch options; never `playwright install`). Card
images come from the image hosts, which a machine without network cannot reach: the
tiles and thumbnails then show their fallback.

- The search screenshot is the README's hero: search results with each card's price, its
  7-day change and the "Simulated" mark of the demo prices.
- The phone screenshots are the demo binder as a 390×844 phone shows it, signed in as
  the demo login: the top of the page, then its items stacked with value, gain/loss and
  actions.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
sys.path.insert(0, str(ROOT))
# The browser tests' Chromium and its launch options.
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

# (file in docs/, path, viewport width, height)
SHOTS = [
    ("screenshot-search.png", "/cards/?q=charizard", 1280, 900),
]
PHONE = {"width": 390, "height": 844}
# The demo login setup_demo creates (and `make run` prints).
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "tcg-demo-collector"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def wait_for(url: str, server: subprocess.Popen) -> None:
    import urllib.request

    for _ in range(100):
        if server.poll() is not None:
            raise SystemExit(f"the server stopped (exit status {server.returncode})")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


def phone_collection(browser, base: str) -> None:
    """The demo binder on a phone: the top of the page, then its items."""
    context = browser.new_context(base_url=base, viewport=PHONE, reduced_motion="reduce")
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
    page.screenshot(path=str(DOCS / "screenshot-phone-collection.png"))
    page.locator("#items").evaluate("(items) => items.scrollIntoView()")
    page.screenshot(path=str(DOCS / "screenshot-phone-collection-items.png"))
    context.close()
    print("docs/screenshot-phone-collection.png, docs/screenshot-phone-collection-items.png")


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch:
        port = free_port()
        env = {
            **os.environ,
            "DEBUG": "true",
            "DATABASE_URL": f"sqlite:///{scratch}/screenshots.sqlite3",
            "REDIS_URL": "",
            "SITE_URL": f"http://127.0.0.1:{port}",
        }
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "setup_demo")
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/health/", server)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
                )
                for name, path, width, height in SHOTS:
                    context = browser.new_context(viewport={"width": width, "height": height})
                    page = context.new_page()
                    page.goto(f"{base}{path}", wait_until="networkidle")
                    page.screenshot(path=str(DOCS / name))
                    context.close()
                    print(f"docs/{name}: {path} at {width}×{height}")
                phone_collection(browser, base)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
