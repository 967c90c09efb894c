"""Who may touch which API key: the one place keys are looked up for a user.

Someone else's key is a 404, the same as a missing one."""

from django.db.models import F
from django.shortcuts import get_object_or_404

from api.models import ApiKey


def keys_for_user(request):
    """The signed-in user's keys, active ones first, newest first."""
    return ApiKey.objects.filter(user=request.user).order_by(
        F("revoked_at").desc(nulls_first=True), "-created_at", "-pk"
    )


def get_key_for_user(request, pk) -> ApiKey:
    return get_object_or_404(ApiKey.objects.filter(user=request.user), pk=pk)
