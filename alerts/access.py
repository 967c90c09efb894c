"""Who may touch which alert: the one place alerts are looked up for a user.

Someone else's alert is a 404, the same as a missing one, so ids do not leak whether
they exist. The signed pause link is checked here too: it stands in for a login.
"""

from django.http import Http404
from django.shortcuts import get_object_or_404

from alerts import links
from alerts.models import Alert, Channel


def alerts_for_user(request):
    """The signed-in user's alerts (the views require a login before asking)."""
    return Alert.objects.filter(user=request.user)


def get_alert_for_user(request, pk) -> Alert:
    return get_object_or_404(alerts_for_user(request).select_related("card__card_set"), pk=pk)


def channels_for_user(request):
    """The signed-in user's webhook channels."""
    return Channel.objects.filter(user=request.user)


def get_channel_for_user(request, pk) -> Channel:
    return get_object_or_404(channels_for_user(request), pk=pk)


def get_alert_for_pause_token(token: str) -> Alert:
    """The alert a pause link names, if the link was signed for that alert's owner."""
    data = links.read_pause_token(token)
    if not isinstance(data, dict):
        raise Http404("Not a valid pause link.")
    return get_object_or_404(
        Alert.objects.select_related("card__card_set"),
        pk=data.get("alert"),
        user_id=data.get("user"),
    )


def get_user_for_unsubscribe_token(token: str):
    from django.contrib.auth import get_user_model

    data = links.read_unsubscribe_token(token)
    if not isinstance(data, dict):
        raise Http404("Not a valid unsubscribe link.")
    return get_object_or_404(get_user_model(), pk=data.get("user"), is_active=True)
