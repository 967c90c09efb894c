"""Staff tools: source health, price-guide upload, review of unmatched rows, job runs."""

import re
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_q.tasks import async_task

from cards.models import Card, CardSet
from cards.search import quick_search
from jobs.models import JobRun
from prices import guide_review, uploads
from prices.matching import console_game
from prices.models import PriceSourceState, Source, UnmatchedRow
from prices.sources.base import CLIENTS, get_client
from tcgtracker.lib.health import LABELS, run_checks
from tcgtracker.lib.http import CircuitBreaker, RateBudget


def source_health() -> list[dict]:
    states = {state.source: state for state in PriceSourceState.objects.all()}
    rows = []
    for name in CLIENTS:
        client = get_client(name)
        config = client.config
        budget = RateBudget(name, *config.rate_limit) if config.rate_limit else None
        rows.append(
            {
                "name": name,
                "label": client.label,
                "enabled": config.enabled,
                "configured": client.is_configured,
                "usable": client.is_usable,
                "base_url": config.base_url,
                "circuit": CircuitBreaker(name).state(),
                "budget_used": budget.used() if budget else None,
                "budget_calls": config.rate_limit[0] if config.rate_limit else None,
                "budget_period": config.rate_limit[1] if config.rate_limit else None,
                "state": states.get(name),
            }
        )
    return rows


@staff_member_required
@require_safe
def sources(request):

    recent = JobRun.objects.all()[:10]
    system = [(LABELS[name], check) for name, check in run_checks().items()]
    context = {"sources": source_health(), "recent": recent, "system": system}
    return render(request, "staff/sources.html", context)


@staff_member_required
@require_POST
def sync_now(request, source):
    if source not in CLIENTS:
        messages.error(request, f"Unknown source {source!r}.")
        return redirect("staff:sources")
    client = get_client(source)
    if not client.is_usable:
        messages.error(request, f"{client.label} is disabled or has no credentials configured.")
        return redirect("staff:sources")
    async_task("prices.tasks.sync_prices", source, task_name=f"sync {source} (staff)")
    messages.success(
        request, f"{client.label} sync queued; it appears under job runs when the worker starts it."
    )
    return redirect("staff:jobs")


class JobFilterForm(forms.Form):
    kind = forms.ChoiceField(choices=[("", "All kinds"), *JobRun.Kind.choices], required=False)
    source = forms.ChoiceField(choices=[("", "All sources"), *Source.choices], required=False)
    status = forms.ChoiceField(choices=[("", "Any status"), *JobRun.Status.choices], required=False)


@staff_member_required
@require_safe
def jobs(request):
    form = JobFilterForm(request.GET)
    runs = JobRun.objects.all()
    if form.is_valid():
        for field in ("kind", "source", "status"):
            if form.cleaned_data[field]:
                runs = runs.filter(**{field: form.cleaned_data[field]})
    page = Paginator(runs, 50).get_page(request.GET.get("page"))
    return render(request, "staff/jobs.html", {"form": form, "page": page})


@staff_member_required
@require_safe
def job_detail(request, pk):
    run = get_object_or_404(JobRun, pk=pk)
    template = "staff/job_detail.html"
    if request.htmx and not request.htmx.boosted:
        template += "#progress"
    return render(request, template, {"run": run})


