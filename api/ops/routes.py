"""`/healthz`, `/readyz` and `/metrics` (API.md "Operations")."""

from __future__ import annotations

import logging
from typing import Any

import marshmallow as ma
import redis
from flask import Response
from flask.views import MethodView
from sqlalchemy import text

from api import metrics, ratelimit
from api.context import platform
from api.errors import PROBLEM_CONTENT_TYPE, ProblemSchema, problem
from api.extensions import Blueprint

log = logging.getLogger(__name__)

blp = Blueprint("operations", __name__, description="Liveness, readiness and metrics.")


class HealthSchema(ma.Schema):
    """The process is alive."""

    status = ma.fields.String(required=True, metadata={"example": "ok"})


def _checks_field() -> ma.fields.Dict:
    return ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        required=True,
        metadata={
            "description": "Per dependency: `ok`, `unavailable` or `not_configured`; and "
            "where the rate-limit counters are kept: `redis`, `in_process` (Redis failed: "
            "each worker counts on its own until Redis answers again) or `memory` (no Redis "
            "configured).",
            "example": {"database": "ok", "redis": "ok", "rate_limits": "redis"},
        },
    )


class ReadySchema(ma.Schema):
    """The database answered; Redis answered too (`ready`), or not (`degraded`)."""

    status = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(["ready", "degraded"]),
        metadata={"example": "ready"},
    )
    checks = _checks_field()


def _check_database() -> str:
    try:
        with platform().db.reading_session() as session:
            session.execute(text("SELECT 1"))
        return "ok"
    except Exception:  # any failure means "not ready"; the reason goes to the log
        log.warning("readiness: database unavailable", exc_info=True)
        return "unavailable"


def _check_redis() -> str:
    url = platform().redis_url
    if not url:
        return "not_configured"
    try:
        client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            client.ping()
        finally:
            client.close()
        return "ok"
    except redis.RedisError as exc:
        log.warning("readiness: redis unavailable: %s", exc)
        return "unavailable"


class NotReadySchema(ProblemSchema):
    """A problem document naming the dependencies that did not answer."""

    checks = _checks_field()


@blp.route("/healthz")
class Health(MethodView):
    """Liveness."""

    @blp.public
    @blp.response(200, HealthSchema)
    def get(self) -> dict[str, str]:
        """Check that the process is alive.

        Answers 200 as long as the process can answer at all; it touches no dependency.
        """
        return {"status": "ok"}


@blp.route("/readyz")
class Ready(MethodView):
    """Readiness."""

    @blp.public
    @blp.response(200, ReadySchema)
    @blp.alt_response(
        503,
        description="The database is unreachable. The problem document lists each check "
        "under `checks`.",
        content_type=PROBLEM_CONTENT_TYPE,
        schema=NotReadySchema,
    )
    def get(self) -> Any:
        """Check that the database and Redis answer.

        503 when the database does not answer, so that a load balancer takes this instance
        out of rotation. Without Redis the instance still serves, with rate limits counted
        in each worker and no cache, so that a Redis outage does not take every instance out
        at once: 200 with status `degraded`, and Redis `unavailable` under `checks`.
        """
        checks = {
            "database": _check_database(),
            "redis": _check_redis(),
            "rate_limits": ratelimit.storage_state(),
        }
        if checks["database"] != "ok":
            return problem(
                503,
                "The database is unavailable.",
                slug="not-ready",
                extra={"checks": checks},
            )
        if checks["redis"] == "unavailable":
            log.warning("readiness: degraded, Redis is unavailable")
            return {"status": "degraded", "checks": checks}
        return {"status": "ready", "checks": checks}


@blp.route("/metrics")
class Metrics(MethodView):
    """Prometheus metrics."""

    @blp.public
    @blp.doc(
        responses={
            "200": {
                "description": "Request counts (`xinyong_http_requests_total`) and latency "
                "histograms (`xinyong_http_request_duration_seconds`) per endpoint, in "
                "Prometheus' text exposition format.",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        }
    )
    def get(self) -> Response:
        """Scrape the platform's metrics.

        In Prometheus' text format; under gunicorn the samples of every worker are added up.
        """
        return metrics.exposition()
