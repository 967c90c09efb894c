"""The search form's menus (cards.templatetags.catalog.select_options): every value and
label escaped, the one asked for selected, whichever was selected before."""

from cards.templatetags.catalog import select_options

SETS = [("sv1", "Scarlet & Violet (sv1)"), ('x"><script>', "<b>Bold</b> (x)"), (3, "Three")]


def test_values_and_labels_are_escaped_and_the_blank_choice_comes_first():
    html = str(select_options(SETS, "", "All <sets>"))
    assert html.startswith('<option value="">All &lt;sets&gt;</option>')
    assert '<option value="sv1">Scarlet &amp; Violet (sv1)</option>' in html
    assert '<option value="x&quot;&gt;&lt;script&gt;">&lt;b&gt;Bold&lt;/b&gt; (x)</option>' in html
    assert "<script>" not in html and " selected" not in html


def test_only_the_choice_asked_for_is_selected_on_each_call():
    first = str(select_options(SETS, "sv1"))
    second = str(select_options(SETS, 3))  # the same menu again, another choice
    assert first.count(" selected") == second.count(" selected") == 1
    assert '<option value="sv1" selected>' in first
    assert '<option value="3" selected>' in second and '<option value="sv1">' in second


def test_choices_given_as_lists_are_written_too():
    html = str(select_options([["r", "Rare"], ["c", "Common"]], "c"))
    assert html == '<option value="r">Rare</option><option value="c" selected>Common</option>'


def test_choices_given_once_as_an_iterator_are_all_written():
    html = str(select_options(iter([["r", "Rare"], ["c", "Common"]]), "r"))
    assert html == '<option value="r" selected>Rare</option><option value="c">Common</option>'
