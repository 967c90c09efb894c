"""The card page's alert panel, written in Python (pages.card_panels), shows what its
template showed before, for members and visitors, escaping what it shows."""

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.template import engines

from pages.card_panels import alert_panel

# What templates/pages/card_detail.html wrote for the alert panel before.
BEFORE = (Path(__file__).parent / "alert_panel_before.html").read_text()
HOSTILE_PATH = "/cards/7/x/?period=1y&a=\"><script>alert('x')</script>"
URLS = {"alerts": "/alerts/", "login": "/accounts/login/"}


def same_markup(html: str) -> str:
    return re.sub(r"[ \t]*\n\s*", "\n", html).strip()


def before(signed_in: bool, create_alert_url: str, path: str) -> str:
    context = {
        "user": SimpleNamespace(is_authenticated=signed_in),
        "layout_urls": URLS,
        "create_alert_url": create_alert_url,
        "card": SimpleNamespace(pk=7),
        "request": SimpleNamespace(get_full_path=lambda: path),
    }
    return engines["django"].from_string(BEFORE).render(context)


@pytest.mark.parametrize("signed_in", [True, False])
@pytest.mark.parametrize("path", ["/cards/7/x/", HOSTILE_PATH])
@pytest.mark.parametrize("create_alert_url", ["/alerts/new/", '/alerts/"<new>&/'])
def test_the_alert_panel_shows_what_the_template_showed(signed_in, path, create_alert_url):
    html = alert_panel(7, signed_in, create_alert_url, URLS["alerts"], URLS["login"], path)
    assert "<script>" not in html and "<new>" not in html
    assert same_markup(html) == same_markup(before(signed_in, create_alert_url, path))
