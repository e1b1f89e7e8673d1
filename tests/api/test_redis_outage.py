"""A Redis outage (issue 6): the platform keeps serving, degraded, and recovers by itself.

The main test runs a real `xinyong serve` (gunicorn, one worker) against a private `redis-server`
(tests/redis_server.py) and the database under test (the embedded SQLite default, or PostgreSQL
with `XINYONG_TEST_DATABASE_URL`), kills Redis with SIGKILL, checks every kind of read and the
consent rules through plain HTTP, starts Redis again on the same port and waits for the platform
to go back to it. The other tests run in process: a Redis that hangs rather than dies, and
signing in while Redis is down.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import requests
from sqlalchemy.orm import Session

from tests.api.consents.test_revocation_across_processes import (
    assert_consent_refused,
    bearer,
    client_credentials,
    in_days,
    json_of,
    read_report,
    sign_in,
    xinyong,
)
from tests.api.test_rate_limits import (
    AppFactory,
    early_in_a_minute,
    from_address,
    make_app,
    policy_field,
    structured,
    world_of,
)
from tests.auth.conftest import (
    CLI,
    exchange_code,
    loopback,
    make_account,
    pkce,
    redirect_params,
    sign_in_and_authorize,
)
from tests.factories import make_entity
from tests.live import command_environment, free_port
from tests.redis_server import RedisServer, private_redis

__all__ = ["make_app", "private_redis"]

pytestmark = pytest.mark.redis

XINYONG = str(Path(sys.executable).parent / "xinyong")
TIMEOUT = 10
# The rate limiter's counters: "xy:<deployment>/rl/{<identity>}/<limit>/<window>/<which>".
LIMITER_KEYS = "xy:*/rl/*"
ANONYMOUS = [1000, 100]  # the public tier of these tests (XINYONG_RATE_LIMITS)


# --- a live server ----------------------------------------------------------------------------


class LiveServer:
    """`xinyong serve` on a loopback port, its output in a file (a pipe nobody reads fills)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.base = f"http://127.0.0.1:{free_port()}"
        self.log = log
        port = self.base.rsplit(":", 1)[1]
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [XINYONG, "serve", "--host", "127.0.0.1", "--port", port, "--workers", "1"],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(f"{self.base}{path}", timeout=TIMEOUT, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.post(f"{self.base}{path}", timeout=TIMEOUT, **kwargs)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited with {self.process.returncode}:\n{self.output()}")
            try:
                if self.get("/readyz").status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        pytest.fail(f"the server was not ready in {timeout} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def outage_env(
    tmp_path: Path, database_url: str, is_postgres: bool, private_redis: RedisServer
) -> Iterator[dict[str, str]]:
    """A seeded database of its own, the private Redis, and a roomy public tier."""
    with command_environment(
        tmp_path / "instance", database_url, is_postgres=is_postgres, suffix="outage"
    ) as env:
        env["XINYONG_REDIS_URL"] = private_redis.url
        env["XINYONG_RATE_LIMITS"] = json.dumps({"anonymous": ANONYMOUS})
        xinyong(env, "seed", "--demo", "--entities", "20")
        yield env


@pytest.fixture
def server(outage_env: dict[str, str], tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(outage_env, tmp_path / "server.log")
    try:
        live.wait_ready()
        yield live
    finally:
        live.stop()


def fields(response: requests.Response) -> tuple[dict[str, Any], dict[str, Any]]:
    """The response's rate-limit fields: (policies, states), each by name."""
    assert "RateLimit-Policy" in response.headers, (response.status_code, response.headers)
    return (
        structured(response.headers["RateLimit-Policy"], {"q", "w"}),
        structured(response.headers["RateLimit"], {"r", "t"}),
    )


def limiter_keys(redis_server: RedisServer) -> list[str]:
    client = redis_server.client()
    try:
        return sorted(k.decode() for k in client.keys(LIMITER_KEYS))
    finally:
        client.close()


def test_a_redis_outage_degrades_the_platform_and_it_recovers(
    outage_env: dict[str, str],
    server: LiveServer,
    private_redis: RedisServer,
    tmp_path: Path,
) -> None:
    demo = json.loads((tmp_path / "instance" / "demo-credentials.json").read_text())
    bank, owner = demo["bank"], demo["subject"]
    subject_id, uscc = owner["subject_id"], owner["username"]
    public_reads = [
        "/v1/public/entities?page_size=5",
        f"/v1/public/entities/{uscc}",
        f"/v1/public/entities/{uscc}/records",
    ]

    # Healthy: ready, counters in Redis, fields on every limited answer.
    ready = server.get("/readyz")
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "redis": "ok", "rate_limits": "redis"},
    }
    first, second = server.get(public_reads[1]), server.get(public_reads[1])
    policies, states = fields(first)
    assert first.headers["RateLimit-Policy"] == policy_field("anonymous", *ANONYMOUS)
    assert fields(second)[1]["anonymous"]["r"] == states["anonymous"]["r"] - 1
    issued = client_credentials(server.base, bank["client_id"], bank["client_secret"])
    partner = str(json_of(issued, 200)["access_token"])
    asked = json_of(
        server.post(
            "/v1/consents",
            json={
                "subject": {"uscc": uscc},
                "categories": ["basic", "tax"],
                "purpose": "loan_application",
                "expires_at": in_days(30),
            },
            headers=bearer(partner),
        ),
        201,
    )
    consent_id = asked["consent_id"]
    subject = sign_in(server.base, server.base, owner["username"], owner["password"])
    approved = server.post(f"/v1/me/consents/{consent_id}/approve", headers=bearer(subject))
    assert json_of(approved, 200)["status"] == "authorised"
    taken = server.post(f"/v1/consents/{consent_id}/token", headers=bearer(partner))
    consent_token = str(json_of(taken, 200)["consent_token"])
    assert read_report(server.base, partner, subject_id, consent_token).status_code == 200
    keys = limiter_keys(private_redis)
    assert any("/{addr:127.0.0.1}/" in k for k in keys), keys
    assert any(f"/{{client:{bank['client_id']}}}/" in k for k in keys), keys

    # Redis dies. (Not in the last seconds of a minute: the worker's own counters, which take
    # over, have the clock's minutes for windows, and the test reads their counts exactly.)
    early_in_a_minute(None)
    private_redis.kill()

    answers = [server.get(path) for path in public_reads for _ in range(2)]
    for response in answers:
        assert response.status_code == 200, (response.url, response.status_code, response.text)
        assert fields(response)[0] == policies
    # Still counted, in the worker's memory.
    counted = [fields(r)[1]["anonymous"]["r"] for r in answers]
    assert counted == list(range(counted[0], counted[0] - len(counted), -1)), counted
    report = read_report(server.base, partner, subject_id, consent_token)
    assert report.status_code == 200, report.text
    assert set(report.json()) >= {"basic", "tax"}
    assert list(fields(report)[0]) == ["partner", "partner-burst"]
    me = server.get("/v1/me", headers=bearer(subject))
    assert me.status_code == 200
    assert me.json()["subject_id"] == subject_id
    started = time.monotonic()
    degraded = server.get("/readyz")
    assert time.monotonic() - started < 2
    assert degraded.status_code == 200
    assert degraded.json() == {
        "status": "degraded",
        "checks": {"database": "ok", "redis": "unavailable", "rate_limits": "in_process"},
    }
    # Consent is enforced as ever: the subject revokes while Redis is down, and the very next
    # read under the consent is refused.
    revoked = server.post(f"/v1/me/consents/{consent_id}/revoke", headers=bearer(subject))
    assert json_of(revoked, 200)["status"] == "revoked"
    assert_consent_refused(
        read_report(server.base, partner, subject_id, consent_token), owner["name"]
    )
    followed = server.get(f"/v1/consents/{consent_id}", headers=bearer(partner))
    assert json_of(followed, 200)["status"] == "revoked"

    # Redis comes back, empty, on the same port: with traffic, the platform goes back to it.
    private_redis.start()
    restarted = time.monotonic()
    recovered: dict[str, Any] = {}
    while time.monotonic() - restarted < 45:
        for path in public_reads:
            response = server.get(path)
            assert response.status_code == 200, (path, response.status_code, response.text)
        recovered = server.get("/readyz").json()
        if recovered["checks"]["rate_limits"] == "redis":
            break
        time.sleep(0.5)
    assert recovered == {
        "status": "ready",
        "checks": {"database": "ok", "redis": "ok", "rate_limits": "redis"},
    }, f"not back on Redis {time.monotonic() - restarted:.0f} s after it restarted"
    print(f"back on Redis {time.monotonic() - restarted:.1f} s after it restarted")  # noqa: T201

    answered = server.get(public_reads[1])
    assert answered.status_code == 200
    refused = read_report(server.base, partner, subject_id, consent_token)
    assert_consent_refused(refused, owner["name"])
    keys = limiter_keys(private_redis)
    assert any("/{addr:127.0.0.1}/" in k for k in keys), keys
    assert any(f"/{{client:{bank['client_id']}}}/" in k for k in keys), keys
    output = server.output()
    assert " 500 " not in output
    assert "Internal Server Error" not in output


