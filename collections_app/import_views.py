"""CSV export and import of a collection: upload, preview (progress, then the rows
matched, ambiguous and rejected), resolve or drop rows, commit or discard.

Every view finds the collection through collections_app.access (someone else's is a
404) and the import within it. htmx polls the progress and swaps one row when it is
resolved; without JavaScript the page refreshes itself and the forms post normally.
"""

import os

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count, Prefetch, Q
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import HttpResponseClientRefresh
from django_q.tasks import async_task

from cards.models import Card
from collections_app import exporting, import_storage, importing
from collections_app.access import get_collection_for_user
from collections_app.models import CollectionImport, ImportRow
from tcgtracker.lib.text import parse_id

ROWS_SHOWN = 200


class ImportForm(forms.Form):
    file = forms.FileField(label="CSV file")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = importing.max_upload_bytes()
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {upload.size / 1_048_576:.1f} MB; files up to "
                f"{limit / 1_048_576:.0f} MB can be imported. Split it into smaller files."
            )
        data = upload.read(limit + 1)
        try:
            self.text, self.note = importing.decode_upload(data)
            self.spec, _ = importing.detect_format(self.text)
        except importing.ImportFileError as error:
            raise forms.ValidationError(str(error)) from None
        return upload


def _is_partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.boosted


def _get_import(request, pk, import_pk) -> CollectionImport:
    collection = get_collection_for_user(request, pk)
    imports = collection.imports.exclude(status=CollectionImport.Status.DISCARDED)
    collection_import = get_object_or_404(imports, pk=import_pk)
    collection_import.collection = collection
    return collection_import


@login_required
@require_safe
def export_csv(request, pk):
    collection = get_collection_for_user(request, pk)
    response = StreamingHttpResponse(
        exporting.csv_lines(collection), content_type="text/csv; charset=utf-8"
    )
    filename = exporting.export_filename(collection)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def upload(request, pk):
    collection = get_collection_for_user(request, pk)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        collection_import = _store_upload(request, collection, form) if form.is_valid() else None
        if collection_import is None:
            return render(
                request, "collections/import.html", _upload_context(collection, form), status=422
            )
        async_task(
            "collections_app.tasks.read_import",
            collection_import.pk,
            task_name=f"read import {collection_import.pk}",
        )
        if form.note:
            messages.info(request, form.note)
        return redirect(collection_import)
    return render(request, "collections/import.html", _upload_context(collection, form))


def _store_upload(request, collection, form) -> CollectionImport | None:
    """The new import, or None with the user's limit as the form's error."""
    upload = form.cleaned_data["file"]
    with transaction.atomic():
        # One upload at a time per user, so two at once cannot pass the limits together.
        list(get_user_model().objects.select_for_update().filter(pk=request.user.pk))
        error = import_storage.limit_error(request.user, upload.size)
        if error:
            form.add_error(None, error)
            return None
        return CollectionImport.objects.create(
            collection=collection,
            filename=os.path.basename(upload.name or "upload.csv")[:255],
            content=form.text,
            size=upload.size,
            format=form.spec.key,
        )


def _upload_context(collection, form) -> dict:
    unfinished = collection.imports.exclude(
        status__in=[CollectionImport.Status.COMMITTED, CollectionImport.Status.DISCARDED]
    )
    return {
        "collection": collection,
        "form": form,
        "formats": importing.FORMATS,
        "recent": unfinished[:5],
        "usage": import_storage.ImportUsage.of(collection.user),
        "limits": import_storage.limits(),
        "keep_days": settings.COLLECTION_IMPORT_KEEP_DAYS,
    }


def _summary(collection_import: CollectionImport) -> dict:
    counts = {"matched": 0, "watch": 0, "ambiguous": 0, "rejected": 0, "dropped": 0}
    grouped = (
        collection_import.rows.values("status", "dropped", "watch_only")
        .annotate(n=Count("pk"), gone=Count("pk", filter=Q(card__isnull=True)))
        .order_by()
    )
    for group in grouped:
        if group["dropped"]:
            counts["dropped"] += group["n"]
        elif group["status"] == ImportRow.Status.MATCHED:
            # A matched card deleted from the catalog since: the row cannot be imported.
            counts["rejected"] += group["gone"]
            counts["watch" if group["watch_only"] else "matched"] += group["n"] - group["gone"]
        else:
            counts[group["status"]] += group["n"]
    counts["blocking"] = counts["ambiguous"] + counts["rejected"]
    counts["total"] = sum(group["n"] for group in grouped)
    return counts


