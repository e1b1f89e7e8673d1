"""The `xinyong` command line, and the platform served by gunicorn on a loopback port."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import command_environment
from tests.live import free_port as _free_port
from tests.live import http_get as _get

BIN = Path(sys.executable).parent
XINYONG = str(BIN / "xinyong")


@pytest.fixture
def live_env(tmp_path: Path, database_url: str, is_postgres: bool) -> Iterator[dict[str, str]]:
    """An environment for the commands: its own instance folder and its own database."""
    with command_environment(
        tmp_path / "instance", database_url, is_postgres=is_postgres, suffix="serve"
    ) as env:
        yield env


def test_seed_then_serve_with_gunicorn(live_env: dict[str, str], tmp_path: Path) -> None:
    seeded = subprocess.run(
        [XINYONG, "seed", "--demo", "--entities", "60", "--as-of", "2026-11-01"],
        env=live_env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Loaded 60 legal persons, 6 natural persons" in seeded.stdout
    assert "Demo parties" in seeded.stdout
    credentials = tmp_path / "instance" / "demo-credentials.json"
    assert credentials.stat().st_mode & 0o777 == 0o600
    demo = json.loads(credentials.read_text(encoding="utf-8"))
    assert demo["bank"]["client_secret"] in seeded.stdout
    assert demo["subject"]["password"] in seeded.stdout
    again = subprocess.run(
        [XINYONG, "seed", "--demo", "--entities", "60"],
        env=live_env,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0
    assert "already loaded" in again.stdout
    if "XINYONG_DATABASE_URL" not in live_env:
        secrets = tmp_path / "instance" / "secrets.json"
        assert secrets.stat().st_mode & 0o777 == 0o600

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [XINYONG, "serve", "--port", str(port), "--workers", "2"],
        env=live_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(150):
            try:
                if _get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start")

        status, headers, body = _get(f"{base}/v1/public/entities?page_size=5")
        assert status == 200
        assert headers["Server"].startswith("gunicorn")
        assert headers["X-Request-ID"]
        items = json.loads(body)["items"]
        assert len(items) == 5
        status, _, body = _get(f"{base}/v1/public/entities/{items[0]['uscc']}")
        assert status == 200
        assert json.loads(body)["uscc"] == items[0]["uscc"]
        assert _get(f"{base}/v1/public/entities/123")[0] == 400
        assert _get(f"{base}/readyz")[0] == 200
        # The demo bank printed by the seed gets tokens.
        bank = demo["bank"]
        token = urllib.request.Request(
            f"{base}/oauth/token",
            data=b"grant_type=client_credentials",
            headers={
                "Authorization": "Basic "
                + base64.b64encode(f"{bank['client_id']}:{bank['client_secret']}".encode()).decode()
            },
        )
        with urllib.request.urlopen(token, timeout=10) as answer:  # noqa: S310  (loopback)
            assert json.loads(answer.read())["token_type"] == "Bearer"
        status, headers, body = _get(f"{base}/docs/")
        assert status == 200
        assert b"swagger-ui-bundle.js" in body
        assert _get(f"{base}/docs/swagger-ui-bundle.js")[0] == 200
        # Metrics add up both workers' samples: send enough requests to reach each.
        for _ in range(20):
            _get(f"{base}/healthz")
        metrics = _get(f"{base}/metrics")[2].decode()
        sample = 'xinyong_http_requests_total{endpoint="/healthz",method="GET",status="200"}'
        line = next(m for m in metrics.splitlines() if m.startswith(sample))
        assert float(line.split()[-1]) >= 21
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=30)[0].decode()
    assert server.returncode == 0, output
    assert "Traceback" not in output


def test_openapi_check_detects_a_stale_document(live_env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    written = subprocess.run(
        [XINYONG, "openapi", "--output", str(target)], env=live_env, capture_output=True, text=True
    )
    assert written.returncode == 0, written.stderr
    assert json.loads(target.read_text())["paths"]
    ok = subprocess.run(
        [XINYONG, "openapi", "--check", "--output", str(target)], env=live_env, capture_output=True
    )
    assert ok.returncode == 0
    target.write_text(target.read_text().replace("Search legal persons", "Search"))
    stale = subprocess.run(
        [XINYONG, "openapi", "--check", "--output", str(target)],
        env=live_env,
        capture_output=True,
        text=True,
    )
    assert stale.returncode == 1
    assert "out of date" in stale.stderr


def test_db_upgrade_is_repeatable(live_env: dict[str, str]) -> None:
    for _ in range(2):
        result = subprocess.run(
            [XINYONG, "db", "upgrade"], env=live_env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        assert "up to date" in result.stdout