class PriceGuideUploadForm(forms.Form):
    file = forms.FileField(
        label="PriceCharting price guide (CSV or TSV)",
        help_text="The file from PriceCharting's price-guide download, comma or tab separated.",
    )
    observed_on = forms.DateField(
        label="Prices as of",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Defaults to today.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        head = upload.read(4096)
        upload.seek(0)
        if b"\x00" in head:
            raise forms.ValidationError("That is not a text file.")
        first_line = head.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").lower()
        if "product-name" not in first_line or "console-name" not in first_line:
            raise forms.ValidationError(
                "The first line is not a PriceCharting price-guide header "
                "(it needs id, console-name and product-name columns)."
            )
        return upload


@staff_member_required
def price_guide_upload(request):
    if request.method == "POST":
        form = PriceGuideUploadForm(request.POST, request.FILES)
        if form.is_valid():
            observed_on = form.cleaned_data["observed_on"] or timezone.now().date()
            run = JobRun.objects.create(
                kind=JobRun.Kind.PRICE_IMPORT,
                source=Source.PRICECHARTING,
                status=JobRun.Status.QUEUED,
                description=f"Upload {form.cleaned_data['file'].name}"[:200],
                upload=uploads.save(form.cleaned_data["file"]),
                observed_on=observed_on,
            )
            uploads.queue_upload(run)
            messages.success(request, "Upload received; the import runs in the background.")
            return redirect("staff:job_detail", pk=run.pk)
    else:
        form = PriceGuideUploadForm()
    imports = JobRun.objects.filter(kind=JobRun.Kind.PRICE_IMPORT)[:10]
    return render(request, "staff/price_guide_upload.html", {"form": form, "imports": imports})


# --- Review of the rows an import could not match ----------------------------------------

ROWS_PER_PAGE = 50
CONSOLES_SHOWN = 10
CONSOLES_PER_PAGE = 50
PICKER_RESULTS = 12
# Characters no console or product name has; PostgreSQL refuses NUL in a query.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def _text_param(request, name: str, limit: int = 200) -> str:
    return CONTROL_CHARACTERS.sub("", request.GET.get(name, ""))[:limit].strip()


@staff_member_required
@require_safe
def unmatched(request):
    show = "resolved" if request.GET.get("show") == "resolved" else "open"
    query = _text_param(request, "q")
    console = _text_param(request, "console")
    rows = (
        UnmatchedRow.objects.filter(resolved_at__isnull=show == "open")
        .select_related("matched_card__card_set")
        .prefetch_related("candidates__card_set")
        .order_by("set_name", "product_name", "pk")
    )
    if console:
        rows = rows.filter(set_name=console)
    if query:
        rows = rows.filter(Q(product_name__icontains=query) | Q(set_name__icontains=query))
    page = Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("page"))
    consoles = []
    if show == "open" and not console and not query:
        consoles = list(guide_review.waiting_consoles()[:CONSOLES_SHOWN])
        _attach_sets(consoles)
    context = {
        "page": page,
        "show": show,
        "query": query,
        "console": console,
        "consoles": consoles,
        "waiting": guide_review.waiting_rows().count() if consoles else None,
    }
    return render(request, "staff/unmatched.html", context)


