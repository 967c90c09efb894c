"""The Content-Security-Policy header, and templates that need nothing it forbids.

tests/browser/test_csp_browser.py loads every page in Chromium under the policy; these
catch the same mistakes without a browser."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import make_card

TEMPLATES = Path(settings.BASE_DIR, "templates")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>")
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/cards/", "/accounts/login/", "/nothing-here/"])
def test_every_page_sends_a_policy_allowing_scripts_from_the_site_only(client, path):
    make_card()
    policy = client.get(path)["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def template_files():
    return sorted(
        path
        for path in TEMPLATES.rglob("*.html")
        if "emails" not in path.relative_to(TEMPLATES).parts
    )


@pytest.mark.parametrize(
    "template", template_files(), ids=lambda path: str(path.relative_to(TEMPLATES))
)
def test_no_template_has_an_inline_script_handler_or_style(template):
    text = template.read_text()
    assert not INLINE_SCRIPT.search(text), "inline <script>: move it to static/js/"
    assert not EVENT_HANDLER.search(text), "on…= handler: add the listener in static/js/"
    assert not STYLE_ATTRIBUTE.search(text), "style=: use a class in static/css/"
