from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST

from tcgtracker import metrics as figures
from tcgtracker.lib import health as checks


@never_cache
@require_safe
def health(request):
    """Each part's state, for load balancers and uptime checks: 503 only when the database
    is unreachable; cache, broker or worker trouble is "degraded" with 200, since pages
    still render. States only: hosts and errors are for staff (/staff/)."""
    results = checks.run_checks()
    status = checks.overall(results)
    return JsonResponse(
        {"status": status, "checks": {name: result.state for name, result in results.items()}},
        status=503 if status == "down" else 200,
    )


@never_cache
@require_safe
def metrics(request):
    """Prometheus metrics (tcgtracker.metrics), for staff or the METRICS_TOKEN bearer."""
    if not (_bearer_token_matches(request) or request.user.is_staff):
        response = HttpResponse(
            "Staff login or the METRICS_TOKEN bearer token required.\n",
            status=401,
            content_type="text/plain",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(figures.render(), content_type=CONTENT_TYPE_LATEST)


def _bearer_token_matches(request) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return bool(
        settings.METRICS_TOKEN
        and scheme.lower() == "bearer"
        and constant_time_compare(token.strip(), settings.METRICS_TOKEN)
    )
