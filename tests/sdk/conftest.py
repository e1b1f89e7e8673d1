"""The SDK tests' platform: one `xinyong serve` for the session, on a loopback port, with its own
database (a SQLite file, or a PostgreSQL database of its own), seeded with the demo district and a
department client. The SDK reaches it over HTTP only; parties are made with the `xinyong` CLI and
subjects sign in through the real PKCE flow.

With `XINYONG_TEST_REDIS_URL` set the server runs with Redis, as in production: a private
`redis-server` when one is installed, since the public-read cache keys are not namespaced per
database and other live servers of the suite load the same deterministic demo district.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from api.ratelimit import DEFAULT_TIERS
from credit.identifiers import USCC_ALPHABET, make_uscc
from tests.live import command_environment, free_port, http_get

XINYONG = str(Path(sys.executable).parent / "xinyong")
REDIS_SERVER = shutil.which("redis-server")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
DEPARTMENT_NAME = "淄博市周村区SDK测试监督管理局"
# Room for every test of the session from one address and one client.
UNLIMITED = json.dumps({tier: [10**7, 10**6] for tier in DEFAULT_TIERS})


@dataclass(frozen=True)
class Party:
    """A registered client's credentials."""

    client_id: str
    client_secret: str
    name: str = ""


@dataclass(frozen=True)
class Account:
    """A subject's sign-in account."""

    username: str
    password: str
    subject_id: str
    name: str


@dataclass
class LivePlatform:
    """The running platform and its parties."""

    base_url: str
    env: dict[str, str]
    bank: Party
    court: Party
    department: Party
    subject: Account
    log_path: Path

    def xinyong(self, *args: str) -> str:
        """Run a `xinyong` command against the platform's database; its standard output."""
        done = subprocess.run(
            [XINYONG, *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"xinyong {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    @property
    def subject_uscc(self) -> str:
        """The demo subject's unified social credit code (its username)."""
        return self.subject.username


def sign_in(base_url: str, account: Account) -> dict[str, Any]:
    """A subject's tokens (access and refresh) through the PKCE flow of `xinyong-cli`."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    state = secrets.token_urlsafe(8)
    query = {
        "response_type": "code",
        "client_id": "xinyong-cli",
        "redirect_uri": redirect_uri,
        "scope": "subject",
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    with httpx.Client(base_url=base_url, timeout=10) as browser:
        form = browser.get("/oauth/authorize", params=query)
        assert form.status_code == 200, form.text
        csrf = CSRF.search(form.text)
        assert csrf is not None, form.text
        signed_in = browser.post(
            "/oauth/authorize",
            params=query,
            data={
                "username": account.username,
                "password": account.password,
                "csrf_token": csrf.group(1),
            },
        )
        assert signed_in.status_code == 302, signed_in.text
        location = urlsplit(signed_in.headers["Location"])
        params = {k: v[0] for k, v in parse_qs(location.query).items()}
        assert params.get("state") == state, params
        tokens = browser.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": params["code"],
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
                "client_id": "xinyong-cli",
            },
        )
    assert tokens.status_code == 200, tokens.text
    body: dict[str, Any] = tokens.json()
    assert body.get("refresh_token"), body
    return body


def new_uscc() -> str:
    """A valid code no one has registered (random organisation code body)."""
    body = "".join(secrets.choice(USCC_ALPHABET) for _ in range(8))
    return make_uscc(authority="9", org_type="1", division="370306", org_code_body=body)


def _private_redis(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A redis-server of the session's own on a loopback port: no persistence, one database."""
    assert REDIS_SERVER is not None
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--databases", "1", "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    process.kill()
    pytest.fail("the private redis-server did not answer in 10 s")


def _start(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = log_path.open("wb")
    process = subprocess.Popen(
        # gthread workers keep connections alive, as a production server behind a balancer does.
        [XINYONG, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
         "--threads", "8"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    return process, f"http://127.0.0.1:{port}"


def _wait_ready(process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"xinyong serve exited:\n{log_path.read_text(errors='replace')}")
        try:
            if http_get(f"{base_url}/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail("xinyong serve was not ready in 60 s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def live(
    tmp_path_factory: pytest.TempPathFactory,
    database_url: str,
    is_postgres: bool,
    redis_url: str | None,
) -> Iterator[LivePlatform]:
    """The live platform of the SDK tests (started once per session)."""
    root = tmp_path_factory.mktemp("sdk-live")
    redis: subprocess.Popen[bytes] | None = None
    with command_environment(
        root / "instance", database_url, is_postgres=is_postgres, suffix="sdk"
    ) as env:
        env["XINYONG_RATE_LIMITS"] = UNLIMITED
        if redis_url:
            if REDIS_SERVER is not None:
                redis, env["XINYONG_REDIS_URL"] = _private_redis(root / "redis")
            else:
                env["XINYONG_REDIS_URL"] = redis_url
        process: subprocess.Popen[bytes] | None = None
        log_path = root / "serve.log"
        try:
            _run(env, "seed", "--demo", "--entities", "40", "--persons", "3")
            demo = json.loads((root / "instance" / "demo-credentials.json").read_text())
            # The department registers while the server starts (both after the migration).
            process, base_url = _start(env, log_path)
            made = json.loads(
                _run(env, "clients", "create", "--name", DEPARTMENT_NAME, "--kind", "department",
                     "--scopes", "records.write objections.resolve", "--json")
            )  # fmt: skip
            _wait_ready(process, base_url, log_path)
            checks = json.loads(http_get(f"{base_url}/readyz")[2])["checks"]
            expected = "redis" if redis_url else "memory"
            assert checks["rate_limits"] == expected, checks
            yield LivePlatform(
                base_url=base_url,
                env=env,
                bank=Party(demo["bank"]["client_id"], demo["bank"]["client_secret"]),
                court=Party(demo["court"]["client_id"], demo["court"]["client_secret"]),
                department=Party(made["client_id"], made["client_secret"], DEPARTMENT_NAME),
                subject=Account(
                    username=demo["subject"]["username"],
                    password=demo["subject"]["password"],
                    subject_id=demo["subject"]["subject_id"],
                    name=demo["subject"]["name"],
                ),
                log_path=log_path,
            )
        finally:
            if process is not None:
                _stop(process)
            if redis is not None:
                redis.kill()
                redis.wait(timeout=10)
    output = log_path.read_text(errors="replace") if log_path.exists() else ""
    assert "Traceback" not in output, output


def _run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([XINYONG, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"xinyong {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


@pytest.fixture
def subject_tokens(live: LivePlatform) -> dict[str, Any]:
    """A fresh sign-in of the demo subject: `access_token`, `refresh_token`, ..."""
    return sign_in(live.base_url, live.subject)
