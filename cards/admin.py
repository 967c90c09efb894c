from django.contrib import admin, messages
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from cards.models import Card, CardSet


def mark_curated(obj, form, change) -> None:
    """Remember what staff changed, so catalog loads and syncs never undo it."""
    if change and form.changed_data:
        obj.curated_fields = sorted(set(obj.curated_fields or ()) | set(form.changed_data))


@admin.action(description="Let catalog loads and syncs update staff-edited fields again")
def release_curated_fields(modeladmin, request, queryset):
    updated = queryset.exclude(curated_fields=[]).update(curated_fields=[])
    modeladmin.message_user(request, f"{updated} rows will follow the catalog sources again.")


@admin.register(CardSet)
class CardSetAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "game", "series", "release_date", "total", "cards_link"]
    list_filter = ["game", "series", "language"]
    search_fields = ["name", "code", "ptcgo_code", "series"]
    date_hierarchy = "release_date"
    ordering = ["game", "-release_date"]
    readonly_fields = ["created", "updated", "cards_link", "curated_fields"]
    actions = [release_curated_fields]
    fieldsets = [
        (None, {"fields": ["game", "code", "name", "series", "language"]}),
        ("Facts", {"fields": ["release_date", "printed_total", "total", "ptcgo_code"]}),
        ("Price sources", {"fields": ["pricecharting_name"]}),
        ("Catalog", {"fields": ["cards_link", "curated_fields", "created", "updated"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(card_count=Count("cards"))

    @admin.display(description="Cards in catalog", ordering="card_count")
    def cards_link(self, obj):
        if obj.pk is None:
            return "—"
        count = getattr(obj, "card_count", None)
        if count is None:
            count = obj.cards.count()
        url = reverse("admin:cards_card_changelist") + f"?card_set__id__exact={obj.pk}"
        return format_html('<a href="{}">{} card{}</a>', url, count, "" if count == 1 else "s")

    def save_model(self, request, obj, form, change):
        mark_curated(obj, form, change)
        super().save_model(request, obj, form, change)
        if change and {"name", "code", "ptcgo_code"} & set(form.changed_data):
            obj.refresh_card_search_documents()


@admin.register(Card)
class CardAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "number",
        "variant",
        "card_set",
        "rarity",
        "kind",
        "pricecharting_id",
        "tcgplayer_id",
    ]
    list_display_links = ["name"]
    list_editable = ["pricecharting_id", "tcgplayer_id"]
    list_filter = [
        "card_set__game",
        "kind",
        "rarity",
        ("card_set", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["card_set"]
    search_fields = ["name", "number", "card_set__code", "card_set__name", "tcgplayer_id"]
    autocomplete_fields = ["card_set"]
    readonly_fields = ["created", "updated", "view_on_site_link", "curated_fields"]
    list_per_page = 50
    # The prices app adds "sync prices now" (prices.admin): the catalog knows no prices.
    actions = [
        "mark_single",
        "mark_sealed",
        "clear_ebay_query",
        release_curated_fields,
    ]
    fieldsets = [
        (None, {"fields": ["card_set", "number", "variant", "name", "view_on_site_link"]}),
        ("Facts", {"fields": ["rarity", "kind", "category", "color", "printed_in", "image_url"]}),
        (
            "Price source ids",
            {
                "fields": ["pricecharting_id", "tcgplayer_id", "justtcg_id", "ebay_query"],
                "description": "How each price source finds this card. Leave blank to let "
                "the sync match by name, number and set.",
            },
        ),
        ("Bookkeeping", {"fields": ["popularity", "curated_fields", "created", "updated"]}),
    ]

    def save_model(self, request, obj, form, change):
        mark_curated(obj, form, change)
        super().save_model(request, obj, form, change)

    @admin.display(description="On the site")
    def view_on_site_link(self, obj):
        if obj.pk is None:
            return "—"
        return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), obj.get_absolute_url())

    @admin.action(description="Mark selected as single cards")
    def mark_single(self, request, queryset):
        updated = queryset.update(kind=Card.Kind.SINGLE)
        self.message_user(request, f"{updated} marked as single cards.", messages.SUCCESS)

    @admin.action(description="Mark selected as sealed products")
    def mark_sealed(self, request, queryset):
        updated = queryset.update(kind=Card.Kind.SEALED)
        self.message_user(request, f"{updated} marked as sealed products.", messages.SUCCESS)

    @admin.action(description="Clear the eBay search override")
    def clear_ebay_query(self, request, queryset):
        updated = queryset.exclude(ebay_query="").update(ebay_query="")
        self.message_user(request, f"Cleared the eBay search terms of {updated} cards.")
