"""Money is stored as integer cents; these turn it into what people read.

Decimal throughout: a float cannot hold 0.1 exactly, and prices are added up in
collections and compared in alerts.
"""

from decimal import Decimal

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$", "JPY": "¥"}
CENTS = Decimal(100)


def cents_to_decimal(cents: int) -> Decimal:
    """12345 → Decimal('123.45')."""
    return Decimal(int(cents)) / CENTS


def format_money(cents: int | None, currency: str = "USD") -> str:
    """12345, "USD" → "$123.45"; negative amounts as "−$5.00"; None as "—".

    Known currencies get their symbol; others are written after the amount
    ("123.45 CHF") rather than guessed.
    """
    if cents is None:
        return "—"
    amount = cents_to_decimal(cents)
    sign = "−" if amount < 0 else ""
    digits = f"{abs(amount):,.2f}"
    currency = (currency or "USD").upper()
    symbol = SYMBOLS.get(currency)
    if symbol:
        return f"{sign}{symbol}{digits}"
    return f"{sign}{digits} {currency}"


def cents_to_float(cents: int) -> float:
    """Dollars for a chart axis: JSON has no decimals, and the chart only draws them.
    Python divides two integers correctly rounded: the float nearest the decimal amount."""
    return int(cents) / 100
