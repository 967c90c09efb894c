from django.test import RequestFactory

from tcgtracker.lib.urls import absolute_url, answering


def test_without_a_request_links_start_at_site_url(settings):
    settings.SITE_URL = "https://cards.example"

    assert absolute_url("/cards/1/") == "https://cards.example/cards/1/"


def test_while_answering_a_request_links_start_at_its_host(settings):
    settings.SITE_URL = "https://cards.example"
    request = RequestFactory().get("/", HTTP_HOST="127.0.0.1:8101")

    with answering(request):
        assert absolute_url("/cards/1/") == "http://127.0.0.1:8101/cards/1/"
    assert absolute_url("/cards/1/") == "https://cards.example/cards/1/"


def test_a_host_outside_allowed_hosts_falls_back_to_site_url(settings):
    settings.SITE_URL = "https://cards.example"
    request = RequestFactory().get("/", HTTP_HOST="evil.example")

    assert absolute_url("/x/", request) == "https://cards.example/x/"
