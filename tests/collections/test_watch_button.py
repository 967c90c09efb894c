"""The Watch button, written in Python (the watch_button tag), shows what its template
showed before, on the card page and as the toggle's htmx answer."""

import re
from pathlib import Path

import pytest
from django.template import engines
from django.test import Client

from collections_app.models import Watch
from pages.card_cache import CSRF_PLACEHOLDER
from tests.factories import make_card, make_user

pytestmark = pytest.mark.django_db

# What templates/collections/_watch_button.html was before the watch_button tag.
BEFORE = (Path(__file__).parent / "watch_button_before.html").read_text()
NOW = "{% load collections %}{% watch_button %}"
HOSTILE_NEXT = "/cards/1/x/?a=\"><script>alert('x')</script>&b=1"


def render(source: str, **context) -> str:
    return engines["django"].from_string(source).render(context)


def same_markup(html: str) -> str:
    return re.sub(r"[ \t]*\n\s*", "\n", html).strip()


@pytest.mark.parametrize("watching", [True, False])
@pytest.mark.parametrize("next_url", ["", "/cards/4/charizard/?period=1y", HOSTILE_NEXT])
@pytest.mark.parametrize("csrf_token", ["token123", CSRF_PLACEHOLDER])
def test_the_button_shows_what_the_template_showed(watching, next_url, csrf_token):
    card = make_card()
    context = {"card": card, "watching": watching, "next": next_url, "csrf_token": csrf_token}
    assert same_markup(render(NOW, **context)) == same_markup(render(BEFORE, **context))


def test_a_hostile_next_address_is_escaped():
    html = render(NOW, card=make_card(), watching=False, next=HOSTILE_NEXT, csrf_token="t")
    assert "<script>" not in html
    assert "&quot;&gt;&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;b=1" in html


def test_the_toggle_answers_htmx_with_the_flipped_button():
    user, card = make_user(), make_card()
    client = Client()
    client.force_login(user)
    url = f"/collections/watch/{card.pk}/"
    response = client.post(url, {"watch": "1", "next": "/x/"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert Watch.objects.filter(user=user, card=card).exists()
    assert 'aria-pressed="true"' in html and "Watching" in html
    assert f'action="{url}"' in html and 'name="csrfmiddlewaretoken"' in html
