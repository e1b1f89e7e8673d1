"""Operations: request ids, /healthz, /readyz, /metrics, problem documents for 404/405/500, logs."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from api.app import create_app
from api.context import Platform
from tests.factories import make_entity, new_uscc

PROBLEM = "application/problem+json"
HEX32 = re.compile(r"^[0-9a-f]{32}$")

AppFactory = Callable[..., Flask]


@pytest.fixture
def make_app(tmp_path: Path, restore_logging: None) -> Iterator[AppFactory]:
    """Builds fresh apps on a temporary SQLite file; their engines are disposed afterwards."""
    apps: list[Flask] = []

    def build(**config: Any) -> Flask:
        settings: dict[str, Any] = {
            "DATABASE_URL": f"sqlite:///{tmp_path / f'ops{len(apps)}.sqlite3'}",
            "LOG_JSON": False,
            **config,
        }
        app = create_app(settings, instance_path=tmp_path / f"instance{len(apps)}")
        apps.append(app)
        return app

    yield build
    for app in apps:
        platform: Platform = app.extensions["xinyong"]
        platform.db.session.remove()
        assert platform.db.engine is not None
        platform.db.engine.dispose()


def _app_with_failing_route(build: AppFactory, **config: Any) -> Flask:
    app = build(**config)

    def boom() -> str:
        raise RuntimeError("secret internal detail")

    app.add_url_rule("/boom", "boom", boom)
    return app


class TestRequestId:
    def test_healthz_is_ok(self, client: FlaskClient) -> None:
        response = client.get("/healthz")

        assert response.status_code == 200
        assert response.json == {"status": "ok"}
        assert HEX32.match(response.headers["X-Request-ID"])

    def test_every_kind_of_response_carries_a_request_id(
        self, client: FlaskClient, db_session: Session
    ) -> None:
        entity = make_entity(db_session)
        etag = client.get(f"/v1/public/entities/{entity.uscc}").headers["ETag"]
        responses = {
            200: client.get("/healthz"),
            400: client.get("/v1/public/entities/123"),
            404: client.get("/no/such/path"),
            405: client.post("/healthz"),
            304: client.get(f"/v1/public/entities/{entity.uscc}", headers={"If-None-Match": etag}),
        }
        for status, response in responses.items():
            assert response.status_code == status
            assert HEX32.match(response.headers.get("X-Request-ID", "")), status

    def test_two_requests_get_different_ids(self, client: FlaskClient) -> None:
        first = client.get("/healthz").headers["X-Request-ID"]
        second = client.get("/healthz").headers["X-Request-ID"]
        assert first != second

    @pytest.mark.parametrize(
        "incoming",
        ["req-12345678", "a" * 8, "A1._:-" + "z" * 122, "9f1c2b7e-4d5a-4e0f-8c3b-2a1d0e9f8a7b"],
    )
    def test_well_formed_incoming_id_is_echoed(self, client: FlaskClient, incoming: str) -> None:
        for response in (
            client.get("/healthz", headers={"X-Request-ID": incoming}),
            client.get("/no/such/path", headers={"X-Request-ID": incoming}),
        ):
            assert response.headers["X-Request-ID"] == incoming
        problem = client.get("/no/such/path", headers={"X-Request-ID": incoming}).json
        assert problem["request_id"] == incoming

    @pytest.mark.parametrize(
        "incoming",
        [
            "abc",
            "a" * 7,
            "x" * 129,
            "y" * 200,
            "req 12345678",
            'req-"12345678"',
            "req-'12345678'",
            "req-12345678;drop",
            "请求编号-12345678",
            "",
        ],
    )
    def test_malformed_incoming_id_is_replaced(self, client: FlaskClient, incoming: str) -> None:
        response = client.get("/no/such/path", headers={"X-Request-ID": incoming})

        issued = response.headers["X-Request-ID"]
        assert issued != incoming
        assert HEX32.match(issued)
        assert response.json["request_id"] == issued

    def test_problem_request_id_equals_the_header(
        self, client: FlaskClient, db_session: Session
    ) -> None:
        for response in (
            client.get("/v1/public/entities/123"),
            client.get(f"/v1/public/entities/{new_uscc()}"),
            client.post("/healthz"),
        ):
            assert response.content_type == PROBLEM
            assert response.json["request_id"] == response.headers["X-Request-ID"]


class TestReadiness:
    def test_default_app_is_ready_without_redis(self, client: FlaskClient) -> None:
        response = client.get("/readyz")

        assert response.status_code == 200
        assert response.json == {
            "status": "ready",
            "checks": {"database": "ok", "redis": "not_configured", "rate_limits": "memory"},
        }

    def test_real_redis_is_checked(self, make_app: AppFactory, redis_url: str | None) -> None:
        if redis_url is None:
            pytest.skip("XINYONG_TEST_REDIS_URL is not set")
        response = make_app(REDIS_URL=redis_url).test_client().get("/readyz")

        assert response.status_code == 200
        assert response.json["checks"] == {"database": "ok", "redis": "ok", "rate_limits": "redis"}

    def test_unreachable_redis_is_degraded_not_down(self, make_app: AppFactory) -> None:
        # A Redis outage must not take every instance out of the load balancer (issue 6).
        started = time.monotonic()
        response = make_app(REDIS_URL="redis://127.0.0.1:1/0").test_client().get("/readyz")

        assert time.monotonic() - started < 5
        assert response.status_code == 200
        assert response.json["status"] == "degraded"
        assert response.json["checks"]["database"] == "ok"
        assert response.json["checks"]["redis"] == "unavailable"

    def test_unreachable_database_is_503_quickly(self, make_app: AppFactory) -> None:
        app = make_app(DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/nothing")
        started = time.monotonic()
        response = app.test_client().get("/readyz")

        assert time.monotonic() - started < 5
        assert response.status_code == 503
        assert response.content_type == PROBLEM
        assert response.json["checks"]["database"] == "unavailable"
        assert response.json["checks"]["redis"] == "not_configured"
        assert "database" in response.json["detail"]
        # The connection error (host, port, driver message) stays in the log.
        assert "127.0.0.1" not in response.get_data(as_text=True)


class TestMetrics:
    def test_requests_are_counted_by_url_rule(
        self, client: FlaskClient, db_session: Session
    ) -> None:
        entity = make_entity(db_session)
        assert client.get("/healthz").status_code == 200
        assert client.get(f"/v1/public/entities/{entity.uscc}").status_code == 200
        assert client.get("/no/such/path-7f3a9c").status_code == 404

        response = client.get("/metrics")

        assert response.status_code == 200
        assert response.content_type.startswith("text/plain")
        text = response.get_data(as_text=True)
        counted = [
            line for line in text.splitlines() if line.startswith("xinyong_http_requests_total{")
        ]
        assert any('endpoint="/healthz"' in line and 'status="200"' in line for line in counted)
        assert any(
            'endpoint="/v1/public/entities/<string:uscc>"' in line and 'method="GET"' in line
            for line in counted
        )
        assert any('endpoint="unmatched"' in line for line in counted)
        # Raw paths would make a label value per code: never.
        assert entity.uscc not in text
        assert "path-7f3a9c" not in text
        buckets = [
            line
            for line in text.splitlines()
            if line.startswith("xinyong_http_request_duration_seconds_bucket{")
        ]
        assert any('endpoint="/healthz"' in line and 'le="+Inf"' in line for line in buckets)
        assert any(
            'endpoint="/v1/public/entities/<string:uscc>"' in line and 'le="+Inf"' in line
            for line in buckets
        )

    def test_counter_grows_with_each_request(self, client: FlaskClient) -> None:
        def healthz_count() -> float:
            text = client.get("/metrics").get_data(as_text=True)
            pattern = (
                r'^xinyong_http_requests_total\{endpoint="/healthz",method="GET",status="200"\} '
                r"(\S+)$"
            )
            match = re.search(pattern, text, re.MULTILINE)
            return float(match.group(1)) if match else 0.0

        before = healthz_count()
        for _ in range(3):
            client.get("/healthz")

        assert healthz_count() == before + 3


class TestProblems:
    def test_unknown_path_is_404_problem(self, client: FlaskClient) -> None:
        response = client.get("/no/such/path")

        assert response.status_code == 404
        assert response.content_type == PROBLEM
        body = response.json
        assert body["type"] == "about:blank"
        assert body["title"] == "Not Found"
        assert body["status"] == 404
        assert body["detail"]

    def test_wrong_method_is_405_problem_with_allow(self, client: FlaskClient) -> None:
        response = client.post("/healthz")

        assert response.status_code == 405
        assert response.content_type == PROBLEM
        assert response.json["status"] == 405
        assert response.json["title"] == "Method Not Allowed"
        assert response.json["detail"]
        allowed = {method.strip() for method in response.headers["Allow"].split(",")}
        assert "GET" in allowed
        assert "POST" not in allowed

    def test_unhandled_error_is_500_problem_without_internals(self, make_app: AppFactory) -> None:
        app = _app_with_failing_route(make_app)

        response = app.test_client().get("/boom")

        assert response.status_code == 500
        assert response.content_type == PROBLEM
        body = response.json
        assert body["status"] == 500
        assert body["title"] == "Internal Server Error"
        assert body["detail"]
        assert body["request_id"] == response.headers["X-Request-ID"]
        assert HEX32.match(body["request_id"])
        raw = response.get_data(as_text=True)
        for leak in ("Traceback", "secret internal detail", "RuntimeError", "boom()"):
            assert leak not in raw

    def test_unhandled_error_is_logged_as_json_with_the_request_id(
        self, make_app: AppFactory, capsys: pytest.CaptureFixture[str]
    ) -> None:
        app = _app_with_failing_route(make_app, LOG_JSON=True)
        capsys.readouterr()

        response = app.test_client().get("/boom", headers={"X-Request-ID": "req-boom-0001"})

        assert response.status_code == 500
        assert response.json["request_id"] == "req-boom-0001"
        lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        records = []
        for line in lines:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        errors = [r for r in records if r.get("level") == "ERROR"]
        assert errors, f"no JSON ERROR line in {lines!r}"
        assert all(r["request_id"] == "req-boom-0001" for r in errors)
        # The operator gets what the client does not: the exception, in the log.
        assert any("secret internal detail" in json.dumps(r) for r in errors)


def test_nul_characters_are_refused_with_a_400_problem(client: FlaskClient) -> None:
    # PostgreSQL refuses NUL in text; before this guard a search for one was a 500 there.
    for url, params in (
        ("/v1/public/entities", {"q": "丝\x00绸"}),
        ("/v1/public/changes", {"since": "2026-01-01T00:00:00Z\x00"}),
        ("/v1/public/entities", {"kind": "enterprise\x00"}),
    ):
        response = client.get(url, query_string=params)
        assert response.status_code == 400, params
        assert response.content_type == "application/problem+json"
        assert response.json["type"] == "urn:xinyong:problem:nul-character"


def test_an_unreachable_database_is_a_503_with_retry_after(make_app: AppFactory) -> None:
    app = make_app(
        DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/nothing", LOG_LEVEL="CRITICAL"
    )

    response = app.test_client().get("/v1/public/entities", query_string={"q": "丝绸"})

    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    assert response.headers["Retry-After"] == "1"
    assert response.json["type"] == "urn:xinyong:problem:database-unavailable"
    assert "Traceback" not in response.get_data(as_text=True)
