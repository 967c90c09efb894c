"""The project's URLs plus a trivial view: the baseline of the bench's load test, served
through the same gunicorn, middleware and settings as the card page it is compared with."""

from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_safe


@require_safe
def trivial(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/trivial/", trivial),
    path("", include("tcgtracker.urls")),
]