# --- in process -------------------------------------------------------------------------------


@pytest.fixture
def storage(private_redis: RedisServer) -> str:
    """The apps of `make_app` count in the private Redis (which these tests stop)."""
    return private_redis.url


class NoAnswer(Exception):
    """A request was still waiting when its deadline came."""


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fail (rather than hang) if the block takes longer than `seconds`: a hung Redis must not
    hold a request up. Not a measure of speed: only the difference between an answer and none."""

    def expired(_signum: int, _frame: FrameType | None) -> None:
        raise NoAnswer(f"no answer in {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_hung_redis_holds_no_request_up(
    make_app: AppFactory, db_session: Session, private_redis: RedisServer
) -> None:
    app = make_app()
    world = world_of(app, db_session)
    entity = make_entity(db_session)
    signed_in = world.subject(with_records=False)
    http = from_address(app)
    entity_path = f"/v1/public/entities/{entity.uscc}"
    assert http.get(entity_path).status_code == 200  # cached in Redis now

    private_redis.pause()
    try:
        with deadline(20):
            answers = [
                http.get(entity_path),
                http.get(f"{entity_path}/records"),
                http.get("/v1/public/entities", query_string={"q": entity.name}),
                http.get("/v1/me", headers=signed_in.headers()),
                http.get(entity_path),
            ]
            ready = http.get("/readyz")
    finally:
        private_redis.resume()

    for response in answers:
        assert response.status_code == 200, response.get_data(as_text=True)
        assert "RateLimit" in response.headers
    assert answers[0].json["name"] == entity.name  # type: ignore[index]
    assert answers[2].json["items"][0]["uscc"] == entity.uscc  # type: ignore[index]
    assert answers[3].json["subject_id"] == signed_in.subject.subject_id  # type: ignore[index]
    assert ready.status_code == 200
    assert ready.json["status"] == "degraded"  # type: ignore[index]
    assert ready.json["checks"]["rate_limits"] == "in_process"  # type: ignore[index]


def test_a_subject_signs_in_while_redis_is_down(
    make_app: AppFactory, db_session: Session, private_redis: RedisServer
) -> None:
    app = make_app()
    username, password, subject = make_account(db_session, app)
    browser = from_address(app)
    private_redis.kill()

    verifier, challenge = pkce()
    response = sign_in_and_authorize(
        browser, CLI, loopback(), username, password, challenge=challenge
    )

    _target, params = redirect_params(response)
    tokens = exchange_code(browser, CLI, params["code"], loopback(), verifier)
    assert tokens.status_code == 200, tokens.get_data(as_text=True)
    access = str(tokens.json["access_token"])  # type: ignore[index]
    me = browser.get("/v1/me", headers={"Authorization": f"Bearer {access}"})
    assert me.json["subject_id"] == subject.subject_id  # type: ignore[index]
