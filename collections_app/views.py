"""My collections: the list, a collection's page (totals, items, value over time,
sharing, settings), inline item add/edit/remove, "Add to collection" from the card page
and search results, the watchlist, and the public page of a shared link.

htmx: a non-boosted htmx request gets a partial — a row, the add panel, the totals (out
of band), the chart's data — and everything else gets a full page or a redirect with a
message, so every action works without JavaScript. An invalid form answers 422 with the
form and its errors (templates/base.html makes htmx swap 422).

Every page values its collection in a constant number of queries (valuation.py); the
items table is sorted in Python on the valuation's rows.
"""

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget

from cards.models import Card
from cards.search import quick_search
from collections_app import snapshots
from collections_app.access import (
    collections_for_user,
    get_collection_for_user,
    get_item_for_user,
    get_shared_collection,
    watches_for_user,
)
from collections_app.forms import (
    FIRST_COLLECTION_NAME,
    AddToCollectionForm,
    CollectionForm,
    ItemForm,
    ShareOptionsForm,
)
from collections_app.models import Collection, CollectionItem, Watch
from collections_app.valuation import (
    CollectionValuation,
    ItemValuation,
    load_items,
    raw_prices,
    value_collection,
    value_collections,
    value_items,
)
from prices import keys
from prices.models import PriceSummary
from tcgtracker.lib.text import parse_id

# ?sort= values of the items table; value and gain read best first, name and set A to Z.
SORT_FIELDS = {"value": "Value", "gain": "Gain / loss", "name": "Card", "set": "Set"}
DESCENDING_FIRST = {"value", "gain"}
DEFAULT_SORT = "-value"
PERIOD_LABELS = {"30d": "30 days", "1y": "1 year", "all": "All time"}
PICKER_RESULTS = 12
# Rows of the items table per page: the totals and the sort cover every item, but a page
# renders at most this many rows (rendering, not valuing, is what a large table costs).
ITEMS_PER_PAGE = 50


def _is_partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.boosted


# --- Sorting the items table ----------------------------------------------------------------


def sort_rows(rows: list[ItemValuation], sort: str) -> list[ItemValuation]:
    """Rows in the order `sort` asks for; items without a value or gain always last."""
    descending = sort.startswith("-")
    field = sort.lstrip("-")
    rows = sorted(rows, key=lambda row: row.name_key)
    if field == "name":
        return rows[::-1] if descending else rows
    if field == "set":
        return sorted(rows, key=lambda row: row.set_key, reverse=descending)
    known = [row for row in rows if getattr(row, field) is not None]
    unknown = [row for row in rows if getattr(row, field) is None]
    # Stable: rows of equal value stay in name order either way.
    known.sort(key=lambda row: getattr(row, field), reverse=descending)
    return known + unknown


def _clean_sort(raw: str | None) -> str:
    if raw and raw.lstrip("-") in SORT_FIELDS and raw.count("-") <= 1:
        return raw
    return DEFAULT_SORT


@dataclass
class SortHeader:
    field: str
    label: str
    url: str
    aria_sort: str  # "ascending", "descending" or "" (not sorted by this column)


def sort_headers(base_url: str, sort: str, period: str = "") -> dict[str, SortHeader]:
    """Each sortable column's header link: the first click sorts the natural way for the
    column, a second click on the sorted column reverses it."""
    headers = {}
    for field, label in SORT_FIELDS.items():
        natural = f"-{field}" if field in DESCENDING_FIRST else field
        if sort.lstrip("-") == field:
            aria = "descending" if sort.startswith("-") else "ascending"
            target = field if sort.startswith("-") else f"-{field}"
        else:
            aria, target = "", natural
        params = QueryDict(mutable=True)
        params["sort"] = target
        if period:
            params["period"] = period
        headers[field] = SortHeader(field, label, f"{base_url}?{params.urlencode()}", aria)
    return headers


def _from_page(request, name: str) -> str | None:
    """A query parameter of the request, or for htmx of the page it was sent from."""
    value = request.GET.get(name)
    if value is None and request.htmx and request.htmx.current_url:
        value = parse_qs(urlsplit(request.htmx.current_url).query).get(name, [None])[0]
    return value


def _sort_from(request) -> str:
    """The table's sort: from the query string, or for htmx from the page it was on."""
    return _clean_sort(_from_page(request, "sort"))


