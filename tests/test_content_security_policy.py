"""The Content-Security-Policy header, and templates that need nothing it forbids.

tests/browser/test_csp_browser.py loads every page in Chromium under the policy; these
catch the same mistakes without a browser."""

import re
from pathlib import Path

import pytest
from csp.constants import HEADER, HEADER_REPORT_ONLY, NONCE, SELF
from csp.exceptions import CSPNonceError
from csp.utils import build_policy
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from tcgtracker.middleware import ContentSecurityPolicyMiddleware
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


def _answer(response, path="/"):
    middleware = ContentSecurityPolicyMiddleware(lambda request: response)
    request = RequestFactory().get(path)
    middleware.process_request(request)
    return middleware.process_response(request, response), request


def test_a_response_gets_the_policy_django_csp_builds_for_the_site():
    response, request = _answer(HttpResponse("ok"))
    assert response[HEADER] == build_policy()
    assert HEADER_REPORT_ONLY not in response
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)  # asked for after the header was written


def test_a_response_with_a_policy_of_its_own_gets_it():
    response = HttpResponse("ok")
    response._csp_update = {"img-src": ["https://images.example.com"]}
    answered, _ = _answer(response)
    assert "https://images.example.com" in answered[HEADER]
    assert answered[HEADER] == build_policy(update=response._csp_update)


@override_settings(
    CONTENT_SECURITY_POLICY={"DIRECTIVES": {"default-src": [SELF], "script-src": [SELF, NONCE]}}
)
def test_a_request_that_used_its_nonce_gets_it_in_the_policy():
    middleware = ContentSecurityPolicyMiddleware(lambda request: HttpResponse("ok"))
    request = RequestFactory().get("/")
    middleware.process_request(request)
    nonce = str(request.csp_nonce)
    response = middleware.process_response(request, HttpResponse("ok"))
    assert f"script-src 'self' 'nonce-{nonce}'" in response[HEADER]


def test_an_exempt_response_or_one_with_its_own_header_keeps_what_it_has():
    exempt = HttpResponse("ok")
    exempt._csp_exempt = True
    assert HEADER not in _answer(exempt)[0]
    own = HttpResponse("ok")
    own[HEADER] = "default-src 'none'"
    assert _answer(own)[0][HEADER] == "default-src 'none'"


def test_a_change_of_policy_in_the_settings_is_written_from_then_on():
    before = _answer(HttpResponse("ok"))[0][HEADER]
    report_only = {
        "DIRECTIVES": {"default-src": ["'self'"], "report-uri": "/csp-report/"},
        "EXCLUDE_URL_PREFIXES": ["/admin/"],
    }
    with override_settings(CONTENT_SECURITY_POLICY_REPORT_ONLY=report_only):
        response = _answer(HttpResponse("ok"))[0]
        assert response[HEADER] == before
        assert response[HEADER_REPORT_ONLY] == build_policy(report_only=True)
        assert "report-uri /csp-report/" in response[HEADER_REPORT_ONLY]
        excluded = _answer(HttpResponse("ok"), path="/admin/login/")[0]
        assert HEADER_REPORT_ONLY not in excluded and excluded[HEADER] == before
    assert HEADER_REPORT_ONLY not in _answer(HttpResponse("ok"))[0]
