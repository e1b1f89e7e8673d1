"""Revocation across processes: two `xinyong serve` instances on one PostgreSQL and one Redis.

A subject revokes a consent through server A; the very next read through server B is refused.
The same for a partner suspended with `xinyong clients suspend` and for an access token revoked at
A's `/oauth/revoke`. Only HTTP to the servers and the `xinyong` command line: no server internals.

Both servers share the instance folder (the secrets file the first command wrote: session cookies,
token hashes) and one configured issuer, as servers behind a load balancer must: without
`XINYONG_ISSUER` each server takes its own origin as the issuer (api/config.py) and refuses the
other's tokens with 401.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.live import command_environment, free_port, http_get

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

XINYONG = str(Path(sys.executable).parent / "xinyong")
PROBLEM = "application/problem+json"
CLI_CLIENT = "xinyong-cli"
PASSWORD = "revocation-across-processes"
ISSUER = "https://credit.zhoucun.example"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TIMEOUT = 10


def xinyong(env: dict[str, str], *args: str) -> str:
    """Run a `xinyong` command; its standard output (the test fails on a non-zero exit)."""
    done = subprocess.run([XINYONG, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"xinyong {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def new_account(env: dict[str, str], base: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A legal person from the public search and a new account of it: (entity, account).

    The seed's demo subject already has an account; the next entity will do.
    """
    page = requests.get(f"{base}/v1/public/entities", params={"page_size": 5}, timeout=TIMEOUT)
    assert page.status_code == 200, page.text
    for entity in page.json()["items"]:
        argv = ["accounts", "create", "--uscc", entity["uscc"], "--password", PASSWORD, "--json"]
        done = subprocess.run(
            [XINYONG, *argv], env=env, capture_output=True, text=True, timeout=120
        )
        if done.returncode == 0:
            return entity, json.loads(done.stdout)
        assert "already has an account" in done.stdout + done.stderr, done.stderr
    pytest.fail("no legal person without an account on the first page")


@dataclass
class Server:
    """One `xinyong serve` process on a loopback port."""

    base: str
    process: subprocess.Popen[bytes]


