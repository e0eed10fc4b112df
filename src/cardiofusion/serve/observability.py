"""One access-log line per request and Prometheus metrics at /metrics.

The log line carries what an operator needs to follow a request (its id, the route template,
status, latency) and nothing a patient sent: no query string, no form field, no file name.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_fastapi_instrumentator import Instrumentator

ACCESS_LOG = logging.getLogger("cardiofusion.access")
REQUEST_ID_HEADER = "X-Request-ID"
_CLIENT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")  # a caller's id is echoed only if it is tame


def add_observability(app: FastAPI) -> None:
    """Access log middleware and the /metrics endpoint (left out of the API docs).

    Each app counts into its own registry: a process that builds several apps (tests, a
    reload) would otherwise share, or silently lose, the collectors of the first one."""
    registry = CollectorRegistry()
    for collector in (ProcessCollector, PlatformCollector, GCCollector):
        collector(registry=registry)
    Instrumentator(registry=registry).instrument(app).expose(app, include_in_schema=False)

    @app.middleware("http")
    async def access_log(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        sent = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = sent if _CLIENT_ID.fullmatch(sent) else uuid.uuid4().hex
        started = time.perf_counter()
        status = 500  # unless a response comes back
        try:
            response = await call_next(request)
            status = response.status_code
            response.headers[REQUEST_ID_HEADER] = request_id
            return response
        finally:
            route = request.scope.get("route")
            ACCESS_LOG.info(
                "request_id=%s method=%s route=%s status=%d latency_ms=%.1f", request_id,
                request.method, getattr(route, "path", "(no route)"), status,
                (time.perf_counter() - started) * 1000,
            )


def configure_access_log() -> None:
    """Print access lines to stderr once per process (uvicorn workers and gunicorn too)."""
    if ACCESS_LOG.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    ACCESS_LOG.addHandler(handler)
    ACCESS_LOG.setLevel(logging.INFO)
    ACCESS_LOG.propagate = False
