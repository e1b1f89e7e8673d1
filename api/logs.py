"""Structured JSON logs, each line with the request id of the request it belongs to."""

from __future__ import annotations

import logging
import sys
import time

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record logged while a request is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = g.get("request_id") if has_request_context() else None
        return True


def configure(level: str = "INFO", *, json_lines: bool = True) -> None:
    """Route the platform's logs to standard error, as JSON lines by default."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if json_lines:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                timestamp=False,
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger("xinyong")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    for name in ("api", "credit", "consent", "auth"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False


access_log = logging.getLogger("xinyong.access")


def init_app(app: Flask) -> None:
    """Log one line per request: method, route, status and duration, with the request id."""

    @app.before_request
    def _start() -> None:
        g.log_started_at = time.perf_counter()

    @app.after_request
    def _log(response: Response) -> Response:
        started = g.get("log_started_at")
        if started is not None and access_log.isEnabledFor(logging.INFO):
            access_log.info(
                "request",
                extra={
                    "method": request.method,
                    # The route, not the raw path: paths and queries may carry personal data.
                    "route": request.url_rule.rule if request.url_rule else None,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
        return response
