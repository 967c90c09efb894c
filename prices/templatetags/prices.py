"""Showing prices: money, changes, price keys, sources and how fresh a figure is."""

import datetime as dt

from django import template
from django.utils import timezone, translation
from django.utils.dates import MONTHS_3
from django.utils.safestring import mark_safe

from prices import history, keys, stats
from tcgtracker.lib.html import format_html
from tcgtracker.lib.money import format_money

register = template.Library()

MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
# Older than this, a price is shown as stale.
STALE_AFTER = dt.timedelta(days=7)


@register.filter
def money(cents, currency="USD"):
    """{{ summary.market|money:summary.currency }} → "$1,234.56"."""
    return format_money(cents, currency)


NO_CHANGE = mark_safe('<span class="change change-none" title="Not enough history">—</span>')
# By the sign of the change: its class, its arrow (decorative) and its sign.
CHANGE_STYLES = {
    1: ("change-up", '<span aria-hidden="true">▲ </span>', "+"),
    -1: ("change-down", '<span aria-hidden="true">▼ </span>', "−"),
    0: ("change-flat", "", "±"),
}


@register.filter
def percent_change(value):
    """+12.5% in green with an up arrow, −3.0% in red with a down arrow; "—" for unknown.

    The arrow is decorative; the sign carries the meaning for screen readers too. Written
    without format_html(): a list shows one per row, and nothing here needs escaping (a
    class, an arrow, digits).
    """
    if value is None:
        return NO_CHANGE
    # As shown, to one decimal: −0.04% reads as no change, not as a fall.
    value = round(value, 1)
    css, arrow, sign = CHANGE_STYLES[(value > 0) - (value < 0)]
    return mark_safe(f'<span class="change {css}">{arrow}{sign}{abs(value):,.1f}%</span>')


@register.filter
def price_key_label(key):
    return keys.label(key)


@register.filter
def source_name(source):
    return history.source_name(source)


@register.filter
def source_qualifier(source):
    return history.source_qualifier(source)


@register.filter
def freshness(moment, now=None):
    """How long ago: "just now", "12 min ago", "2 h ago", "3 d ago", then "4 mo ago"."""
    if moment is None:
        return ""
    age = (now or timezone.now()) - moment
    if age < MINUTE:
        return "just now"
    if age < HOUR:
        return f"{age // MINUTE} min ago"
    if age < DAY:
        return f"{age // HOUR} h ago"
    if age < 60 * DAY:
        return f"{age.days} d ago"
    if age < 730 * DAY:
        return f"{age.days // 30} mo ago"
    return f"{age.days // 365} y ago"


@register.filter
def time_ago(moment):
    """How long ago, in a <time> carrying the moment. Written as updated_time is."""
    if moment is None:
        return ""
    return mark_safe(
        f'<time datetime="{timezone.localtime(moment).isoformat()}">{freshness(moment)}</time>'
    )


@register.filter
def updated_time(moment):
    """The price table's "Updated" cell: how long ago in a <time> carrying the moment,
    its date in the title ("30 Nov 2026, 14:05", as the date filter's "j M Y, H:i") and
    "stale" after STALE_AFTER. One filter a row, not four; and no format_html(): nothing
    here needs escaping (digits, a month's abbreviation, the age in words)."""
    if moment is None:
        return ""
    now = timezone.now()
    local = timezone.localtime(moment)
    month = month_abbreviation(local.month)
    stale = ' class="stale"' if now - moment > STALE_AFTER else ""
    return mark_safe(
        f'<time datetime="{local.isoformat()}" title="{local.day} {month} {local.year}, '
        f'{local:%H:%M} UTC"{stale}>{freshness(moment, now)}</time>'
    )


_month_abbreviations: dict[tuple, str] = {}


def month_abbreviation(month: int) -> str:
    """The date filter's "M" ("Mar") in the active language, kept per language: each
    lazy translation cost more than the rest of a price table's cell."""
    key = (translation.get_language(), month)
    abbreviation = _month_abbreviations.get(key)
    if abbreviation is None:
        abbreviation = _month_abbreviations[key] = MONTHS_3[month].title()
    return abbreviation


@register.filter
def volatility(value):
    """Annualised volatility in whole percent; "—" saying why when there is too little
    data (prices.stats)."""
    if value is None:
        return format_html(
            '<span class="change-none" title="{}">—</span>',
            f"Too little data: needs {stats.MIN_RETURNS} day-to-day changes",
        )
    return f"{value:,.0f}%"


TREND_MARKS = {stats.RISING: "▲", stats.FALLING: "▼", stats.FLAT: "▶"}


@register.filter
def trend(value: stats.Trend):
    """ "▲ Rising +3.2%/month" with its confidence interval in the title; "Too little
    data" saying what is needed."""
    if value.percent_per_month is None:
        return format_html(
            '<span class="trend trend-none" title="{}">Too little data</span>',
            f"Needs {stats.MIN_TREND_DAYS} days with a price over at least "
            f"{stats.MIN_TREND_SPAN_DAYS} days",
        )
    low, high = value.interval
    return format_html(
        '<span class="trend trend-{}" title="{}"><span aria-hidden="true">{} </span>{} '
        '<span class="trend-rate">{}%/month</span></span>',
        value.direction,
        f"95% confidence interval: {_signed(low)}% to {_signed(high)}% a month",
        TREND_MARKS[value.direction],
        value.direction.capitalize(),
        _signed(value.percent_per_month),
    )


def _signed(value: float) -> str:
    return f"{'+' if value >= 0 else '−'}{abs(value):,.1f}"
