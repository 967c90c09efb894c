"""The price tools staff reach from the catalog admin."""

from django.contrib import admin, messages
from django_q.tasks import async_task

from cards.admin import CardAdmin
from prices.sync import usable_sources


@admin.action(description="Sync prices of the selected cards now")
def sync_prices_now(modeladmin, request, queryset):
    card_ids = list(queryset.values_list("pk", flat=True))
    sources = usable_sources()
    for source in sources:
        async_task("prices.tasks.sync_prices", source, card_ids, task_name=f"sync {source}")
    if sources:
        modeladmin.message_user(
            request,
            f"Price sync of {len(card_ids)} cards queued for {', '.join(sources)}; "
            "see the staff job runs page.",
            messages.SUCCESS,
        )
    else:
        modeladmin.message_user(
            request, "No price source is enabled and configured.", messages.ERROR
        )


CardAdmin.actions = [sync_prices_now, *CardAdmin.actions]
