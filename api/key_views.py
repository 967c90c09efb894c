"""The account's API keys page: create a named key (its secret shown once), revoke one.

htmx: a non-boosted htmx request gets the keys panel back, everything else the full page
or a redirect, so both actions work without JavaScript. An invalid form answers 422 with
the form (templates/base.html lets htmx swap 422).
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from api.access import get_key_for_user, keys_for_user
from api.forms import ApiKeyForm
from api.keys import max_keys_per_user
from api.ratelimit import limit_per_hour


def _is_partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.boosted


def _render(request, form, *, new_key=None, secret="", status=200):
    keys = list(keys_for_user(request))
    context = {
        "form": form,
        "keys": keys,
        "active_count": sum(key.is_active for key in keys),
        "max_keys": max_keys_per_user(),
        "rate_limit": limit_per_hour(),
        "new_key": new_key,
        "secret": secret,
    }
    template = "api/keys.html#keys_panel" if _is_partial(request) else "api/keys.html"
    return render(request, template, context, status=status)


@login_required
@require_safe
def key_list(request):
    return _render(request, ApiKeyForm(user=request.user))


@never_cache
@login_required
@require_POST
def create(request):
    form = ApiKeyForm(request.POST, user=request.user)
    with transaction.atomic():
        # One create at a time per user, so two at once cannot pass the limit.
        list(get_user_model().objects.select_for_update().filter(pk=request.user.pk))
        created = form.save() if form.is_valid() else None
    if created is None:
        return _render(request, form, status=422)
    key, secret = created
    # Answered here, not after a redirect: the secret is never stored, not even in the
    # session, so this response is the only place it appears.
    return _render(request, ApiKeyForm(user=request.user), new_key=key, secret=secret)


@login_required
@require_POST
def revoke(request, pk):
    key = get_key_for_user(request, pk)
    key.revoke()
    if _is_partial(request):
        return _render(request, ApiKeyForm(user=request.user))
    messages.success(request, f"Revoked {key.name} ({key.prefix}…). It no longer works.")
    return redirect("api_keys:list")
