"""A page set in the layout made once per process (tcgtracker.layout) is the very page its
template renders, for every kind of visitor, and the layout keeps nothing of theirs."""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.contrib import messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.exceptions import ImproperlyConfigured
from django.shortcuts import render
from django.test import Client, override_settings
from django.utils import timezone
from django.utils.autoreload import file_changed

import pages.views
from prices.writing import Observation, record_observations
from tcgtracker.lib import layout
from tests.factories import make_card, make_user

pytestmark = pytest.mark.django_db

# A masked CSRF token: each rendering masks the visitor's secret afresh.
TOKEN_RE = re.compile(r"\b[A-Za-z0-9]{64}\b")


@pytest.fixture
def both_ways(monkeypatch):
    """The card page's text set in the layout, and rendered by its template, per request."""
    pages_seen = []
    set_in_layout = layout.render_in_layout

    def render_both(request, template_name, context):
        fast = set_in_layout(request, template_name, context)
        whole = render(request, template_name, context)
        pages_seen.append((fast.content.decode(), whole.content.decode()))
        return fast

    monkeypatch.setattr(pages.views, "render_in_layout", render_both)
    return pages_seen


def priced_card(**fields):
    card = make_card(**fields)
    now = timezone.now().replace(microsecond=0)
    record_observations(
        [
            Observation(
                card.pk, "pricecharting", "ungraded", 1000 + day, now - dt.timedelta(days=day)
            )
            for day in range(10)
        ]
        + [Observation(card.pk, "pricecharting", "PSA 10", 9000, now)]
    )
    return card


def tokens_masked(text: str) -> str:
    return TOKEN_RE.sub("TOKEN", text)


@pytest.mark.parametrize("staff", [False, True])
def test_a_card_page_set_in_the_layout_is_the_page_its_template_renders(both_ways, staff):
    client = Client()
    client.force_login(make_user(is_staff=staff))
    for card in [priced_card(name="Charizard <ex> & Friends"), make_card(name="Unpriced")]:
        response = client.get(card.get_absolute_url() + "?period=7d")
        assert response.status_code == 200
    assert len(both_ways) == 2
    for fast, whole in both_ways:
        assert tokens_masked(fast) == tokens_masked(whole)
    assert "Charizard &lt;ex&gt; &amp; Friends" in both_ways[0][0]
    assert ("Staff</a>" in both_ways[0][0]) is staff


def test_a_template_filling_a_block_without_its_partial_is_refused():
    with pytest.raises(ImproperlyConfigured, match="content"):
        layout.page_layout("pages/set_list.html")


def test_a_page_is_set_in_the_layout_its_template_extends(tmp_path, settings, both_ways):
    # Another layout than base.html: the page is made in it, not in base.html.
    (tmp_path / "narrow.html").write_text(
        '<main class="narrow">{% block content %}{% endblock %}</main>{{ csrf_token }}'
    )
    card_page = (Path(settings.BASE_DIR) / "templates/pages/card_detail.html").read_text()
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages/card_detail.html").write_text(
        card_page.replace('{% extends "base.html" %}', '{% extends "narrow.html" %}', 1)
    )
    engines = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    client = Client()
    client.force_login(make_user())
    with override_settings(TEMPLATES=engines):
        html = client.get(priced_card().get_absolute_url()).content.decode()
    assert html.startswith('<main class="narrow">')
    assert "site-header" not in html
    [(fast, whole)] = both_ways
    assert tokens_masked(fast) == tokens_masked(whole)


def test_a_layout_edited_under_runserver_shows_on_the_next_page(tmp_path, settings):
    (tmp_path / "base.html").write_text("<p>before</p>{% block content %}{% endblock %}")
    engines = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    client = Client()
    client.force_login(make_user())
    url = priced_card().get_absolute_url()
    with override_settings(TEMPLATES=engines):
        assert client.get(url).content.decode().startswith("<p>before</p>")
        (tmp_path / "base.html").write_text("<p>after</p>{% block content %}{% endblock %}")
        # What runserver's autoreloader sends for a changed file.
        file_changed.send(sender=None, file_path=tmp_path / "base.html")
        html = client.get(url).content.decode()
    assert html.startswith("<p>after</p>")


def test_every_form_on_the_page_carries_the_visitors_own_token():
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user())
    html = client.get(priced_card().get_absolute_url()).content.decode()
    tokens = set(TOKEN_RE.findall(html))
    assert len(tokens) == 1  # the layout's and the page's forms: one masking per page
    logout = client.post("/accounts/logout/", {"csrfmiddlewaretoken": tokens.pop()})
    assert logout.status_code == 302


def test_the_layout_keeps_nothing_of_the_visitor_it_was_first_made_for(tmp_path, settings):
    # A layout that would show who is signed in: made once, it must not show the first
    # visitor to the next. It shows nobody (the stand-in has no address).
    (tmp_path / "base.html").write_text(
        "<p>{{ user.email }}</p>{% block title %}{% endblock %}"
        "{% block extra_head %}{% endblock %}{% block content %}{% endblock %}"
    )
    engines = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    card = priced_card()
    with override_settings(TEMPLATES=engines):
        for email in ["first@example.com", "second@example.com"]:
            client = Client()
            client.force_login(make_user(email=email))
            html = client.get(card.get_absolute_url()).content.decode()
            assert html.startswith("<p></p>")
            assert "first@example.com" not in html


def test_a_page_with_messages_waiting_is_rendered_by_its_template_and_shows_them(rf):
    request = rf.get("/")
    request.user = make_user()
    request.session = Client().session
    request._messages = FallbackStorage(request)
    messages.success(request, "Alert saved.")
    card = make_card()
    context = {"card": card, "intro": pages.views.card_intro(card, "/sets/x/")}
    html = layout.render_in_layout(request, "pages/card_detail.html", context).content.decode()
    assert '<li class="message message-success">Alert saved.</li>' in html


def test_a_change_of_settings_makes_the_layout_again():
    client = Client()
    client.force_login(make_user())
    card = priced_card()
    assert "Card Tracker Test" not in client.get(card.get_absolute_url()).content.decode()
    with override_settings(SITE_NAME="Card Tracker Test"):
        assert "Card Tracker Test" in client.get(card.get_absolute_url()).content.decode()