def start(env: dict[str, str]) -> Server:
    port = free_port()
    process = subprocess.Popen(
        [XINYONG, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    return Server(f"http://127.0.0.1:{port}", process)


def wait_ready(server: Server, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            output = server.process.communicate()[0].decode(errors="replace")
            pytest.fail(f"{server.base} exited with {server.process.returncode}:\n{output}")
        try:
            if http_get(f"{server.base}/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{server.base} was not ready in time")


def stop(server: Server) -> str:
    """Stop a server (SIGTERM, then SIGKILL); its output."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
    try:
        output = server.process.communicate(timeout=15)[0]
    except subprocess.TimeoutExpired:
        server.process.kill()
        output = server.process.communicate()[0]
    return output.decode(errors="replace")


@pytest.fixture
def platform_env(
    tmp_path: Path, database_url: str, is_postgres: bool, redis_url: str | None
) -> Iterator[dict[str, str]]:
    """A database of its own, seeded; the environment both servers and the commands share."""
    if not is_postgres:
        pytest.skip("PostgreSQL only (set XINYONG_TEST_DATABASE_URL)")
    if not redis_url:
        pytest.skip("XINYONG_TEST_REDIS_URL is not set")
    with command_environment(
        tmp_path / "instance", database_url, is_postgres=True, suffix="revocation"
    ) as env:
        env["XINYONG_REDIS_URL"] = redis_url
        env["XINYONG_ISSUER"] = ISSUER
        # Migrates, and writes the instance's secrets file that both servers then read.
        xinyong(env, "seed", "--demo", "--entities", "50")
        yield env


@pytest.fixture
def servers(platform_env: dict[str, str]) -> Iterator[tuple[str, str]]:
    """Two servers, one worker each, on the same database, Redis and secrets: (A, B)."""
    started: list[Server] = []
    try:
        started.append(start(platform_env))
        started.append(start(platform_env))
        deadline = time.monotonic() + 30
        for server in started:
            wait_ready(server, deadline)
        yield started[0].base, started[1].base
    finally:
        outputs = [stop(server) for server in started]
    for server, output in zip(started, outputs, strict=True):
        assert "Traceback" not in output, f"{server.base}:\n{output}"


# --- HTTP helpers -----------------------------------------------------------------------------


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def client_credentials(base: str, client_id: str, secret: str) -> requests.Response:
    return requests.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(client_id, secret),
        timeout=TIMEOUT,
    )


def json_of(response: requests.Response, status: int) -> Any:
    assert response.status_code == status, f"{response.status_code} {response.text}"
    return response.json()


def sign_in(authorize_at: str, exchange_at: str, username: str, password: str) -> str:
    """A subject's access token: the PKCE flow of `xinyong-cli` with a loopback redirect URI.

    The sign-in form at one server, the code exchanged at the other: codes and sessions live
    in the shared database and secrets, not in a process.
    """
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    state = secrets.token_urlsafe(8)
    query = {
        "response_type": "code",
        "client_id": CLI_CLIENT,
        "redirect_uri": redirect_uri,
        "scope": "subject",
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    with requests.Session() as browser:
        form = browser.get(f"{authorize_at}/oauth/authorize", params=query, timeout=TIMEOUT)
        assert form.status_code == 200, form.text
        csrf = CSRF.search(form.text)
        assert csrf is not None, form.text
        signed_in = browser.post(
            f"{authorize_at}/oauth/authorize",
            params=query,
            data={"username": username, "password": password, "csrf_token": csrf.group(1)},
            allow_redirects=False,
            timeout=TIMEOUT,
        )
    assert signed_in.status_code == 302, signed_in.text
    location = urlsplit(signed_in.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect_uri
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert params.get("state") == state, params
    tokens = requests.post(
        f"{exchange_at}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
            "client_id": CLI_CLIENT,
        },
        timeout=TIMEOUT,
    )
    return str(json_of(tokens, 200)["access_token"])


def read_report(base: str, token: str, subject_id: str, consent_token: str) -> requests.Response:
    return requests.get(
        f"{base}/v1/subjects/{subject_id}/report",
        headers=bearer(token, **{"Consent-Token": consent_token}),
        timeout=TIMEOUT,
    )


def assert_consent_refused(response: requests.Response, name: str) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM)
    assert response.json()["status"] == 403
    assert name not in response.text  # nothing of the subject


def assert_token_refused(response: requests.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


# --- the test ---------------------------------------------------------------------------------


def test_revocation_at_one_server_holds_at_the_other_at_once(
    platform_env: dict[str, str], servers: tuple[str, str]
) -> None:
    a, b = servers
    scopes = "consents.request credit.basic credit.tax"
    registered = xinyong(
        platform_env, "clients", "create", "--name", "跨进程测试银行", "--kind", "bank",
        "--scopes", scopes, "--json",
    )  # fmt: skip
    bank = json.loads(registered)
    bank_id, bank_secret = bank["client_id"], bank["client_secret"]
    entity, account = new_account(platform_env, a)
    subject_id = account["subject_id"]
    assert subject_id == entity["subject_id"]

    partner = str(json_of(client_credentials(a, bank_id, bank_secret), 200)["access_token"])
    asked = json_of(
        requests.post(
            f"{a}/v1/consents",
            json={
                "subject": {"uscc": entity["uscc"]},
                "categories": ["basic", "tax"],
                "purpose": "loan_application",
                "expires_at": in_days(30),
            },
            headers=bearer(partner),
            timeout=TIMEOUT,
        ),
        201,
    )
    consent_id = asked["consent_id"]
    assert asked["status"] == "awaiting_authorisation"

    subject = sign_in(a, b, account["username"], PASSWORD)
    approved = requests.post(
        f"{b}/v1/me/consents/{consent_id}/approve", headers=bearer(subject), timeout=TIMEOUT
    )
    assert json_of(approved, 200)["status"] == "authorised"
    taken = requests.post(
        f"{a}/v1/consents/{consent_id}/token", headers=bearer(partner), timeout=TIMEOUT
    )
    consent_token = str(json_of(taken, 200)["consent_token"])

    report = json_of(read_report(b, partner, subject_id, consent_token), 200)
    assert report["consent_id"] == consent_id
    assert report["subject"]["subject_id"] == subject_id
    assert {"basic", "tax"} <= set(report)

    # The subject revokes at A; the very next read, at B, is refused, and at A too.
    revoked = requests.post(
        f"{a}/v1/me/consents/{consent_id}/revoke", headers=bearer(subject), timeout=TIMEOUT
    )
    assert json_of(revoked, 200)["status"] == "revoked"
    assert_consent_refused(read_report(b, partner, subject_id, consent_token), entity["name"])
    assert_consent_refused(read_report(a, partner, subject_id, consent_token), entity["name"])
    followed = requests.get(f"{b}/v1/consents/{consent_id}", headers=bearer(partner), timeout=10)
    assert json_of(followed, 200)["status"] == "revoked"
    # Only the read that returned data is in the subject's log.
    log = json_of(requests.get(f"{b}/v1/me/access-log", headers=bearer(subject), timeout=10), 200)
    assert [e["report_no"] for e in log["items"]] == [report["report_no"]]

    # A fresh consent, granted by the subject at B; two access tokens of the partner.
    granted = requests.post(
        f"{b}/v1/me/consents",
        json={
            "client_id": bank_id,
            "categories": ["basic"],
            "purpose": "loan_application",
            "expires_at": in_days(30),
        },
        headers=bearer(subject),
        timeout=TIMEOUT,
    )
    second_id = json_of(granted, 201)["consent_id"]
    taken = requests.post(
        f"{b}/v1/consents/{second_id}/token", headers=bearer(partner), timeout=TIMEOUT
    )
    second_token = str(json_of(taken, 200)["consent_token"])
    other = str(json_of(client_credentials(b, bank_id, bank_secret), 200)["access_token"])
    for base in (a, b):
        for token in (partner, other):
            assert read_report(base, token, subject_id, second_token).status_code == 200

    # The partner revokes one access token at A (RFC 7009): B refuses it on its next use.
    answered = requests.post(
        f"{a}/oauth/revoke",
        data={"token": other, "token_type_hint": "access_token"},
        headers=basic(bank_id, bank_secret),
        timeout=TIMEOUT,
    )
    assert answered.status_code == 200, answered.text
    assert_token_refused(read_report(b, other, subject_id, second_token))
    assert_token_refused(read_report(a, other, subject_id, second_token))
    assert read_report(b, partner, subject_id, second_token).status_code == 200

    # The operator suspends the partner: the next read through either server is refused, and
    # it gets no new token; the subject can still revoke its consent.
    xinyong(platform_env, "clients", "suspend", bank_id)
    assert_token_refused(read_report(b, partner, subject_id, second_token))
    assert_token_refused(read_report(a, partner, subject_id, second_token))
    assert client_credentials(b, bank_id, bank_secret).status_code == 401
    revoked = requests.post(
        f"{b}/v1/me/consents/{second_id}/revoke", headers=bearer(subject), timeout=TIMEOUT
    )
    assert json_of(revoked, 200)["status"] == "revoked"
