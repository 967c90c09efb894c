from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from cards.models import Card, CardSet, Game
from cards.search import SORTS, filter_cards, order_cards, parse_query, suggest_spelling


@require_GET
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
    return render(request, "cards/home.html", {"sets_by_game": sets_by_game})


@require_GET
@vary_on_headers("HX-Request")
def search(request):
    raw_query = request.GET.get("q", "").strip()
    game = request.GET.get("game", "")
    if game not in Game.values:
        game = ""
    set_code = request.GET.get("set", "").strip()
    rarity = request.GET.get("rarity", "").strip()
    parsed = parse_query(raw_query)
    sort = request.GET.get("sort") or ("relevance" if parsed.text_terms else "number")
    if sort not in SORTS:
        sort = "number"

    cards = Card.objects.select_related("card_set")
    if parsed.errors:
        cards = cards.none()
    else:
        cards = filter_cards(cards, parsed, game=game, set_code=set_code, rarity=rarity)
        cards = order_cards(cards, sort, has_text=bool(parsed.text_terms))
    page = Paginator(cards, settings.SEARCH_PAGE_SIZE).get_page(request.GET.get("page"))

    suggestion = ""
    if not page.paginator.count and parsed.text_terms and not parsed.errors:
        suggestion = suggest_spelling(parsed.text_terms)

    set_choices = CardSet.objects.filter(cards__isnull=False).distinct()
    if game:
        set_choices = set_choices.filter(game=game)
    rarity_choices = Card.objects.exclude(rarity="")
    if game:
        rarity_choices = rarity_choices.filter(card_set__game=game)
    rarity_choices = rarity_choices.values_list("rarity", flat=True).distinct().order_by("rarity")

    context = {
        "query": raw_query,
        "parsed": parsed,
        "game": game,
        "set_code": set_code,
        "rarity": rarity,
        "sort": sort,
        "sorts": SORTS,
        "games": Game.choices,
        "set_choices": set_choices.order_by("game", "-release_date"),
        "rarity_choices": rarity_choices,
        "page": page,
        "suggestion": suggestion,
        "filter_query": _query_without_page(request),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "cards/search.html#results", context)
    return render(request, "cards/search.html", context)


def _query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@require_GET
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
        request, "cards/set_list.html", {"game": game, "games": Game.choices, "sets": sets}
    )


@require_GET
def set_detail(request, game, code):
    card_set = get_object_or_404(CardSet, game=game, code__iexact=code)
    if card_set.code != code:
        return redirect(card_set, permanent=True)
    cards = card_set.cards.select_related("card_set").order_by("sort_number", "number", "variant")
    return render(request, "cards/set_detail.html", {"card_set": card_set, "cards": cards})


@require_GET
def card_detail(request, pk, slug=None):
    card = get_object_or_404(Card.objects.select_related("card_set"), pk=pk)
    if request.path != card.get_absolute_url():
        return redirect(card, permanent=True)
    other_prints = (
        Card.objects.filter(card_set=card.card_set, number=card.number)
        .exclude(pk=card.pk)
        .select_related("card_set")
    )
    return render(request, "cards/card_detail.html", {"card": card, "other_prints": other_prints})
