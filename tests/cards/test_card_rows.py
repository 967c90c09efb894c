"""A card read as a tuple (cards.models.CardRow) answers what a list shows as the Card
model does: its printed number, its variant's label, its page's address."""

import pytest

from cards.models import CARD_ROW_COLUMNS, Card, card_rows, card_urls
from tests.factories import make_card, make_set

pytestmark = pytest.mark.django_db


def test_a_card_row_reads_as_its_card():
    card_set = make_set(code="row1", printed_total=102)
    make_card(card_set=card_set, number="4", name="Charizard", rarity="Rare Holo")
    make_card(card_set=card_set, number="OP01-001", name="Monkey.D.Luffy", variant="p1")
    make_card(card_set=card_set, number="7", name="!!!", kind="sealed")
    unprinted = make_set(code="row2", printed_total=None)
    make_card(card_set=unprinted, number="9", name="Flabébé", variant="Reverse Holo")

    for card in Card.objects.select_related("card_set"):
        (row,) = card_rows(
            Card.objects.filter(pk=card.pk).values_list(*CARD_ROW_COLUMNS), card.card_set
        )
        for attribute in (*CARD_ROW_COLUMNS, "display_number", "variant_label", "slug"):
            assert getattr(row, attribute) == getattr(card, attribute), attribute
        assert row.card_set is card.card_set
        assert card_urls([row]) == [card.get_absolute_url()]
