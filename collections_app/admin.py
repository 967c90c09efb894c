from django.contrib import admin
from django.db.models import Count

from collections_app.models import (
    Collection,
    CollectionImport,
    CollectionItem,
    PortfolioSnapshot,
    Watch,
)


class CollectionItemInline(admin.TabularInline):
    model = CollectionItem
    extra = 0
    raw_id_fields = ["card"]
    # Notes are long: they are edited on the item's own page.
    fields = ["card", *(name for name in CollectionItem.LOT_FIELDS if name != "notes")]
    show_change_link = False


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "basis_source", "basis_key", "is_shared", "item_count"]
    list_filter = ["basis_source", "basis_key"]
    search_fields = ["name", "user__email"]
    raw_id_fields = ["user"]
    readonly_fields = ["share_token", "created_at", "updated_at"]
    list_select_related = ["user"]
    inlines = [CollectionItemInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(item_count=Count("items"))

    @admin.display(boolean=True, description="Shared?")
    def is_shared(self, obj):
        return obj.is_shared

    @admin.display(description="Items", ordering="item_count")
    def item_count(self, obj):
        return obj.item_count


@admin.register(Watch)
class WatchAdmin(admin.ModelAdmin):
    list_display = ["card", "user", "created_at"]
    search_fields = ["card__name", "user__email"]
    raw_id_fields = ["card", "user"]
    list_select_related = ["card__card_set", "user"]


@admin.register(PortfolioSnapshot)
class PortfolioSnapshotAdmin(admin.ModelAdmin):
    """Written by the daily job and the backfill; staff look, not edit."""

    list_display = ["collection", "day", "value", "cost", "priced_items", "unpriced_items"]
    list_filter = ["day"]
    search_fields = ["collection__name", "collection__user__email"]
    date_hierarchy = "day"
    list_select_related = ["collection"]
    raw_id_fields = ["collection"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CollectionImport)
class CollectionImportAdmin(admin.ModelAdmin):
    list_display = ["filename", "collection", "format", "status", "created_at", "items_created"]
    list_filter = ["status", "format"]
    search_fields = ["filename", "collection__name", "collection__user__email"]
    list_select_related = ["collection"]
    exclude = ["content"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
