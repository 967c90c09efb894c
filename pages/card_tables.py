"""The card page's price and statistics tables, their cells formatted here once per row.

A card priced by several sources has a dozen rows or more in each table; written with a
template filter per cell (money, labels, dates), the rows were most of the tables' time.
The template keeps the markup; these keep the figures.
"""

from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import quote

from django.utils.safestring import SafeString, mark_safe

from prices import history, keys, stats
from prices.models import PriceSummary
from prices.stats import LineStats
from prices.templatetags.prices import percent_change, trend, updated_time, volatility
from tcgtracker.lib.html import format_html, format_html_join
from tcgtracker.lib.money import format_money
from tcgtracker.lib.urls import static_once

# The chart's scripts, in the page's <head> when the card has prices.
CHART_SCRIPTS = (
    "vendor/chartjs/chart-4.6.1.umd.min.js",
    "vendor/chartjs/chartjs-adapter-date-fns-3.0.0.bundle.min.js",
    "js/charts.js",
    "js/price-chart.js",
)
_chart_scripts: dict[tuple, SafeString] = {}


def chart_scripts() -> SafeString:
    """The chart's <script> tags, written once per process for their addresses (which
    follow a settings change in tests): in the template, an {% if %} and four filters."""
    urls = tuple(static_once(path) for path in CHART_SCRIPTS)
    html = _chart_scripts.get(urls)
    if html is None:
        html = _chart_scripts[urls] = format_html_join(
            "\n    ", '<script src="{}" defer></script>', ((url,) for url in urls)
        )
    return html


@dataclass(frozen=True)
class PriceRow:
    """One price of the table: a source's figure for one condition or grade."""

    summary: PriceSummary
    source_name: str
    label: str  # the condition or grade
    qualifier: str  # "asks", "simulated" or ""
    alert_url: str  # the alert form for this card and price key
    market: str
    price_range: str  # "low – high"; "" when the source gives neither
    sample: str  # the sales or listings behind the figure, "—" when unknown
    change: SafeString  # over 30 days
    extremes: str  # "all-time high / low"
    updated: SafeString

    @property
    def is_simulated(self) -> bool:
        return self.summary.is_simulated


class SourceRows(NamedTuple):
    """One source's rows, under its heading: its name and, for a source counting its sales
    for the whole card, how many ("1,234 sales, all grades"; else "")."""

    source: history.SourcePrices
    heading: str
    sales: str
    rows: list[PriceRow]


def price_rows(card, prices: list[PriceSummary], create_alert_url: str) -> list[SourceRows]:
    """current_prices() per source, each price as its table row."""
    return [
        SourceRows(
            group,
            history.source_name(group.source),
            _sales(group.product_sample),
            [_price_row(card, summary, create_alert_url) for summary in group.prices],
        )
        for group in history.by_source(prices)
    ]


def price_table_body(sources: list[SourceRows], signed_in: bool) -> SafeString:
    """The price table's row groups, one <tbody> per source, as HTML. Written here, with
    format_html, rather than in the template: a dozen cells a row, each a variable and a
    condition or two in the template engine, were most of the table's time. A signed-in
    visitor's Alert links open the alert form in place (htmx)."""
    return format_html_join(
        "\n",
        "            <tbody>\n"
        '                <tr class="price-source">\n'
        '                  <th scope="rowgroup" colspan="6">{}{}</th>\n'
        "                </tr>\n"
        "{}\n"
        "              </tbody>",
        (
            (
                group.heading,
                format_html(' <span class="price-source-sample">· {}</span>', group.sales)
                if group.sales
                else "",
                format_html_join(
                    "\n",
                    "{}",
                    (
                        (_row_html(row, group.source.sample_is_product_wide, signed_in),)
                        for row in group.rows
                    ),
                ),
            )
            for group in sources
        ),
    )


SIMULATED_TAG = mark_safe('<span class="tag tag-simulated">Simulated</span>')
ALERT_IN_PLACE = mark_safe(
    ' hx-target="#alert-form-slot" hx-swap="innerHTML show:#alert-panel:top"'
)