@staff_member_required
@require_safe
def consoles(request):
    page = Paginator(guide_review.waiting_consoles(), CONSOLES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    consoles = list(page.object_list)
    _attach_sets(consoles)
    return render(request, "staff/consoles.html", {"page": page, "consoles": consoles})


def _attach_sets(consoles: list[dict]) -> None:
    named = guide_review.sets_named(group["set_name"] for group in consoles)
    for group in consoles:
        group["sets"] = named.get(group["set_name"], [])


class ConsoleMapForm(forms.Form):
    console = forms.CharField(max_length=200, widget=forms.HiddenInput)
    card_set = forms.ModelChoiceField(
        label="Set",
        queryset=CardSet.objects.none(),
        error_messages={"invalid_choice": "Choose a set of the catalog."},
    )

    def __init__(self, *args, console: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["console"].initial = console
        sets = CardSet.objects.order_by("game", "-release_date", "code")
        game = console_game(console)
        if game is not None:
            sets = sets.filter(game=game)
        self.fields["card_set"].queryset = sets
        self.fields["card_set"].label_from_instance = _set_choice_label

    def clean(self):
        data = super().clean()
        card_set, console = data.get("card_set"), data.get("console")
        if card_set and console:
            problem = guide_review.console_problem(card_set, console)
            if problem:
                raise forms.ValidationError(problem)
        return data


def _set_choice_label(card_set: CardSet) -> str:
    named = f" — now “{card_set.pricecharting_name}”" if card_set.pricecharting_name else ""
    return f"{card_set.name} ({card_set.code}, {card_set.get_game_display()}){named}"


@staff_member_required
@require_http_methods(["GET", "HEAD", "POST"])
def map_console(request):
    """Tell the matcher which set a console-name is, in one step, and match its waiting
    rows again."""
    source = request.POST if request.method == "POST" else request.GET
    console = CONTROL_CHARACTERS.sub("", source.get("console", ""))[:200].strip()
    if not console or not guide_review.waiting_rows(console).exists():
        messages.error(request, "No rows are waiting from that console.")
        return redirect("staff:unmatched")
    if request.method == "POST":
        form = ConsoleMapForm(request.POST, console=console)
        if form.is_valid():
            card_set = form.cleaned_data["card_set"]
            guide_review.teach_console(card_set, console, replace=True)
            run = _rematch(request, card_set, console)
            return redirect("staff:job_detail", pk=run.pk)
    else:
        suggested = guide_review.suggested_sets(console)
        initial = {"card_set": suggested[0].pk} if len(suggested) == 1 else {}
        form = ConsoleMapForm(initial=initial, console=console)
    context = {
        "form": form,
        "console": console,
        "waiting": guide_review.waiting_rows(console).count(),
        "sample": guide_review.waiting_rows(console).order_by("product_name")[:10],
        "mapped": guide_review.sets_named([console]).get(console, []),
        "suggested": guide_review.suggested_sets(console),
    }
    return render(request, "staff/map_console.html", context)


def _rematch(request, card_set: CardSet, console: str) -> JobRun:
    """Queue the re-match of a console's waiting rows and say what it will do."""
    matching = guide_review.count_rows_matching(console)
    waiting = guide_review.waiting_rows(console).count()
    run = guide_review.queue_rematch(console)
    messages.success(
        request,
        f"{card_set} now answers to PriceCharting's “{console}”: {matching} of the "
        f"{waiting} row{pluralize(waiting)} waiting from that console match now, and are "
        f"being matched (job #{run.pk}).",
    )
    return run


@staff_member_required
@require_safe
def unmatched_row(request, pk):
    """One waiting row: its prices, why it waits, its candidates, and a card search."""
    row = get_object_or_404(UnmatchedRow.objects.select_related("matched_card"), pk=pk)
    query = _text_param(request, "q")
    context = {
        "row": row,
        "query": query,
        "results": quick_search(query, PICKER_RESULTS),
        "candidates": row.candidates.select_related("card_set"),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "staff/unmatched_row.html#results", context)
    return render(request, "staff/unmatched_row.html", context)


class MatchForm(forms.Form):
    card = forms.ModelChoiceField(
        queryset=Card.objects.select_related("card_set"),
        error_messages={
            "required": "Choose a card.",
            "invalid_choice": "Choose a card of the catalog: that one is not in it (any more).",
        },
    )
    replace = forms.BooleanField(required=False)


@staff_member_required
@require_POST
def match_row(request, pk):
    row = get_object_or_404(UnmatchedRow, pk=pk)
    if row.resolved_at is not None:
        messages.info(request, f"“{row.product_name}” was matched already.")
        return redirect("staff:unmatched")
    form = MatchForm(request.POST)
    if not form.is_valid():
        invalid = form.has_error("card", "invalid_choice")
        messages.error(request, form.errors["card"][0] if invalid else "Choose a card.")
        return redirect("staff:unmatched_row", pk=row.pk)
    card = form.cleaned_data["card"]
    try:
        result = guide_review.match_unmatched_row(
            row, card, replace_id=form.cleaned_data["replace"]
        )
    except guide_review.MatchConflict:
        context = {"row": row, "query": "", "results": [], "conflict": card}
        context["candidates"] = row.candidates.select_related("card_set")
        return render(request, "staff/unmatched_row.html", context, status=409)
    messages.success(
        request,
        f"Matched “{row.product_name}” to {card} — {result.written} "
        f"price{pluralize(result.written)} written.",
    )
    if guide_review.teach_console(card.card_set, row.set_name):
        _rematch(request, card.card_set, row.set_name)
    if guide_review.waiting_rows(row.set_name).exists():
        return redirect(f"{reverse('staff:unmatched')}?{urlencode({'console': row.set_name})}")
    return redirect("staff:unmatched")
