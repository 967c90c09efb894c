from django.contrib import admin, messages
from django.utils import timezone

from api.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Staff see who holds which key and can revoke one; nobody can read a secret."""

    list_display = ["name", "user", "prefix", "scope", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "scope"]
    search_fields = ["name", "prefix", "user__email"]
    readonly_fields = ["user", "prefix", "scope", "created_at", "last_used_at", "revoked_at"]
    fields = ["name", *readonly_fields]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # keys are created by their owners, who see the secret once

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} keys.", messages.SUCCESS)
