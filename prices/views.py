from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from cards.models import Card, Game
from prices import history, movers
from prices.models import Source


def card_price_context(card, period: str) -> dict:
    """What the card page's price table and chart need: one query each (the chart's
    none when the card has no prices)."""
    table = price_table_context(card)
    if not table["prices"]:
        return {**table, "chart": None, "period": period, "periods": []}
    return {**table, **chart_context(card, period)}


def price_table_context(card) -> dict:
    prices = history.current_prices(card)
    return {
        "prices": prices,
        "has_simulated": any(summary.is_simulated for summary in prices),
        "has_asks": any(summary.source == Source.EBAY for summary in prices),
    }


def chart_context(card, period: str) -> dict:
    return {
        "chart": history.history_series(card, period),
        "period": period,
        "periods": list(history.PERIODS.values()),
    }


def _is_partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.boosted


@require_GET
@vary_on_headers("HX-Request")
def card_prices(request, pk):
    """The card page's price table, for its htmx polling; the card page otherwise."""
    card = get_object_or_404(Card, pk=pk)
    if not _is_partial(request):
        return redirect(f"{card.get_absolute_url()}#prices")
    context = {"card": card, **price_table_context(card)}
    return render(request, "cards/card_detail.html#price_table", context)


@require_GET
@vary_on_headers("HX-Request")
def card_history(request, pk):
    """The chart's data and period buttons for one period; the card page without htmx.

    An unknown period is a 400 naming the valid ones: this endpoint is only reached from
    the period buttons, so anything else is a bad link worth seeing. (The card page
    itself falls back to the default period instead.)
    """
    period = request.GET.get("period", history.DEFAULT_PERIOD)
    if period not in history.PERIODS:
        return HttpResponseBadRequest(
            f"Unknown period {period!r}: use one of {', '.join(history.PERIODS)}.",
            content_type="text/plain; charset=utf-8",
        )
    card = get_object_or_404(Card, pk=pk)
    if not _is_partial(request):
        return redirect(f"{card.get_absolute_url()}?period={period}#chart")
    context = {"card": card, **chart_context(card, period)}
    return render(request, "cards/card_detail.html#price_chart", context)


@require_GET
@vary_on_headers("HX-Request")
def movers_page(request):
    game = request.GET.get("game", "")
    if game not in Game.values:
        game = Game.POKEMON
    period = request.GET.get("period", "")
    if period not in movers.PERIODS:
        period = movers.DEFAULT_PERIOD
    context = {
        "game": game,
        "game_label": Game(game).label,
        "games": Game.choices,
        "period": period,
        "period_label": movers.PERIOD_LABELS[period],
        "periods": list(movers.PERIOD_LABELS.items()),
        "min_price_cents": movers.MIN_PRICE_CENTS,
        "movers": movers.movers(game, period),
    }
    if _is_partial(request):
        return render(request, "prices/movers.html#movers", context)
    return render(request, "prices/movers.html", context)
