"""The pages that show several apps' data: home, search, sets, the card page with its
price table and chart, the movers. The layer above the apps: cards knows nothing of prices,
prices nothing of collections; these pages put them together."""

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Count, F
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from cards.models import Card, CardSet, Game
from cards.search import SORTS, filter_choices, parse_query, search_page, suggest_spelling
from collections_app.models import Watch
from collections_app.valuation import raw_prices
from pages.card_cache import (
    cache_card_page,
    cached_card_page,
    current_generation,
    is_anonymous_card_page,
)
from prices import history, movers
from prices.models import Source

HOME_MOVERS_PERIOD = "7d"
HOME_WATCHLIST_SIZE = 12


@require_safe
def home(request):
    sets_by_game = []
    for game in Game:
        recent = (
            CardSet.objects.filter(game=game)
            .annotate(card_count=Count("cards"))
            .filter(card_count__gt=0)
            .order_by("-release_date")[:6]
        )
        sets_by_game.append((game, recent))
    movers_by_game = [
        (game, movers.movers(game, HOME_MOVERS_PERIOD, limit=5, most_watched=False))
        for game in Game
    ]
    context = {
        "sets_by_game": sets_by_game,
        "movers_by_game": [(game, m) for game, m in movers_by_game if m.gainers or m.losers],
        "movers_period": HOME_MOVERS_PERIOD,
    }
    if request.user.is_authenticated:
        context["watchlist"] = watchlist_preview(request.user)
    return render(request, "pages/home.html", context)


def watchlist_preview(user) -> dict:
    """The home page's "My watchlist": the user's latest watched cards, each with its
    representative raw price (as the watchlist page values it) and that price's 7-day
    change. Two queries, however many cards are watched."""
    watches = list(
        Watch.objects.filter(user=user).select_related("card__card_set")[: HOME_WATCHLIST_SIZE + 1]
    )
    shown = watches[:HOME_WATCHLIST_SIZE]
    prices = raw_prices(watch.card_id for watch in shown)
    rows = []
    for watch in shown:
        price = prices.get(watch.card_id)
        if price is not None:
            price.period_change = price.change_7d
        rows.append((watch.card, price))
    return {
        "rows": rows,
        "more": len(watches) > HOME_WATCHLIST_SIZE,
        "simulated": any(price is not None and price.is_simulated for _, price in rows),
    }


@require_safe
@vary_on_headers("HX-Request")
def search(request):
    raw_query = request.GET.get("q", "").strip()
    game = request.GET.get("game", "")
    if game not in Game.values:
        game = ""
    set_code = request.GET.get("set", "").strip()
    rarity = request.GET.get("rarity", "").strip()
    parsed = parse_query(raw_query)
    sort_choice = request.GET.get("sort", "")
    if sort_choice not in SORTS:
        sort_choice = ""
    sort = sort_choice or ("relevance" if parsed.text_terms else "number")

    page, fuzzy = search_page(
        parsed,
        game=game,
        set_code=set_code,
        rarity=rarity,
        sort=sort,
        page_number=request.GET.get("page"),
        per_page=settings.SEARCH_PAGE_SIZE,
    )
    suggestion = ""
    if not page.paginator.count and parsed.text_terms and not parsed.errors and not fuzzy:
        suggestion = suggest_spelling(parsed.text_terms)

    choices = filter_choices(game)
    # The menus select by exact value: use the catalog's spelling of what was typed.
    set_code = next((c for c, _ in choices["sets"] if c.lower() == set_code.lower()), set_code)
    rarity = next((r for r in choices["rarities"] if r.lower() == rarity.lower()), rarity)
    context = {
        "query": raw_query,
        "parsed": parsed,
        "game": game,
        "set_code": set_code,
        "rarity": rarity,
        "sort_choice": sort_choice,
        "sorts": [(value, label) for value, label in SORTS.items() if value != "relevance"],
        "games": Game.choices,
        "set_choices": choices["sets"],
        "rarity_choices": [(rarity, rarity) for rarity in choices["rarities"]],
        "page": page,
        "suggestion": suggestion,
        "fuzzy": fuzzy,
        "filter_query": _query_without_page(request),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "pages/search.html#results", context)
    return render(request, "pages/search.html", context)


def _query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@require_safe
def set_list(request):
    game = request.GET.get("game", "")
    if game not in Game.values:
        game = Game.POKEMON
    sets = (
        CardSet.objects.filter(game=game)
        .annotate(card_count=Count("cards"))
        .order_by("-release_date", "code")
    )
    return render(
        request, "pages/set_list.html", {"game": game, "games": Game.choices, "sets": sets}
    )


@require_safe
def set_detail(request, game, code):
    card_set = get_object_or_404(CardSet, game=game, code__iexact=code)
    if card_set.code != code:
        return redirect(card_set, permanent=True)
    cards = card_set.cards.select_related("card_set").order_by("sort_number", "number", "variant")
    page = Paginator(cards, settings.SET_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "pages/set_detail.html", {"card_set": card_set, "page": page})


@require_safe
def card_detail(request, pk, slug=None):
    # Anonymous visitors all see the same page: it is cached whole (pages.card_cache).
    cacheable = is_anonymous_card_page(request)
    if cacheable and (page := cached_card_page(request, pk)):
        count_view(request, Card(pk=pk))
        return page
    generation = current_generation() if cacheable else 0
    card = get_object_or_404(Card.objects.select_related("card_set"), pk=pk)
    if request.path != card.get_absolute_url():
        return redirect(card, permanent=True)
    other_prints = (
        Card.objects.filter(card_set=card.card_set, number=card.number)
        .exclude(pk=card.pk)
        .select_related("card_set")
    )
    # An unknown period falls back to the default: a stale or mistyped link still shows
    # the card. (The htmx history endpoint answers 400 instead.)
    period = request.GET.get("period", "")
    if period not in history.PERIODS:
        period = history.DEFAULT_PERIOD
    context = {"card": card, "other_prints": other_prints, **card_price_context(card, period)}
    count_view(request, card)
    if cacheable:
        return cache_card_page(request, card, context, "pages/card_detail.html", generation)
    return render(request, "pages/card_detail.html", context)


VIEW_DEDUPE_SECONDS = 60 * 60


def count_view(request, card) -> None:
    """Popularity: one view per visitor and card an hour, so reloads do not inflate it."""
    visitor = request.user.pk if request.user.is_authenticated else request.META.get("REMOTE_ADDR")
    digest = hashlib.sha256(f"{visitor}:{card.pk}".encode()).hexdigest()[:24]
    if cache.add(f"card-view:{digest}", 1, VIEW_DEDUPE_SECONDS):
        Card.objects.filter(pk=card.pk).update(popularity=F("popularity") + 1)


# --- The card page's price table and chart, and the movers -------------------------


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
        "price_sources": history.by_source(prices),
        "has_real": any(not summary.is_simulated for summary in prices),
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


@require_safe
@vary_on_headers("HX-Request")
def card_prices(request, pk):
    """The card page's price table, for its htmx polling; the card page otherwise."""
    card = get_object_or_404(Card, pk=pk)
    if not _is_partial(request):
        return redirect(f"{card.get_absolute_url()}#prices")
    context = {"card": card, **price_table_context(card)}
    return render(request, "pages/card_detail.html#price_table", context)


@require_safe
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
    return render(request, "pages/card_detail.html#price_chart", context)


@require_safe
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
        return render(request, "pages/movers.html#movers", context)
    return render(request, "pages/movers.html", context)