def _rows(collection_import: CollectionImport, *statuses):
    return (
        collection_import.rows.filter(status__in=statuses)
        .select_related("card__card_set")
        .prefetch_related(Prefetch("candidates", queryset=Card.objects.select_related("card_set")))
        .order_by("line")
    )


def _preview_context(collection_import: CollectionImport) -> dict:
    context = {"collection": collection_import.collection, "import": collection_import}
    if collection_import.status != CollectionImport.Status.READY:
        return context
    summary = _summary(collection_import)
    tables = {}
    for name, status in [
        ("ambiguous", ImportRow.Status.AMBIGUOUS),
        ("rejected", ImportRow.Status.REJECTED),
        ("matched", ImportRow.Status.MATCHED),
    ]:
        rows = list(_rows(collection_import, status)[: ROWS_SHOWN + 1])
        tables[name] = {"rows": rows[:ROWS_SHOWN], "more": len(rows) > ROWS_SHOWN}
    context.update(summary=summary, tables=tables, rows_shown=ROWS_SHOWN)
    return context


@login_required
@require_safe
def preview(request, pk, import_pk):
    collection_import = _get_import(request, pk, import_pk)
    if _is_partial(request) and request.GET.get("progress"):
        if collection_import.status in {
            CollectionImport.Status.PENDING,
            CollectionImport.Status.READING,
        }:
            return render(
                request,
                "collections/import_preview.html#progress",
                {"import": collection_import, "collection": collection_import.collection},
            )
        return HttpResponseClientRefresh()
    return render(request, "collections/import_preview.html", _preview_context(collection_import))


@login_required
@require_POST
def resolve_row(request, pk, import_pk, row_pk):
    collection_import = _get_import(request, pk, import_pk)
    row = get_object_or_404(collection_import.rows.all(), pk=row_pk)
    error = ""
    if collection_import.status != CollectionImport.Status.READY:
        error = "This import can no longer be changed."
    else:
        action = request.POST.get("action", "")
        if action == "drop":
            row.dropped = True
            row.save(update_fields=["dropped"])
        elif action == "restore":
            row.dropped = False
            row.save(update_fields=["dropped"])
        elif action == "choose":
            raw = request.POST.get("card", "")
            try:
                importing.choose_card(row, parse_id(raw) or 0)
            except ValueError as failure:
                error = str(failure)
        else:
            error = "Choose a card, or drop the row."
    if _is_partial(request):
        row = _rows(collection_import, row.status).get(pk=row.pk)
        context = {
            "row": row,
            "row_error": error,
            "import": collection_import,
            "collection": collection_import.collection,
            "summary": _summary(collection_import),
        }
        return render(
            request,
            "collections/import_preview.html#row_response",
            context,
            status=422 if error else 200,
        )
    if error:
        messages.error(request, f"Line {row.line}: {error}")
    return redirect(f"{collection_import.get_absolute_url()}#import-row-{row.pk}")


@login_required
@require_POST
def commit(request, pk, import_pk):
    collection_import = _get_import(request, pk, import_pk)
    try:
        result = importing.commit_import(collection_import)
    except importing.CommitRefused as refusal:
        messages.error(request, str(refusal))
        collection_import.refresh_from_db(fields=["status"])
        if collection_import.status == CollectionImport.Status.COMMITTED:
            return redirect(collection_import.collection)
        return redirect(collection_import)
    parts = [f"{result.items_created} item{'s' if result.items_created != 1 else ''}"]
    if result.watches_created:
        parts.append(
            f"{result.watches_created} card{'s' if result.watches_created != 1 else ''} "
            "added to your watchlist"
        )
    messages.success(request, f"Imported {' and '.join(parts)} from {collection_import.filename}.")
    return redirect(collection_import.collection)


@login_required
@require_POST
def discard(request, pk, import_pk):
    collection_import = _get_import(request, pk, import_pk)
    importing.discard_import(collection_import)
    messages.success(request, f"Discarded the import of {collection_import.filename}.")
    return redirect("collections:import", pk)
