import datetime as dt

import pytest

from api.serializers import moment, money


@pytest.mark.parametrize(
    ("cents", "written"),
    [
        (None, None),
        (0, "0.00"),
        (5, "0.05"),
        (-5, "-0.05"),
        (100, "1.00"),
        (12345, "123.45"),
        (-1250050, "-12500.50"),
        (9_223_372_036_854_775_807, "92233720368547758.07"),
    ],
)
def test_money_is_the_decimal_amount_to_the_cent(cents, written):
    assert money(cents) == written


def test_a_moment_is_utc_to_the_second_with_a_z_whatever_its_zone():
    new_york = dt.timezone(dt.timedelta(hours=-5))
    assert moment(dt.datetime(2026, 3, 15, 7, 30, 59, 999999, tzinfo=new_york)) == (
        "2026-03-15T12:30:59Z"
    )
    assert moment(dt.datetime(2026, 3, 15, 12, 30, 59, tzinfo=dt.UTC)) == "2026-03-15T12:30:59Z"
    assert moment(None) is None