def paginate_rows(rows: list[ItemValuation], page_number, base_url: str, sort: str) -> dict:
    """One page of the sorted rows, and links to the others that keep the sort and open
    at the items (below the totals and the chart, a phone's length down the page)."""
    page = Paginator(rows, ITEMS_PER_PAGE).get_page(page_number)

    def link(number: int) -> str:
        params = QueryDict(mutable=True)
        if sort != DEFAULT_SORT:
            params["sort"] = sort
        if number > 1:
            params["page"] = str(number)
        return f"{base_url}?{params.urlencode()}#items" if params else f"{base_url}#items"

    return {
        "rows": load_items(list(page.object_list)),
        "page": page,
        "previous_url": link(page.previous_page_number()) if page.has_previous() else "",
        "next_url": link(page.next_page_number()) if page.has_next() else "",
    }


# --- Contexts shared by pages and partials --------------------------------------------------


def _table_context(
    collection: Collection, valuation: CollectionValuation, sort: str, page_number=None
) -> dict:
    url = collection.get_absolute_url()
    return {
        "collection": collection,
        "valuation": valuation,
        **paginate_rows(sort_rows(valuation.items, sort), page_number, url, sort),
        "sort": sort,
        "headers": sort_headers(collection.get_absolute_url(), sort),
        "editable": True,
        "show_costs": True,
    }


def _chart_context(
    collection: Collection, period: str, valuation: CollectionValuation, sort: str
) -> dict:
    url = collection.get_absolute_url()
    periods = []
    for key in snapshots.PERIODS:
        params = QueryDict(mutable=True)
        params["period"] = key
        if sort != DEFAULT_SORT:
            params["sort"] = sort  # the table keeps its order when the chart changes
        periods.append((key, PERIOD_LABELS.get(key, key), f"{url}?{params.urlencode()}"))
    return {
        "chart": snapshots.chart_data(collection, period, current=valuation),
        "period": period,
        "periods": periods,
    }


def _share_context(request, collection: Collection, form=None) -> dict:
    url = request.build_absolute_uri(collection.get_share_url()) if collection.is_shared else ""
    return {
        "collection": collection,
        "share_url": url,
        "share_form": form or ShareOptionsForm(instance=collection),
    }


def _item_label(item: CollectionItem) -> str:
    """ "2 × NM", "1 × PSA 10": how an added lot is announced."""
    grading = keys.label(item.price_key) if item.is_graded else item.condition
    return f"{item.quantity} × {grading}"


# --- My collections -----------------------------------------------------------------------


@login_required
@require_safe
def collection_list(request):
    return _list_response(request, CollectionForm(user=request.user))


