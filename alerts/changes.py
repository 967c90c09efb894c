"""Creating, pausing and resuming an alert: the same steps for the pages (alerts.views)
and the JSON API (api.account_views), so the limit on active alerts holds for both."""

from django.contrib.auth import get_user_model
from django.db import transaction

from alerts.forms import DUPLICATE_MESSAGE, AlertForm, active_limit_error
from alerts.models import Alert


def lock_user(user) -> None:
    """Serialise one user's creates and resumes so two at once cannot pass the limit."""
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk"))


def create(form: AlertForm) -> Alert | None:
    """The new alert, or None with the form's errors."""
    with transaction.atomic():
        lock_user(form.user)
        return form.save() if form.is_valid() else None


def pause(alert: Alert) -> None:
    if alert.active:
        alert.active = False
        alert.save(update_fields=["active", "updated_at"])


def resume(alert: Alert) -> str:
    """Turn the alert back on; the message saying why not when the user is at the limit."""
    with transaction.atomic():
        lock_user(alert.user)
        if alert.active:
            return ""
        error = active_limit_error(alert.user, excluding=alert)
        if not error and alert.identical_active() is not None:
            error = DUPLICATE_MESSAGE
        if not error:
            alert.active = True
            alert.save(update_fields=["active", "updated_at"])
        return error or ""
