"""A set page's order and view form and its page links (pages.set_controls), written in
Python: the markup templates/pages/set_detail.html wrote before, every value escaped."""

import pytest
from django.core.paginator import Paginator
from django.template import engines

from pages import set_controls
from pages.views import SET_SORT_CHOICES, SET_VIEW_CHOICES
from tests.factories import make_card, make_set

HOSTILE = "<script>\"&'"

# templates/pages/set_detail.html's form and page links as they were before
# pages.set_controls wrote them: what they must still read as, whitespace aside.
TEMPLATE_CONTROLS = """{% load catalog %}
  <form class="list-controls" method="get" action="{{ action }}">
    <label>Sort
      <select name="sort">{% select_options sorts sort "" %}</select>
    </label>
    <fieldset class="view-choice">
      <legend>Show</legend>
      {% for value, label in views %}
        <label><input type="radio" name="view" value="{{ value }}"{% if value == view %} checked{% endif %}> {{ label }}</label>
      {% endfor %}
    </fieldset>
    <button type="submit" class="btn">Apply</button>
  </form>"""  # noqa: E501
TEMPLATE_PAGINATION = """
  {% if page.has_other_pages %}
    <nav class="pagination" aria-label="Pages of this set">
      {% if page.has_previous %}<a href="?{% if page_query %}{{ page_query }}&amp;{% endif %}page={{ page.previous_page_number }}" rel="prev">← Previous</a>{% endif %}
      <span>Cards {{ page.start_index }}–{{ page.end_index }} of {{ page.paginator.count }}</span>
      {% if page.has_next %}<a href="?{% if page_query %}{{ page_query }}&amp;{% endif %}page={{ page.next_page_number }}" rel="next">Next →</a>{% endif %}
    </nav>
  {% endif %}"""  # noqa: E501


def squeeze(html: str) -> str:
    return " ".join(html.split())


def from_template(source: str, **context) -> str:
    return engines["django"].from_string(source).render(context)


@pytest.mark.parametrize("sort", ["number", "price-high", "unknown"])
@pytest.mark.parametrize("view", ["grid", "table"])
def test_the_form_reads_as_the_template_wrote_it(sort, view):
    action = "/sets/pokemon/sv3pt5/"
    written = set_controls.controls(action, SET_SORT_CHOICES, sort, SET_VIEW_CHOICES, view)
    expected = from_template(
        TEMPLATE_CONTROLS,
        action=action,
        sorts=SET_SORT_CHOICES,
        sort=sort,
        views=SET_VIEW_CHOICES,
        view=view,
    )
    assert squeeze(written) == squeeze(expected)
    assert f'value="{sort}" selected' in written or sort == "unknown"


def test_every_value_of_the_form_is_escaped():
    choices = [(HOSTILE, HOSTILE), ("b", "B")]
    written = set_controls.controls(f"/sets/{HOSTILE}/", choices, HOSTILE, choices, HOSTILE)
    expected = from_template(
        TEMPLATE_CONTROLS,
        action=f"/sets/{HOSTILE}/",
        sorts=choices,
        sort=HOSTILE,
        views=choices,
        view=HOSTILE,
    )
    assert "<script>" not in written
    assert squeeze(written) == squeeze(expected)


@pytest.mark.parametrize("count", [0, 3, 4, 7, 9])
@pytest.mark.parametrize("page_query", ["", "sort=name&view=table", HOSTILE])
def test_the_page_links_read_as_the_template_wrote_them(count, page_query):
    paginator = Paginator(list(range(count)), 3)
    for number in paginator.page_range:
        page = paginator.page(number)
        written = set_controls.pagination(page, page_query)
        expected = from_template(TEMPLATE_PAGINATION, page=page, page_query=page_query)
        assert squeeze(written) == squeeze(expected)
        assert "<script>" not in written


@pytest.mark.django_db
def test_a_set_page_links_its_other_pages_keeping_its_choices(client, settings):
    settings.SET_PAGE_SIZE = 2
    card_set = make_set(code="pag1")
    for number in range(1, 6):
        make_card(card_set=card_set, number=str(number))

    html = squeeze(client.get("/sets/pokemon/pag1/?sort=name&view=table&page=2").content.decode())

    assert (
        '<nav class="pagination" aria-label="Pages of this set">'
        ' <a href="?sort=name&amp;view=table&amp;page=1" rel="prev">← Previous</a>'
        " <span>Cards 3–4 of 5</span>"
        ' <a href="?sort=name&amp;view=table&amp;page=3" rel="next">Next →</a> </nav>'
    ) in html
    assert '<option value="name" selected>Name</option>' in html
    assert '<input type="radio" name="view" value="table" checked> Price table' in html
    assert 'action="/sets/pokemon/pag1/"' in html
