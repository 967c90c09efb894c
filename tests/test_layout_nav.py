"""The layout's nav, written in Python (tcgtracker.templatetags.layout), shows what its
template showed before for visitors, members and staff, on each page it marks."""

import itertools
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.template import engines

from tcgtracker.context_processors import layout_urls

MAIN_BEFORE = (Path(__file__).parent / "layout_main_nav_before.html").read_text()
ACCOUNT_BEFORE = (Path(__file__).parent / "layout_account_nav_before.html").read_text()
HOSTILE_URL = "/x/?a=\"><script>alert('x')</script>&b=1"
FLAGS = ["search", "sets", "movers", "alerts", "collections"]


def same_markup(html: str) -> str:
    return re.sub(r"[ \t]*\n\s*", "\n", html).strip()


def render(source: str, context: dict) -> str:
    return engines["django"].from_string(source).render(context)


def contexts():
    users = [
        None,
        SimpleNamespace(is_authenticated=False, is_staff=False),
        SimpleNamespace(is_authenticated=True, is_staff=False),
        SimpleNamespace(is_authenticated=True, is_staff=True),
    ]
    for user, current in itertools.product(users, [None, *FLAGS]):
        yield {
            "user": user,
            "layout_urls": layout_urls(),
            "nav_current": {flag: flag == current for flag in FLAGS},
            "csrf_token": "token123",
        }


@pytest.mark.parametrize("context", list(contexts()))
def test_the_nav_shows_what_the_template_showed(context):
    now = render("{% load layout %}{% main_nav %}\n{% account_nav %}", context)
    before = render(MAIN_BEFORE + ACCOUNT_BEFORE, context)
    assert same_markup(now) == same_markup(before)


def test_addresses_are_escaped_and_pages_without_the_layout_context_still_render():
    urls = dict.fromkeys(layout_urls(), HOSTILE_URL)
    context = {
        "user": SimpleNamespace(is_authenticated=True, is_staff=True),
        "layout_urls": urls,
        "nav_current": {},
        "csrf_token": "t",
    }
    now = render("{% load layout %}{% main_nav %}\n{% account_nav %}", context)
    assert "<script>" not in now
    assert same_markup(now) == same_markup(render(MAIN_BEFORE + ACCOUNT_BEFORE, context))
    bare = render("{% load layout %}{% main_nav %}\n{% account_nav %}", {})
    assert same_markup(bare) == same_markup(render(MAIN_BEFORE + ACCOUNT_BEFORE, {}))