def _list_response(request, form, status=200):
    collections = list(collections_for_user(request))
    valuations = value_collections(collections)
    rows = [valuations[collection.pk] for collection in collections]
    context = {
        "rows": rows,
        "has_simulated": any(valuation.simulated for valuation in rows),
        "form": form,
    }
    return render(request, "collections/list.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def create(request):
    if request.method != "POST":
        form = CollectionForm(user=request.user)
        return render(request, "collections/form.html", {"form": form})
    form = CollectionForm(request.POST, user=request.user)
    collection = form.save() if form.is_valid() else None
    if collection is None:
        return render(request, "collections/form.html", {"form": form}, status=422)
    messages.success(request, f"Collection “{collection.name}” created. Add its first card.")
    return redirect(collection)


@login_required
@require_safe
def detail(request, pk):
    collection = get_collection_for_user(request, pk)
    period = request.GET.get("period", "")
    if period not in snapshots.PERIODS:
        period = snapshots.DEFAULT_PERIOD
    sort = _clean_sort(request.GET.get("sort"))
    context = _detail_context(request, collection, period, sort, request.GET.get("page"))
    return render(request, "collections/detail.html", context)


def _detail_context(request, collection, period, sort, page_number=None, share_form=None):
    valuation = value_collection(collection)
    context = {
        **_table_context(collection, valuation, sort, page_number),
        **_chart_context(collection, period, valuation, sort),
        **_share_context(request, collection, share_form),
    }
    context["headers"] = sort_headers(
        collection.get_absolute_url(),
        sort,
        period if period != snapshots.DEFAULT_PERIOD else "",
    )
    return context


@login_required
@require_safe
@vary_on_headers("HX-Request")
def chart(request, pk):
    """The chart's data and period buttons for one period; the collection page without
    htmx. An unknown period is a 400: only the period buttons link here."""
    collection = get_collection_for_user(request, pk)
    period = request.GET.get("period", snapshots.DEFAULT_PERIOD)
    if period not in snapshots.PERIODS:
        return HttpResponseBadRequest(
            f"Unknown period {period!r}: use one of {', '.join(snapshots.PERIODS)}.",
            content_type="text/plain; charset=utf-8",
        )
    if not _is_partial(request):
        return redirect(f"{collection.get_absolute_url()}?period={period}#chart")
    valuation = value_collection(collection)
    context = {
        "collection": collection,
        **_chart_context(collection, period, valuation, _sort_from(request)),
    }
    return render(request, "collections/detail.html#chart_controls", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def edit(request, pk):
    collection = get_collection_for_user(request, pk)
    basis = (collection.basis_source, collection.basis_key)
    form = CollectionForm(request.POST or None, instance=collection, user=request.user)
    saved = form.save() if request.method == "POST" and form.is_valid() else None
    if saved is None:
        status = 200
        if request.method == "POST":
            status = 422
            collection.refresh_from_db()  # the form changed the instance it did not save
        context = {"form": form, "collection": collection}
        return render(request, "collections/form.html", context, status=status)
    collection = saved
    if (collection.basis_source, collection.basis_key) != basis:
        snapshots.backfill_all(collection)
    messages.success(request, f"Settings of “{collection.name}” saved.")
    return redirect(collection)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def delete(request, pk):
    collection = get_collection_for_user(request, pk)
    if request.method != "POST":
        count = collection.items.count()
        return render(
            request, "collections/delete.html", {"collection": collection, "count": count}
        )
    name = collection.name
    collection.delete()
    messages.success(request, f"Collection “{name}” deleted.")
    return redirect("collections:list")


@login_required
@require_POST
def share(request, pk):
    """Turn the public link on, replace it (the old one stops working), turn it off, or
    choose what the shared page shows."""
    collection = get_collection_for_user(request, pk)
    action = request.POST.get("action", "")
    options = ShareOptionsForm(request.POST, instance=collection)
    if action in ("start", "options") and not options.is_valid():
        return _invalid_share_options(request, collection, options)
    if action == "start":
        options.save()
        if not collection.is_shared:
            collection.start_sharing()
        message = "Sharing is on: anyone with the link can see this collection."
    elif action == "renew":
        collection.start_sharing()
        message = "New link created: the old link no longer works."
    elif action == "stop":
        collection.stop_sharing()
        message = "Sharing is off: the link no longer works."
    elif action == "options":
        options.save()
        message = "Sharing options saved."
    else:
        return HttpResponseBadRequest(
            "Unknown action: use start, renew, stop or options.",
            content_type="text/plain; charset=utf-8",
        )
    if _is_partial(request):
        context = {**_share_context(request, collection), "share_message": message}
        return render(request, "collections/detail.html#share_panel", context)
    messages.success(request, message)
    return redirect(f"{collection.get_absolute_url()}#sharing")


def _invalid_share_options(request, collection: Collection, form) -> HttpResponse:
    """The sharing panel with the options' errors (nothing saved, sharing unchanged); the
    whole collection page around it without htmx."""
    collection.refresh_from_db()  # the form changed the instance it did not save
    if _is_partial(request):
        context = _share_context(request, collection, form)
        return render(request, "collections/detail.html#share_panel", context, status=422)
    context = _detail_context(
        request, collection, snapshots.DEFAULT_PERIOD, DEFAULT_SORT, share_form=form
    )
    return render(request, "collections/detail.html", context, status=422)


# --- Items ---------------------------------------------------------------------------------


def _card_or_none(raw) -> Card | None:
    card_id = parse_id(raw)
    if card_id is None:
        return None
    return Card.objects.select_related("card_set").filter(pk=card_id).first()


def _picker_context(request, collection: Collection) -> dict:
    query = request.GET.get("q", "").strip()
    cards = quick_search(query, PICKER_RESULTS)
    return {"collection": collection, "query": query, "cards": cards, "card": None}


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def add_item(request, pk):
    """Add a lot to a collection: pick a card (a catalog search), then fill in the lot."""
    collection = get_collection_for_user(request, pk)
    if request.method != "POST":
        card = _card_or_none(request.GET.get("card"))
        if card is None:
            context = _picker_context(request, collection)
            if _is_partial(request) and request.htmx.target == "card-picker-results":
                return render(request, "collections/add_item.html#picker_results", context)
            return _add_item_response(request, context)
        context = {"collection": collection, "card": card, "form": ItemForm(card=card)}
        return _add_item_response(request, context)

    card = _card_or_none(request.POST.get("card"))
    if card is None:
        context = {**_picker_context(request, collection), "error": "Choose a card first."}
        return _add_item_response(request, context, status=422)
    form = ItemForm(request.POST, card=card)
    if not form.is_valid():
        context = {"collection": collection, "card": card, "form": form}
        return _add_item_response(request, context, status=422)
    item = form.save(commit=False)
    item.collection = collection
    item.save()
    snapshots.backfill_after_change(collection, item.purchase_date)
    if _is_partial(request):
        valuation = value_collection(collection)
        context = {
            **_table_context(
                collection, valuation, _sort_from(request), _from_page(request, "page")
            ),
            "item": item,
            "added": _item_label(item),
            "oob": True,
        }
        return render(request, "collections/detail.html#item_added", context)
    messages.success(request, f"Added {_item_label(item)} {card.name} to “{collection.name}”.")
    return redirect(f"{collection.get_absolute_url()}#item-{item.pk}")


def _add_item_response(request, context, status=200):
    template = "collections/add_item.html"
    if _is_partial(request):
        template += "#add_panel"
    return render(request, template, context, status=status)


def _row_response(request, item: CollectionItem, status=200):
    """One item's row, and the collection's totals out of band."""
    collection = item.collection
    valuation = value_collection(collection)
    [row] = load_items([row for row in valuation.items if row.item.pk == item.pk])
    context = {
        "collection": collection,
        "valuation": valuation,
        "row": row,
        "editable": True,
        "show_costs": True,
        "oob": True,
    }
    return render(request, "collections/detail.html#row_response", context, status=status)


@login_required
@require_safe
def item_detail(request, pk):
    """One item's row (what an inline edit's Cancel swaps back); the collection otherwise."""
    item = get_item_for_user(request, pk)
    if not _is_partial(request):
        return redirect(f"{item.collection.get_absolute_url()}#item-{item.pk}")
    valuation = value_items(item.collection, [item])
    context = {
        "collection": item.collection,
        "row": valuation.items[0],
        "editable": True,
        "show_costs": True,
    }
    return render(request, "collections/detail.html#item_row", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def edit_item(request, pk):
    item = get_item_for_user(request, pk)
    collection = item.collection
    old_date = item.purchase_date
    form = ItemForm(request.POST or None, instance=item, auto_id=f"item-{item.pk}-%s")
    if request.method != "POST" or not form.is_valid():
        status = 422 if request.method == "POST" else 200
        context = {"collection": collection, "item": item, "card": item.card, "form": form}
        template = "collections/item_form.html"
        if _is_partial(request):
            template += "#edit_row"
        return render(request, template, context, status=status)
    changed = form.has_changed()
    item = form.save()
    if changed:
        snapshots.backfill_after_change(collection, old_date, item.purchase_date)
    if _is_partial(request):
        return _row_response(request, item)
    messages.success(request, f"Saved {item.card.name} ({item.grading_label}).")
    return redirect(f"{collection.get_absolute_url()}#item-{item.pk}")


@login_required
@require_POST
def delete_item(request, pk):
    item = get_item_for_user(request, pk)
    collection = item.collection
    description = f"{item.card.name} ({_item_label(item)})"
    purchase_date = item.purchase_date
    item.delete()
    snapshots.backfill_after_change(collection, purchase_date)
    if _is_partial(request):
        # Swapped over the items table: the table without the row, and the totals.
        valuation = value_collection(collection)
        context = {
            **_table_context(
                collection, valuation, _sort_from(request), _from_page(request, "page")
            ),
            "oob": True,
        }
        return render(request, "collections/detail.html#item_deleted", context)
    messages.success(request, f"Removed {description} from “{collection.name}”.")
    return redirect(collection)


# --- Add to collection from a card page or search results ---------------------------------


def _card_for(request) -> Card:
    raw = request.POST.get("card") if request.method == "POST" else request.GET.get("card")
    card = _card_or_none(raw)
    if card is None:
        raise Http404("Which card? Open this form from a card page or the search results.")
    return card


def _safe_next(request) -> str:
    """The page to return to: a path on this site, else "". (redirect() takes a bare word
    such as "-1" for a URL name, and fails on it.)"""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def add_card(request):
    card = _card_for(request)
    collections = list(collections_for_user(request).only("pk", "name"))
    params = request.POST if request.method == "POST" else None
    form = AddToCollectionForm(
        params,
        user=request.user,
        collections=collections,
        card=card,
        auto_id=f"add-card-{card.pk}-%s",
    )
    context = {
        "card": card,
        "form": form,
        "collections": collections,
        "first_collection_name": FIRST_COLLECTION_NAME,
        "next": _safe_next(request),
    }
    template = "collections/add_card.html"
    if _is_partial(request):
        template += "#add_card_form"
    if request.method != "POST":
        return render(request, template, context)
    if not form.is_valid():
        return render(request, template, context, status=422)
    with transaction.atomic():
        item = form.save()
    collection = item.collection
    snapshots.backfill_after_change(collection, item.purchase_date)
    if _is_partial(request):
        context.update({"item": item, "collection": collection, "added": _item_label(item)})
        return render(request, "collections/add_card.html#added", context)
    messages.success(request, f"Added {_item_label(item)} {card.name} to “{collection.name}”.")
    return redirect(context["next"] or collection.get_absolute_url())


# --- Watchlist -----------------------------------------------------------------------------


@dataclass
class WatchRow:
    watch: Watch
    price: PriceSummary | None

    @property
    def is_simulated(self) -> bool:
        return self.price is not None and self.price.is_simulated


def watch_rows(watches: list[Watch]) -> list[WatchRow]:
    """Each watched card with its representative raw price, in one query for them all."""
    prices = raw_prices(watch.card_id for watch in watches)
    return [WatchRow(watch, prices.get(watch.card_id)) for watch in watches]


@login_required
@require_safe
def watchlist(request):
    watches = list(watches_for_user(request).select_related("card__card_set"))
    rows = watch_rows(watches)
    context = {"rows": rows, "has_simulated": any(row.is_simulated for row in rows)}
    return render(request, "collections/watchlist.html", context)


@login_required
@require_POST
def toggle_watch(request, card_pk):
    """Watch or stop watching a card. The form says which (watch=1 or 0), so a double
    click or a second tab cannot flip it back; without it the state toggles."""
    card = get_object_or_404(Card.objects.select_related("card_set"), pk=card_pk)
    watches = watches_for_user(request).filter(card=card)
    wanted = request.POST.get("watch")
    if wanted not in ("0", "1"):
        wanted = "0" if watches.exists() else "1"
    if wanted == "1":
        Watch.objects.get_or_create(user=request.user, card=card)
    else:
        watches.delete()
    watching = wanted == "1"
    if _is_partial(request):
        if request.POST.get("from") == "watchlist" and not watching:
            if watches_for_user(request).exists():
                return HttpResponse("")  # swapped over the watchlist row: the row goes
            # The last one: the list makes way for its empty state.
            response = render(request, "collections/watchlist.html#watchlist_body", {"rows": []})
            return reswap(retarget(response, "#watchlist"), "outerHTML")
        context = {"card": card, "watching": watching, "next": _safe_next(request)}
        return render(request, "collections/_watch_button.html", context)
    if watching:
        messages.success(request, f"Watching {card.name}: it is on your watchlist.")
    else:
        messages.success(request, f"Stopped watching {card.name}.")
    return redirect(_safe_next(request) or card.get_absolute_url())


# --- The public page of a shared link ------------------------------------------------------


def display_name(user) -> str:
    """The owner's name for the shared page: their full name, if they gave one.

    Never the username: allauth derives it from the email address.
    """
    return user.get_full_name().strip() or "A collector"


@require_safe
def shared(request, token):
    """Read-only: the items and their value; what was paid and the owner's name only if
    the owner chose to show them, and never their email address."""
    collection = get_shared_collection(token)
    sort = _clean_sort(request.GET.get("sort"))
    if sort.lstrip("-") == "gain" and not collection.share_purchase_prices:
        # The order of the gains would tell what was paid for each item.
        sort = DEFAULT_SORT
    valuation = value_collection(collection)
    context = {
        "collection": collection,
        "valuation": valuation,
        **paginate_rows(
            sort_rows(valuation.items, sort), request.GET.get("page"), request.path, sort
        ),
        "sort": sort,
        "headers": sort_headers(request.path, sort),
        "editable": False,
        "show_costs": collection.share_purchase_prices,
        "owner_name": display_name(collection.user) if collection.share_owner_name else "",
        "site_name": settings.SITE_NAME,
    }
    response = render(request, "collections/shared.html", context)
    response["X-Robots-Tag"] = "noindex"
    return response