def _row_html(row: PriceRow, product_wide: bool, signed_in: bool) -> SafeString:
    if row.is_simulated:
        tag = SIMULATED_TAG
    elif row.qualifier:
        tag = format_html(
            '<span class="tag tag-qualifier" title="Asking prices of current listings, not '
            'sales">{}</span>',
            row.qualifier,
        )
    else:
        tag = ""
    if product_wide:
        sample = format_html(
            '<span title="Counted for the whole card, not per grade: see the {} row">—</span>'
            '<span class="visually-hidden">counted for the whole card, not per grade</span>',
            row.source_name,
        )
    else:
        sample = row.sample
    return format_html(
        "                  <tr{}>\n"
        '                    <th scope="row" class="price-key">\n'
        '                      <span class="price-key-source">{} · </span>{}\n'
        '                      <a class="price-alert-link" href="{}"{}'
        ' aria-label="Create an alert on {}">Alert</a>\n'
        "                      {}\n"
        "                    </th>\n"
        '                    <td class="num price-market" data-label="Market">\n'
        "                      <strong>{}</strong>\n"
        "                      {}\n"
        "                    </td>\n"
        '                    <td class="num" data-label="Sample">{}</td>\n'
        '                    <td class="num" data-label="30 days">{}</td>\n'
        '                    <td class="num" data-label="All-time high / low">{}</td>\n'
        '                    <td data-label="Updated">{}</td>\n'
        "                  </tr>",
        mark_safe(' class="is-simulated"') if row.is_simulated else "",
        row.source_name,
        row.label,
        row.alert_url,
        format_html(' hx-get="{}"{}', row.alert_url, ALERT_IN_PLACE) if signed_in else "",
        row.label,
        tag,
        row.market,
        format_html('<span class="price-range" title="Low – high">{}</span>', row.price_range)
        if row.price_range
        else "",
        sample,
        row.change,
        row.extremes,
        row.updated,
    )


def _sales(count: int | None) -> str:
    if count is None:
        return ""
    return f"{count:,} sale{'' if count == 1 else 's'}, all grades"


def _price_row(card, summary: PriceSummary, create_alert_url: str) -> PriceRow:
    currency = summary.currency
    has_range = summary.low is not None or summary.high is not None
    # As the urlencode filter quotes: "PSA 10" → "PSA%2010".
    query = f"card={card.pk}&price_key={quote(summary.price_key, safe='/')}&from=card"
    return PriceRow(
        summary=summary,
        source_name=history.source_name(summary.source),
        label=keys.label(summary.price_key),
        qualifier=history.source_qualifier(summary.source),
        alert_url=f"{create_alert_url}?{query}",
        market=format_money(summary.market, currency),
        price_range=(
            f"{format_money(summary.low, currency)} – {format_money(summary.high, currency)}"
            if has_range
            else ""
        ),
        sample="—" if summary.sample_size is None else f"{summary.sample_size:,}",
        change=percent_change(summary.change_30d),
        extremes=(
            f"{format_money(summary.all_time_high, currency)} / "
            f"{format_money(summary.all_time_low, currency)}"
        ),
        updated=updated_time(summary.observed_at),
    )


@dataclass(frozen=True)
class StatRow:
    """One line of the statistics table."""

    line: LineStats
    name: str  # "PriceCharting · PSA 10"
    qualifier: str
    observations: str
    days: str  # "30 days"
    average: str
    median: str
    low_high: str
    volatility: SafeString | str
    trend: SafeString


def stat_rows(lines: list[LineStats]) -> list[StatRow]:
    return [_stat_row(line) for line in lines]


def _stat_row(line: LineStats) -> StatRow:
    currency = line.currency
    return StatRow(
        line=line,
        name=f"{history.source_name(line.source)} · {keys.label(line.price_key)}",
        qualifier=history.source_qualifier(line.source),
        observations=f"{line.observations:,}",
        days=f"{line.days} day{'' if line.days == 1 else 's'}",
        average=format_money(line.average, currency),
        median=format_money(line.median, currency),
        low_high=f"{format_money(line.low, currency)} – {format_money(line.high, currency)}",
        volatility=volatility(line.volatility),
        trend=trend(line.trend),
    )


def stats_table_body(rows: list[StatRow]) -> SafeString:
    """The statistics table's rows as HTML, written here for the reason price_table_body
    is: a handful of variables and conditions a row in the template engine."""
    return format_html_join(
        "\n",
        "{}",
        ((_stat_row_html(row),) for row in rows),
    )


def _stat_row_html(row: StatRow) -> SafeString:
    if row.line.simulated:
        tag = mark_safe(f" {SIMULATED_TAG}")
    elif row.qualifier:
        tag = format_html(
            ' <span class="tag tag-qualifier" title="Asking prices of current listings, not '
            'sales">{}</span>',
            row.qualifier,
        )
    else:
        tag = ""
    return format_html(
        "                    <tr{}>\n"
        '                      <th scope="row" class="price-key">{}{}</th>\n'
        '                      <td class="num" data-label="Observations">{} '
        '<span class="price-range">{}</span></td>\n'
        '                      <td class="num" data-label="Average · median"><strong>{}</strong> '
        '<span class="price-range">median {}</span></td>\n'
        '                      <td class="num" data-label="Low – high">{}</td>\n'
        '                      <td class="num" data-label="Volatility">{}</td>\n'
        '                      <td data-label="Trend">{}</td>\n'
        "                    </tr>",
        mark_safe(' class="is-simulated"') if row.line.simulated else "",
        row.name,
        tag,
        row.observations,
        row.days,
        row.average,
        row.median,
        row.low_high,
        row.volatility,
        row.trend,
    )


