"""Helpers for tests that run the `xinyong` commands and a live server on a loopback port."""

from __future__ import annotations

import os
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql


@contextmanager
def command_environment(
    instance: Path, database_url: str, *, is_postgres: bool, suffix: str
) -> Iterator[dict[str, str]]:
    """An environment for the commands: its own instance folder and its own database.

    On SQLite that is the embedded default (a file in the instance folder); on PostgreSQL a
    database `<test database>_<suffix>` made afresh and dropped at the end.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("XINYONG_") and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    env["XINYONG_INSTANCE_PATH"] = str(instance)
    env["XINYONG_LOG_LEVEL"] = "WARNING"
    if not is_postgres:
        yield env
        return
    server, _, name = database_url.replace("postgresql+psycopg://", "postgresql://").rpartition("/")
    live = f"{name}_{suffix}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(live)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(live)))
    env["XINYONG_DATABASE_URL"] = f"{server}/{live}"
    try:
        yield env
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(live))
            )


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str) -> tuple[int, dict[str, str], bytes]:
    """GET a URL of our own loopback server: status, headers and body, errors included."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
