"""The card page's grading helper (pages.grading) as HTML, for the card page and for the
helper's own htmx form.

Written with format_html rather than a template: the table's cells each went through a
filter or two (money, labels, times) in the template engine, which cost more than the
figures themselves. Each value is escaped as the template's autoescaping escaped it.
"""

from django.template.defaultfilters import floatformat
from django.utils.safestring import SafeString, mark_safe

from prices import history, keys
from prices.templatetags.prices import time_ago
from tcgtracker.lib.html import format_html, format_html_join
from tcgtracker.lib.money import format_money
from tcgtracker.lib.urls import reversed_with_id

SIMULATED_TAG = mark_safe(' <span class="tag tag-simulated">Simulated</span>')


def grading_panel(card, card_url: str, grading, cost: str, error: str) -> SafeString:
    """The panel for `grading` (a GradingOutlook, or None: no panel), the cost field
    showing `cost` as typed and `error` when it could not be read."""
    if grading is None:
        return mark_safe("")
    raw = grading.raw
    rows = format_html_join(
        "\n",
        '        <tr class="{}">\n'
        '          <th scope="row">{}</th>\n'
        '          <td class="num" data-label="Price">{}</td>\n'
        '          <td class="num" data-label="× raw">{}×</td>\n'
        '          <td class="num" data-label="After grading">{}{}'
        '<span class="visually-hidden">{}</span></td>\n'
        '          <td data-label="Source">{}{}, {}</td>\n'
        "        </tr>",
        (
            (
                "grade-pays" if outcome.pays_off else "grade-loses",
                outcome.label,
                format_money(outcome.price.market, outcome.price.currency),
                floatformat(outcome.multiple, 1),
                "+" if outcome.pays_off else "",
                format_money(outcome.net),
                " gained over selling raw" if outcome.pays_off else " lost over selling raw",
                history.source_name(outcome.price.source),
                SIMULATED_TAG if outcome.price.is_simulated else "",
                time_ago(outcome.price.observed_at),
            )
            for outcome in grading.outcomes
        ),
    )
    invalid = (
        mark_safe('aria-invalid="true" aria-describedby="grading-cost-error"') if error else ""
    )
    error_line = (
        format_html(
            '\n    <p id="grading-cost-error" class="grading-cost-error" role="alert">{}</p>',
            error,
        )
        if error
        else ""
    )
    return format_html(
        PANEL,
        simulated=(
            mark_safe('\n    <span class="tag tag-simulated">Simulated</span>')
            if grading.simulated
            else ""
        ),
        verdict=grading.verdict,
        cost=format_money(grading.cost),
        break_even=format_money(grading.break_even_price),
        card_name=card.name,
        raw_label=keys.label(raw.price_key),
        raw_price=format_money(raw.market, raw.currency),
        raw_source=history.source_name(raw.source),
        raw_simulated=SIMULATED_TAG if raw.is_simulated else "",
        raw_time=time_ago(raw.observed_at),
        rows=rows,
        card_url=card_url,
        grading_url=reversed_with_id("prices:card_grading", card.pk),
        cost_typed=cost,
        invalid=invalid,
        error_line=error_line,
    )


PANEL = """<section id="grading" class="panel grading-panel" aria-labelledby="grading-heading">
  <div class="panel-heading">
    <h2 id="grading-heading">Worth grading?</h2>{simulated}
  </div>
  <p class="grading-verdict"><strong>{verdict}</strong> for {cost} grading: a graded copy has to sell for more than {break_even} (the raw price and the grading) to beat selling it raw.</p>
  <div class="table-wrap">
  <table class="data-table grading-table">
    <caption class="visually-hidden">{card_name}: raw and graded prices, their multiple of the raw price and what grading adds</caption>
    <thead><tr>
      <th scope="col">Copy</th><th scope="col" class="num">Price</th><th scope="col" class="num">× raw</th><th scope="col" class="num">After grading</th><th scope="col">Source</th>
    </tr></thead>
    <tbody>
      <tr>
        <th scope="row">Raw ({raw_label})</th>
        <td class="num" data-label="Price">{raw_price}</td>
        <td class="num" data-label="× raw">1×</td>
        <td class="num" data-label="After grading">—</td>
        <td data-label="Source">{raw_source}{raw_simulated}, {raw_time}</td>
      </tr>
{rows}
    </tbody>
  </table>
  </div>
  <form class="grading-cost-form" method="get" action="{card_url}#grading"
        hx-get="{grading_url}" hx-target="#grading" hx-swap="outerHTML" hx-trigger="submit">
    <label for="grading-cost">Grading cost per card (US$)</label>
    <input id="grading-cost" name="grading_cost" value="{cost_typed}" inputmode="decimal" size="8"
           {invalid}>
    <button id="grading-recalculate" type="submit" class="btn">Recalculate</button>{error_line}
  </form>
  <p class="help">“After grading”: the graded copy's price less the raw price and the grading cost. Grades count as sold at their market price; shipping and fees are not included.</p>
</section>"""  # noqa: E501