def period_tabs(periods: list[tuple[str, str, str, str]], current: str) -> SafeString:
    """The chart's period buttons, (value, label, the page's address for the period, the
    htmx history endpoint's) each, the current one marked."""
    return format_html_join(
        "\n",
        '              <a href="{}#chart"\n'
        '                 hx-get="{}"\n'
        '                 hx-replace-url="{}"\n'
        '                 data-period="{}"{}>{}</a>',
        (
            (
                page_url,
                chart_url,
                page_url,
                value,
                mark_safe(' aria-current="true"') if value == current else "",
                label,
            )
            for value, label, page_url, chart_url in periods
        ),
    )


STATS_HEAD = mark_safe(
    "                <thead>\n"
    "                  <tr>\n"
    '                    <th scope="col">Condition / grade</th>\n'
    '                    <th scope="col" class="num"><abbr title="Price observations in the '
    'period, and the days they fall on">Observations</abbr></th>\n'
    '                    <th scope="col" class="num"><abbr title="Mean and median of the daily '
    'prices (a day with several observations counts once, at their average)">Average '
    '<span class="th-sub">median</span></abbr></th>\n'
    '                    <th scope="col" class="num"><abbr title="The lowest and highest price '
    'observed in the period">Low – high</abbr></th>\n'
    '                    <th scope="col" class="num"><abbr title="How much the price swings '
    "from day to day, scaled to a year: the standard deviation of daily log returns × √365. "
    '40% means a typical year moves the price by about ±40%.">Volatility</abbr></th>\n'
    '                    <th scope="col"><abbr title="The best-fit slope of the daily prices, '
    'in % per month, with how sure it is">Trend</abbr></th>\n'
    "                  </tr>\n"
    "                </thead>\n"
)
# The help below the table, its figures the rules of prices.stats (fixed per process).
STATS_HELP = format_html(
    '            <p id="stats-help" class="help stats-help">\n'
    "              Average and median are of the daily prices; low and high the lowest and "
    "highest price observed.\n"
    "              <strong>Volatility</strong> is how much the price swings from day to day, "
    "scaled to a year (the standard deviation of daily log returns × √365): 40% means a "
    "typical year moves the price by about ±40%. It needs {} day-to-day changes.\n"
    "              <strong>Trend</strong> is the best-fit slope of the daily prices in % per "
    "month: rising or falling when its 95% confidence interval leaves out zero and it moves "
    "at least {}% a month, flat otherwise, and too little data under {} days with a price "
    "or over less than {} days.\n",
    stats.RULES["min_returns"],
    stats.RULES["flat_percent"],
    stats.RULES["min_trend_days"],
    stats.RULES["min_trend_span_days"],
)
STATS_SIMULATED = mark_safe(
    'Rows marked <span class="tag tag-simulated">Simulated</span> describe the demo '
    "simulation, not a market."
)
NO_STATS = mark_safe(
    '            <p class="empty">No prices in this period, so no statistics. Try a longer '
    "one.</p>\n"
)


def price_stats(card_name: str, words: str, body: SafeString, simulated: bool) -> SafeString:
    """The statistics block under the chart: the table (its rows `body`,
    stats_table_body()) over `words` ("the last 30 days") and its help, or why there is
    none. Written here rather than in the template for the reason the rows are."""
    if not body:
        table = NO_STATS
    else:
        table = format_html(
            '            <div class="stats-table-wrap">\n'
            '              <table class="data-table stats-table" aria-describedby="stats-help">\n'
            '                <caption class="visually-hidden">Price statistics of {} over {}, per '
            "source and condition or grade</caption>\n"
            "{}"
            "                <tbody>\n"
            "{}\n"
            "                </tbody>\n"
            "              </table>\n"
            "            </div>\n"
            "{}"
            "              {}\n"
            "            </p>\n",
            card_name,
            words,
            STATS_HEAD,
            body,
            STATS_HELP,
            STATS_SIMULATED if simulated else "",
        )
    return format_html(
        '<div id="price-stats" class="price-stats">\n'
        '          <h3 id="stats-heading">Statistics over {}</h3>\n'
        "{}"
        "        </div>",
        words,
        table,
    )
