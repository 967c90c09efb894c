"""The pages htmx navigates in place (search, movers): each swap carries the tab's new
title, and htmx restoring a page after Back gets the whole page, not a piece of it."""

import pytest
from django.conf import settings

from tests.factories import make_card

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
HISTORY_RESTORE = {"HTTP_HX_REQUEST": "true", "HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}


def test_a_search_swap_names_the_query_in_the_tab_title(client):
    make_card(name="Charizard")
    partial = client.get("/cards/", {"q": "chari"}, **HTMX).content.decode()
    assert partial.startswith(f"<title>chari — Search cards · {settings.SITE_NAME}</title>")
    assert "Charizard" in partial and "<html" not in partial


def test_the_title_of_a_search_swap_is_escaped(client):
    partial = client.get("/cards/", {"q": "</title><b>x"}, **HTMX).content.decode()
    assert partial.startswith("<title>&lt;/title&gt;&lt;b&gt;x — Search cards")


def test_a_movers_tab_swap_names_the_game_and_period_in_the_tab_title(client):
    partial = client.get("/movers/", {"game": "onepiece", "period": "30d"}, **HTMX)
    assert partial.content.decode().startswith("<title>One Piece movers — 30 days · ")


@pytest.mark.parametrize("path", ["/cards/?q=chari&game=pokemon", "/movers/?period=30d"])
def test_htmx_restoring_a_page_after_back_gets_the_whole_page(client, path):
    response = client.get(path, **HISTORY_RESTORE)
    html = response.content.decode()
    assert html.lstrip().startswith("<!DOCTYPE html>")
    assert '<header class="site-header">' in html
    assert "HX-History-Restore-Request" in response["Vary"]
