"""The consent page in a real browser (Chromium through Playwright) against a live server.

A subject follows a partner's `authorize_url`, signs in, reads the request and approves it; a
page of another origin that frames the consent page gets nothing.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.live import command_environment, free_port, http_get

CHROMIUM = Path("/usr/bin/chromium")
XINYONG = str(Path(sys.executable).parent / "xinyong")

playwright_api = pytest.importorskip("playwright.sync_api")
# CI installs chromium (.ci/run): there a missing browser is a failure, not a skip.
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and os.environ.get("CI") != "true",
    reason="Debian's chromium is not installed (apt-get install chromium)",
)


def _post(url: str, data: bytes, headers: dict[str, str]) -> dict[str, Any]:
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310  (loopback)
        return dict(json.loads(answer.read()))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    """A seeded embedded-default server on a loopback port: its URL and the demo parties."""
    instance = tmp_path_factory.mktemp("browser") / "instance"
    with command_environment(instance, "", is_postgres=False, suffix="browser") as env:
        subprocess.run(
            [XINYONG, "seed", "--demo", "--entities", "40"],
            env=env,
            check=True,
            capture_output=True,
        )
        demo = json.loads((instance / "demo-credentials.json").read_text(encoding="utf-8"))
        port = free_port()
        server = subprocess.Popen(
            [XINYONG, "serve", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(150):
                try:
                    if http_get(f"{base}/healthz")[0] == 200:
                        break
                except OSError:
                    time.sleep(0.1)
            yield base, demo
        finally:
            server.terminate()
            server.wait(timeout=30)


def _consent_request(base: str, demo: dict[str, Any]) -> dict[str, Any]:
    bank = demo["bank"]
    basic = base64.b64encode(f"{bank['client_id']}:{bank['client_secret']}".encode()).decode()
    token = _post(
        f"{base}/oauth/token",
        b"grant_type=client_credentials",
        {"Authorization": f"Basic {basic}"},
    )["access_token"]
    subject = demo["subject"]
    entity = json.loads(http_get(f"{base}/v1/public/entities?page_size=100")[2])["items"]
    uscc = next(e["uscc"] for e in entity if e["subject_id"] == subject["subject_id"])
    body = {
        "subject": {"uscc": uscc},
        "categories": ["basic", "tax"],
        "purpose": "loan_application",
        "expires_at": (datetime.now(UTC) + timedelta(days=90)).isoformat(),
    }
    consent = _post(
        f"{base}/v1/consents",
        json.dumps(body).encode(),
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    consent["_token"] = token
    return consent


@pytest.fixture
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


def test_a_subject_approves_in_the_browser(live: tuple[str, dict[str, Any]], browser: Any) -> None:
    base, demo = live
    consent = _consent_request(base, demo)
    page = browser.new_page()

    page.goto(consent["authorize_url"].replace("http://localhost", base))
    page.fill("#username", demo["subject"]["username"])
    page.fill("#password", demo["subject"]["password"])
    page.click("button[type=submit]")

    page.wait_for_selector("text=信用信息查询授权")
    text = page.inner_text("main")
    for expected in ("演示银行", "纳税信用", "Tax credit level", "贷款申请", "北京时间", "撤销"):
        assert expected in text, expected
    page.click("button[value=approve]")
    page.wait_for_selector("text=已授权")

    status = urllib.request.Request(
        f"{base}/v1/consents/{consent['consent_id']}",
        headers={"Authorization": f"Bearer {consent['_token']}"},
    )
    with urllib.request.urlopen(status, timeout=10) as answer:  # noqa: S310  (loopback)
        assert json.loads(answer.read())["status"] == "authorised"


def test_another_site_cannot_frame_the_consent_page(
    live: tuple[str, dict[str, Any]], browser: Any
) -> None:
    base, demo = live
    consent = _consent_request(base, demo)
    target = consent["authorize_url"].replace("http://localhost", base)
    framing = f'<html><body><iframe id="f" src="{target}"></iframe></body></html>'.encode()

    class Framer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(framing)

        def log_message(self, *_args: Any) -> None:
            pass

    evil = ThreadingHTTPServer(("127.0.0.1", free_port()), Framer)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{evil.server_address[1]}/")
        page.wait_for_timeout(1500)
        framed = [f for f in page.frames if f is not page.main_frame]
        assert framed, "the iframe element is there"
        # Refused by X-Frame-Options / frame-ancestors: no sign-in form rendered inside.
        for frame in framed:
            assert frame.query_selector("#password") is None
    finally:
        evil.shutdown()
        evil.server_close()
