"""The pages that show several apps' data: home, search, sets, the card page with its
price table and chart, the movers. The layer above the apps: cards knows nothing of prices,
prices nothing of collections; these pages put them together."""

from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpResponseBadRequest, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from cards.models import Card, CardRow, CardSet, Game, card_urls
from cards.search import (
    SORTS,
    filter_choices,
    parse_query,
    search_page,
    suggest_spelling,
)
from collections_app import access
from collections_app.models import Watch
from collections_app.valuation import raw_prices
from pages import card_tables, grading, set_controls, set_table
from pages.card_cache import (
    cache_card_page,
    cached_card_page,
    current_generation,
    is_anonymous_card_page,
)
from pages.card_intro import card_intro
from pages.card_panels import alert_panel
from pages.grading_panel import grading_panel
from pages.mover_list import mover_list
from pages.popularity import count_view
from pages.set_cards import SET_SORTS, SetCards, set_by_code
from pages.set_header import set_header
from prices import headline, history, movers, stats
from prices.headline import HeadlineFigures
from prices.models import Source
from tcgtracker.lib.layout import render_in_layout
from tcgtracker.lib.sql import CompiledQuery
from tcgtracker.lib.urls import reversed_once, reversed_with_id

HOME_MOVERS_PERIOD = "7d"
HOME_WATCHLIST_SIZE = 12
SET_VIEWS = {"grid": "Cards", "table": "Price table"}
SET_SORT_CHOICES = list(SET_SORTS.items())
SET_VIEW_CHOICES = list(SET_VIEWS.items())
# The graded column of a set's price table.
SET_TABLE_GRADE = "PSA 10"
MOST_VALUABLE_SIZE = 5
# Set values sum every card's headline price: the sets list caches them briefly.
SET_VALUES_CACHE_SECONDS = 300


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
        values = game_set_values(game)
        sets_by_game.append((game, [(card_set, values.get(card_set.pk)) for card_set in recent]))
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
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
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
        prices=headline.annotate,
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
        "rows": with_headlines(page.object_list),
        "suggestion": suggestion,
        "fuzzy": fuzzy,
        "filter_query": _query_without_page(request),
    }
    if _is_partial(request):
        return render(request, "pages/search.html#results_response", context)
    return render(request, "pages/search.html", context)


def _query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def with_headlines(cards) -> list[tuple[Card | CardRow, str, HeadlineFigures | None]]:
    """(card, its page's address, its headline price or None) for a page of cards: one
    query, and the addresses reversed once for the page (cards.models.card_urls)."""
    cards = list(cards)
    prices = headline.headline_figures(card.pk for card in cards)
    urls = card_urls(cards)
    return [(card, url, prices.get(card.pk)) for card, url in zip(cards, urls, strict=True)]


@require_safe
def set_list(request):
    game = request.GET.get("game", "")
    if game not in Game.values:
        game = Game.POKEMON
    sets = list(
        CardSet.objects.filter(game=game)
        .annotate(card_count=Count("cards"))
        .order_by("-release_date", "code")
    )
    held = {}
    if request.user.is_authenticated:
        held = dict(
            access.items_for_user(request)
            .filter(card__card_set__game=game)
            .values("card__card_set_id")
            .annotate(held=Count("card_id", distinct=True))
            .values_list("card__card_set_id", "held")
        )
    values = game_set_values(game)
    rows = [(card_set, values.get(card_set.pk), held.get(card_set.pk, 0)) for card_set in sets]
    context = {
        "game": game,
        "games": Game.choices,
        "rows": rows,
        "show_held": request.user.is_authenticated,
        "simulated": any(value and value.simulated for _, value, _ in rows),
    }
    return render(request, "pages/set_list.html", context)


def game_set_values(game: str) -> dict:
    """Every set of a game's value, cached for SET_VALUES_CACHE_SECONDS: the sum reads
    each card's headline price."""
    key = f"pages:set-values:v1:{game}"
    values = cache.get(key)
    if values is None:
        values = headline.set_values(CardSet.objects.filter(game=game))
        cache.set(key, values, SET_VALUES_CACHE_SECONDS)
    return values


