"""Helpers of scripts/test: probe PostgreSQL and Redis, recreate a database, run schemathesis.

Usage:
  services.py check-postgres URL
  services.py check-redis URL
  services.py recreate-database SERVER_URL NAME
  services.py schemathesis        (uses XINYONG_TEST_DATABASE_URL and XINYONG_TEST_REDIS_URL)
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg
import redis
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def check_postgres(url: str) -> bool:
    try:
        with psycopg.connect(_plain(url), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def check_redis(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def recreate_database(server_url: str, name: str) -> None:
    with psycopg.connect(_plain(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def schemathesis() -> int:
    """Serve a seeded platform on PostgreSQL and fuzz it from its own /openapi.json."""
    test_url = os.environ["XINYONG_TEST_DATABASE_URL"]
    base, _, dbname = _plain(test_url).rpartition("/")
    live_db = f"{dbname}_live"
    recreate_database(f"{base}/postgres", live_db)
    port = _free_port()
    env = {
        **os.environ,
        "XINYONG_DATABASE_URL": f"{base}/{live_db}",
        "XINYONG_REDIS_URL": os.environ.get("XINYONG_TEST_REDIS_URL", ""),
        "XINYONG_INSTANCE_PATH": tempfile.mkdtemp(prefix="xinyong-live-"),
        "XINYONG_LOG_LEVEL": "WARNING",
        # The fuzzer sends thousands of requests a minute from one address and one client:
        # room for them (the limits have their own tests; 429 is documented everywhere).
        "XINYONG_RATE_LIMITS": json.dumps(
            {tier: [10**6, 10**5] for tier in ("anonymous", "partner", "operator", "subject")}
        ),
    }
    subprocess.run([BIN / "xinyong", "seed", "--demo", "--entities", "300"], env=env, check=True)
    server = subprocess.Popen(
        [BIN / "xinyong", "serve", "--port", str(port), "--workers", "2"], env=env
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{base_url}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        # Fuzz the partner endpoints as the demo bank the seed registered, not only as nobody.
        demo = json.loads(
            (Path(env["XINYONG_INSTANCE_PATH"]) / "demo-credentials.json").read_text("utf-8")
        )
        bank = demo["bank"]
        request = urllib.request.Request(
            f"{base_url}/oauth/token",
            data=b"grant_type=client_credentials",
            headers={
                "Authorization": "Basic "
                + base64.b64encode(f"{bank['client_id']}:{bank['client_secret']}".encode()).decode()
            },
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310  (loopback)
            token = json.loads(answer.read())["access_token"]
        result = subprocess.run(
            [
                BIN / "schemathesis", "run", f"{base_url}/openapi.json",
                "--header", f"Authorization: Bearer {token}",
                "--checks", "all",
                # Codes carry a check character and cursors a signature, which a JSON Schema
                # cannot express: schema-valid but wrong ones are rightly refused with 400.
                "--exclude-checks", "positive_data_acceptance",
                "--max-examples", os.environ.get("XINYONG_SCHEMATHESIS_EXAMPLES", "60"),
                "--seed", "370306",
                "--generation-database", "none",
                "--no-color",
            ],
            env=env,
            check=False,
        )  # fmt: skip
        return result.returncode
    finally:
        server.terminate()
        server.wait(timeout=30)
        recreate_database(f"{base}/postgres", live_db)


def main(argv: list[str]) -> int:
    command, *args = argv
    if command == "check-postgres":
        return 0 if check_postgres(args[0]) else 1
    if command == "check-redis":
        return 0 if check_redis(args[0]) else 1
    if command == "recreate-database":
        recreate_database(args[0], args[1])
        return 0
    if command == "schemathesis":
        return schemathesis()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
