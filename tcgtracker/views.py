from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from tcgtracker import health as checks


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