@require_safe
def set_detail(request, game, code):
    card_set = set_by_code(game, code)
    if card_set.code != code:
        return redirect(card_set, permanent=True)
    sort = request.GET.get("sort", "")
    if sort not in SET_SORTS:
        sort = "number"
    view = request.GET.get("view", "")
    if view not in SET_VIEWS:
        view = "grid"
    # The tiles and the price table show a few columns of each card, read as tuples
    # (cards.models.CardRow); each card's set is this one, not read again with every card.
    page = Paginator(SetCards(card_set, sort), settings.SET_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = with_headlines(page.object_list)
    graded = {}
    if view == "table":
        graded = headline.key_prices((card.pk for card, _, _ in rows), SET_TABLE_GRADE)
    value, most_valuable, most_valuable_simulated = set_summary(card_set)
    shown = [price for _, _, price in rows if price] + list(graded.values())
    context = {
        "card_set": card_set,
        "page": page,
        "tiles": rows,
        # The price table (?view=table), written in Python (pages.set_table).
        "table": set_table.price_table(
            card_set.name,
            SET_TABLE_GRADE,
            [(card, url, price, graded.get(card.pk)) for card, url, price in rows],
        )
        if view == "table"
        else "",
        # The header, the form and the page links, written in Python (pages.set_header,
        # pages.set_controls).
        "header": set_header(card_set, page.paginator.count, value),
        "controls": set_controls.controls(
            card_set.get_absolute_url(), SET_SORT_CHOICES, sort, SET_VIEW_CHOICES, view
        ),
        "pagination": set_controls.pagination(page, _set_page_query(sort, view)),
        "view": view,
        "set_value": value,
        "most_valuable": mark_safe(most_valuable),
        "simulated": any(price.is_simulated for price in shown) or most_valuable_simulated,
    }
    return render(request, "pages/set_detail.html", context)


class SetSummary(NamedTuple):
    """What a set page shows of all its cards' prices: its value (prices.headline.SetValue,
    or None), its most valuable cards as their list's markup (pages.mover_list; empty when
    none is priced), and whether any of those has only a simulated price."""

    value: headline.SetValue | None
    most_valuable: str
    most_valuable_simulated: bool


def set_summary(card_set) -> SetSummary:
    """A set's SetSummary, cached for SET_VALUES_CACHE_SECONDS: both read every card's
    headline price. The most valuable cards are kept as their markup: the list read back
    from the cache as models, then written, cost a page more than the rest of its header."""
    key = f"pages:set-summary:v2:{card_set.pk}"
    summary = cache.get(key)
    if summary is None:
        cards = card_set.cards.select_related("card_set")
        most_valuable = headline.most_valuable(cards, MOST_VALUABLE_SIZE)
        for _, price in most_valuable:
            price.period_change = price.change_7d
        summary = SetSummary(
            headline.set_values([card_set.pk]).get(card_set.pk),
            str(mover_list(most_valuable, pairs=True)) if most_valuable else "",
            any(price.is_simulated for _, price in most_valuable),
        )
        cache.set(key, tuple(summary), SET_VALUES_CACHE_SECONDS)
    return SetSummary(*summary)


def _set_page_query(sort: str, view: str) -> str:
    """The set page's choices for its page links, defaults left out."""
    params = QueryDict(mutable=True)
    if sort != "number":
        params["sort"] = sort
    if view != "grid":
        params["view"] = view
    return params.urlencode()


# The card page's own lookups, compiled once per process (their compiling cost more than
# running them). The other prints are of the same set, and their links need no more than
# the card.
_CARD_WITH_SET = CompiledQuery(
    lambda pk: (
        Card.objects.select_related("card_set")
        # The page shows neither the search words nor which fields staff curated.
        .defer("search_document", "curated_fields", "card_set__curated_fields")
        .filter(pk=pk)
    ),
    pk=int,
)
_OTHER_PRINTS = CompiledQuery(
    lambda set_id, number, pk: Card.objects.filter(card_set_id=set_id, number=number).exclude(
        pk=pk
    ),
    set_id=int,
    number=str,
    pk=int,
)


@require_safe
def card_detail(request, pk, slug=None):
    # Anonymous visitors all see the same page: it is cached whole (pages.card_cache).
    cacheable = is_anonymous_card_page(request)
    if cacheable and (page := cached_card_page(request, pk)):
        count_view(request, pk)
        return page
    generation = current_generation() if cacheable else 0
    found = _CARD_WITH_SET.objects(pk=pk)
    if not found:
        raise Http404("No Card matches the given query.")
    card = found[0]
    card_url = card.get_absolute_url()
    if request.path != card_url:
        return redirect(with_query(request, card_url), permanent=True)
    other_prints = _OTHER_PRINTS.objects(set_id=card.card_set_id, number=card.number, pk=card.pk)
    # An unknown period falls back to the default: a stale or mistyped link still shows
    # the card. (The htmx history endpoint answers 400 instead.)
    period = request.GET.get("period", "")
    if period not in history.PERIODS:
        period = history.DEFAULT_PERIOD
    context = {
        "card": card,
        "intro": card_intro(card, card.card_set.get_absolute_url()),
        "other_prints": other_prints,
        **card_price_context(card, period, request.user.is_authenticated),
    }
    context.update(grading_context(request, card, context["prices"]))
    context["alert_panel"] = alert_panel(
        card.pk,
        request.user.is_authenticated,
        context["create_alert_url"],
        reversed_once("alerts:list"),
        reversed_once("account_login"),
        request.get_full_path(),
    )
    count_view(request, card.pk)
    if cacheable:
        return cache_card_page(request, card, context, "pages/card_detail.html", generation)
    return render_in_layout(request, "pages/card_detail.html", context)


def with_query(request, path: str) -> str:
    """`path` with the request's query string, so that a redirect to an object's full
    address keeps what was asked of it (?period=1y)."""
    query = request.GET.urlencode()
    return f"{path}?{query}" if query else path


# --- The card page's price table and chart, and the movers -------------------------


def card_price_context(card, period: str, signed_in: bool) -> dict:
    """What the card page's price table and chart need: one query each (the chart's
    none when the card has no prices)."""
    table = price_table_context(card, signed_in)
    if not table["prices"]:
        return {**table, "chart": None, "chart_scripts": "", "period": period, "periods": []}
    return {**table, **chart_context(card, period), "chart_scripts": card_tables.chart_scripts()}


def price_table_context(card, signed_in: bool) -> dict:
    prices = history.current_prices(card)
    # The alert form's address, reversed once for the alert panel and every row's link.
    create_alert_url = reversed_once("alerts:create")
    price_sources = card_tables.price_rows(card, prices, create_alert_url)
    return {
        "prices": prices,
        "create_alert_url": create_alert_url,
        "price_table_url": reversed_with_id("prices:card_prices", card.pk),
        "price_sources": price_sources,
        "price_table_body": card_tables.price_table_body(price_sources, signed_in),
        "has_real": any(not summary.is_simulated for summary in prices),
        "has_simulated": any(summary.is_simulated for summary in prices),
        "has_asks": any(summary.source == Source.EBAY for summary in prices),
    }


def chart_context(card, period: str) -> dict:
    """The chart and, beside it, the period's statistics: one query for both."""
    now = timezone.now()
    data = history.read_period(card.pk, period, now)
    lines = stats.stats_of(data.days)
    periods = period_links(card)
    stat_rows = card_tables.stat_rows(lines)
    return {
        "chart": history.chart(period, now, data),
        "period": period,
        "period_spec": history.PERIODS[period],
        "periods": periods,
        "period_tabs": card_tables.period_tabs(periods, period),
        "stats": stat_rows,
        "price_stats": card_tables.price_stats(
            card.name,
            history.PERIODS[period].words,
            card_tables.stats_table_body(stat_rows),
            any(line.simulated for line in lines),
        ),
        "stats_simulated": any(line.simulated for line in lines),
        "stats_rules": stats.RULES,
    }


def period_links(card) -> list[tuple[str, str, str, str]]:
    """The chart's period buttons: (value, label, the card page's address for the period,
    the htmx history endpoint's), each address reversed once for all five."""
    page = card.get_absolute_url()
    chart = reversed_with_id("prices:card_history", card.pk)
    return [
        (spec.value, spec.label, f"{page}?period={spec.value}", f"{chart}?period={spec.value}")
        for spec in history.PERIODS.values()
    ]


def _is_partial(request) -> bool:
    """An htmx request for a piece of the page. Not a boosted link, nor htmx restoring a
    page missing from its history cache after Back: both get the whole page."""
    return (
        bool(request.htmx) and not request.htmx.boosted and not request.htmx.history_restore_request
    )


@require_safe
@vary_on_headers("HX-Request")
def card_prices(request, pk):
    """The card page's price table, for its htmx polling; the card page otherwise."""
    card = get_object_or_404(Card, pk=pk)
    if not _is_partial(request):
        return redirect(f"{card.get_absolute_url()}#prices")
    context = {"card": card, **price_table_context(card, request.user.is_authenticated)}
    return render(request, "pages/card_detail.html#price_table", context)


def grading_context(request, card, prices) -> dict:
    """The grading helper for the cost asked for (`grading_cost`, in dollars), else the
    default; a cost that cannot be read is said so and the default used."""
    default = settings.GRADING_COST_DEFAULT * 100
    typed = request.GET.get("grading_cost", "").strip()
    cost = grading.parse_cost(typed) if typed else default
    error = ""
    if cost is None:
        error = (
            f"Enter the grading cost in dollars, from 0 to {grading.MAX_COST_DOLLARS:,} "
            "(for example 25 or 12.50)."
        )
        cost = default
    outlook = grading.outlook(prices, cost)
    shown_cost = typed if error else grading.format_cost(cost)
    return {
        "grading": outlook,
        "grading_cost": shown_cost,
        "grading_cost_error": error,
        "grading_cost_default": settings.GRADING_COST_DEFAULT,
        "grading_panel": grading_panel(card, card.get_absolute_url(), outlook, shown_cost, error),
    }


@require_safe
@vary_on_headers("HX-Request")
def card_grading(request, pk):
    """The grading helper for another grading cost, for its htmx form; the card page
    (with that cost) otherwise."""
    card = get_object_or_404(Card, pk=pk)
    if not _is_partial(request):
        params = QueryDict(mutable=True)
        params["grading_cost"] = request.GET.get("grading_cost", "")
        return redirect(f"{card.get_absolute_url()}?{params.urlencode()}#grading")
    context = {"card": card, **grading_context(request, card, history.current_prices(card))}
    return render(request, "pages/_grading_panel.html", context)


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
    # The period buttons select the chart's block and, out of band, the statistics.
    return render(request, "pages/card_history.html", context)


@require_safe
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
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
        return render(request, "pages/movers.html#movers_response", context)
    return render(request, "pages/movers.html", context)
