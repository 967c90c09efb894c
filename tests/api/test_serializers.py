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


def test_an_answer_is_the_compact_json_the_standard_library_writes():
    import json

    from api.http import json_response

    data = {
        "name": 'Pokémon ポケモン — “Charizard” \u2028 \x00\x1f\t\n"\\/',
        "prices": [{"market": "1234.56", "change": -0.05, "ratio": 1 / 3, "n": 10**12}],
        "empty": {},
        "none": None,
        "flags": [True, False],
        "big": 2**62,
        7: "an integer key",
    }
    expected = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    assert json_response(data).content == expected
