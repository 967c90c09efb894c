"""Staff tools: source health, price-guide upload, unmatched-row review, job runs."""

import uuid
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe
from django_q.tasks import async_task

from cards.models import Card
from prices.models import JobRun, PriceSourceState, Source, UnmatchedRow
from prices.sources.base import CLIENTS, get_client
from prices.sources.http import CircuitBreaker, RateBudget
from tcgtracker.lib.text import parse_id

UPLOAD_DIR = settings.BASE_DIR / "var" / "uploads"


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
    return render(request, "staff/sources.html", {"sources": source_health(), "recent": recent})


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
            path = _save_upload(form.cleaned_data["file"])
            observed_on = form.cleaned_data["observed_on"] or timezone.now().date()
            run = JobRun.objects.create(
                kind=JobRun.Kind.PRICE_IMPORT,
                source=Source.PRICECHARTING,
                status=JobRun.Status.QUEUED,
                description=f"Upload {form.cleaned_data['file'].name}",
            )
            transaction.on_commit(
                lambda: async_task(
                    "prices.tasks.import_price_guide_file",
                    str(path),
                    run.pk,
                    observed_on.isoformat(),
                    task_name=f"price guide import {run.pk}",
                )
            )
            messages.success(request, "Upload received; the import runs in the background.")
            return redirect("staff:job_detail", pk=run.pk)
    else:
        form = PriceGuideUploadForm()
    imports = JobRun.objects.filter(kind=JobRun.Kind.PRICE_IMPORT)[:10]
    return render(request, "staff/price_guide_upload.html", {"form": form, "imports": imports})


def _save_upload(upload) -> Path:
    UPLOAD_DIR.mkdir(parents=True, exist_ok=True)
    path = UPLOAD_DIR / f"price-guide-{uuid.uuid4().hex}.csv"
    with path.open("wb") as destination:
        for chunk in upload.chunks():
            destination.write(chunk)
    return path


@staff_member_required
@require_safe
def unmatched(request):
    show = request.GET.get("show", "open")
    rows = UnmatchedRow.objects.prefetch_related("candidates__card_set").order_by(
        "set_name", "product_name"
    )
    rows = rows.filter(resolved_at__isnull=show == "open")
    query = request.GET.get("q", "").strip()
    if query:
        rows = rows.filter(product_name__icontains=query) | rows.filter(set_name__icontains=query)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "staff/unmatched.html", {"page": page, "show": show, "query": query})


@staff_member_required
@require_POST
def match_row(request, pk):
    from prices.pricecharting_import import MatchConflict, match_unmatched_row

    row = get_object_or_404(UnmatchedRow, pk=pk, resolved_at__isnull=True)
    card_id = parse_id(request.POST.get("card"))
    card = Card.objects.filter(pk=card_id).first() if card_id else None
    if card is None:
        messages.error(request, "Choose a card, or give a card id from the catalog.")
        return redirect("staff:unmatched")
    try:
        result = match_unmatched_row(row, card, replace_id=request.POST.get("replace") == "1")
    except MatchConflict:
        messages.error(
            request,
            f"{card} already has PriceCharting id {card.pricecharting_id}. To move it to "
            f"{row.external_id}, match again with “replace its id” ticked.",
        )
        return redirect("staff:unmatched")
    messages.success(
        request,
        f"Matched “{row.product_name}” to {card} — {result.written} prices written.",
    )
    return redirect("staff:unmatched")
