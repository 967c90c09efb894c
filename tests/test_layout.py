"""The layout's addresses and nav (tcgtracker.context_processors.site)."""

import pytest
from django.template import Context, Template
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django_htmx.jinja import htmx_script

from tcgtracker import context_processors
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_the_layout_links_where_url_and_static_tags_would():
    urls = context_processors.layout_urls()
    assert urls["search"] == reverse("cards:search")
    assert urls["alerts"] == reverse("alerts:list")
    assert urls["logout"] == reverse("account_logout")
    assert urls["favicon"].endswith("img/favicon.svg")


def test_the_addresses_follow_a_changed_static_url():
    before = context_processors.layout_urls()["site_css"]
    with override_settings(STATIC_URL="/elsewhere/"):
        assert context_processors.layout_urls()["site_css"] == "/elsewhere/css/site.css"
    assert context_processors.layout_urls()["site_css"] == before


NAV = {
    "search": "cards:search",
    "sets": "cards:set_list",
    "movers": "prices:movers",
    "alerts": "alerts:list",
    "collections": "collections:list",
}


@pytest.mark.parametrize(
    ("path", "current"),
    [
        ("/cards/", "search"),
        ("/sets/", "sets"),
        ("/movers/", "movers"),
        ("/alerts/", "alerts"),
        ("/collections/", "collections"),
        ("/", None),
    ],
)
def test_the_nav_marks_the_page_being_shown(client, path, current):
    client.force_login(make_user())
    response = client.get(path)
    marked = [name for name, on in response.context["nav_current"].items() if on]
    assert marked == ([current] if current else [])
    page = response.content.decode()
    for name, url_name in NAV.items():
        link = f'<li><a href="{reverse(url_name)}" aria-current="page">'
        assert (link in page) == (name == current)


def test_a_shared_collection_and_an_unresolved_page_mark_nothing():
    request = RequestFactory().get("/nowhere/")
    assert not any(context_processors.nav_current(request, "/alerts/").values())


def test_the_signed_in_nav_has_the_accounts_links_and_a_logout_form_with_its_token():
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user(is_staff=True))
    page = client.get("/movers/").content.decode()
    for name in ("alerts:list", "collections:list", "account_email", "staff:sources"):
        assert f'href="{reverse(name)}"' in page
    assert f'<form action="{reverse("account_logout")}" method="post"' in page
    assert 'name="csrfmiddlewaretoken"' in page


def _render_htmx_script(context):
    return Template("{% load layout %}{% htmx_script_once %}").render(Context(context))


def test_the_htmx_script_kept_per_process_is_what_django_htmx_writes():
    assert _render_htmx_script({}) == htmx_script()
    assert _render_htmx_script({}) == htmx_script()  # the kept copy
    assert "/django_htmx/htmx-2.min.js" in _render_htmx_script({})


def test_the_htmx_script_carries_the_nonce_of_each_request():
    first = _render_htmx_script({"csp_nonce": "nonce-one"})
    second = _render_htmx_script({"csp_nonce": "nonce-<two>"})
    assert 'nonce="nonce-one"' in first
    assert 'nonce="nonce-&lt;two&gt;"' in second
    assert "nonce" not in _render_htmx_script({})


def test_the_htmx_script_follows_a_changed_static_url():
    before = _render_htmx_script({})
    with override_settings(STATIC_URL="/elsewhere/"):
        assert '"/elsewhere/django_htmx/htmx-2.min.js"' in _render_htmx_script({})
    assert _render_htmx_script({}) == before
