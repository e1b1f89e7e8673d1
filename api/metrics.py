"""Prometheus metrics: request counts and latency histograms per endpoint.

Under gunicorn each worker is a process; `xinyong serve` sets PROMETHEUS_MULTIPROC_DIR so that
`/metrics` adds up every worker's samples (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "xinyong_http_requests_total",
    "HTTP requests answered, by endpoint, method and status.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "xinyong_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint and method.",
    ["endpoint", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


def init_app(app: Flask) -> None:
    """Time every request; label it by its URL rule, never by the raw path."""

    @app.before_request
    def _start_timer() -> None:
        g.started_at = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.get("started_at")
        if started is not None:
            endpoint = request.url_rule.rule if request.url_rule else "unmatched"
            LATENCY.labels(endpoint, request.method).observe(time.perf_counter() - started)
            REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        return response


def exposition() -> Response:
    """The metrics in Prometheus' text format, across workers when running under gunicorn."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        payload = generate_latest(registry)
    else:
        payload = generate_latest()
    return Response(payload, content_type=CONTENT_TYPE_LATEST)
