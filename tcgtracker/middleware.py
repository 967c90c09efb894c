"""Every request gets an id, carried by each log line logged while answering it and sent
back as X-Request-ID (a proxy's own id is kept when it looks like one); the answer is
logged in one line — the access log — and counted for /metrics."""

import logging
import re
import time
import uuid

from django.conf import settings

from tcgtracker import metrics
from tcgtracker.lib import logs

logger = logging.getLogger("tcgtracker.requests")

REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{8,128}")


def request_context(get_response):
    def middleware(request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if REQUEST_ID_RE.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        started = time.perf_counter()
        with logs.context(request_id=request_id):
            response = get_response(request)
            seconds = time.perf_counter() - started
            view = view_label(request)
            metrics.count_request(view, request.method, response.status_code, seconds)
            # The view's name, not the path: paths carry share tokens and reset keys.
            logger.info(
                "%s %s %s %.0f ms",
                request.method,
                view,
                response.status_code,
                seconds * 1000,
                extra={
                    "method": request.method,
                    "route": view,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 1),
                },
            )
        response["X-Request-ID"] = request_id
        return response

    return middleware


def view_label(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name
    if request.path.startswith(f"/{settings.STATIC_URL.lstrip('/')}"):
        return "static"
    return "unresolved"
