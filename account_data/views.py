"""Your data: take everything away as one zip, or delete the account for good.

Both are POSTs (CSRF-checked) by a signed-in user about their own account only; there is
no other account to name, so there is no id to guess.
"""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from account_data import exporting
from account_data.deletion import delete_account
from account_data.forms import DeleteAccountForm


def _page(request, form, status=200):
    context = {"form": form, "has_password": request.user.has_usable_password()}
    return render(request, "account_data/page.html", context, status=status)


@login_required
@require_safe
def page(request):
    return _page(request, DeleteAccountForm(request=request))


@never_cache
@login_required
@require_POST
def export(request):
    response = HttpResponse(exporting.zip_bytes(request.user), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{exporting.filename()}"'
    return response


@never_cache
@login_required
@require_POST
def delete(request):
    form = DeleteAccountForm(request.POST, request=request)
    if not form.is_valid():
        return _page(request, form, status=422)
    user = request.user
    logout(request)
    delete_account(user)
    messages.success(
        request,
        "Your account and everything in it have been deleted. A confirmation is on "
        "its way to your email address.",
    )
    return redirect("/")
