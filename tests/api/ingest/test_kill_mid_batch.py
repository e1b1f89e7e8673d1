"""A server killed in the middle of a 1,000-record batch: all of it or none of it is stored.

`xinyong serve` (gunicorn, one worker) on a loopback port and a database of its own; a
department client made with `xinyong clients create`. A batch of 1,000 penalties is sent from
a thread, and as soon as the database shows the batch's write transaction in progress, the
server's whole process group (gunicorn's master and its worker) is killed with SIGKILL: no
handler runs, nothing is rolled back by the application. Whether the kill landed before or
after the commit, the database holds none or all of the batch, never a part, and a batch that
was answered is stored. A server restarted on the same database then takes the same batch
again: every document number is stored exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, create_engine, text

from api.config import normalize_database_url
from tests.api.consents.test_revocation_across_processes import (
    XINYONG,
    Server,
    bearer,
    client_credentials,
    json_of,
    stop,
    wait_ready,
    xinyong,
)
from tests.factories import new_uscc, penalty_row
from tests.live import command_environment, free_port

DEPARTMENT = "淄博市周村区市场监督管理局（中断测试）"
BATCH = 1000
ENTITIES = 5
TIMEOUT = 30


@dataclass
class Live:
    """The commands' environment and a direct connection to the server's database."""

    env: dict[str, str]
    engine: Engine
    sqlite_file: Path | None


@pytest.fixture
def live(tmp_path: Path, database_url: str, is_postgres: bool) -> Iterator[Live]:
    instance = tmp_path / "instance"
    with command_environment(
        instance, database_url, is_postgres=is_postgres, suffix="kill_mid_batch"
    ) as env:
        xinyong(env, "db", "upgrade")
        if is_postgres:
            url, sqlite_file = normalize_database_url(env["XINYONG_DATABASE_URL"]), None
        else:
            sqlite_file = instance / "xinyong.sqlite3"
            url = f"sqlite:///{sqlite_file}"
        engine = create_engine(url)
        try:
            yield Live(env, engine, sqlite_file)
        finally:
            engine.dispose()


def start_in_own_group(env: dict[str, str]) -> Server:
    """`xinyong serve` with one worker, in a process group of its own (killed as a whole)."""
    port = free_port()
    process = subprocess.Popen(
        [XINYONG, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Server(f"http://127.0.0.1:{port}", process)


def group_members(pgid: int) -> set[int]:
    """The live (not zombie) processes of a process group, from /proc."""
    members = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its ")".
        state, _ppid, pgrp = stat.rpartition(")")[2].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            members.add(int(entry.name))
    return members


def writing(live: Live) -> bool:
    """Whether another connection has a write transaction open on the server's database."""
    if live.sqlite_file is not None:
        # WAL: one writer at a time, from its first write to its commit.
        probe = sqlite3.connect(live.sqlite_file, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if "locked" in str(error):
                return True
            raise
        else:
            probe.execute("ROLLBACK")
        finally:
            probe.close()
        return False
    with live.engine.connect() as connection:
        # A transaction gets an id at its first write and keeps it until it ends.
        busy = connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
            )
        )
    return bool(busy)


def settled(live: Live) -> None:
    """Wait until no connection of the killed server is left (a COMMIT it sent is done)."""
    if live.sqlite_file is not None:
        return  # the writer was a process that is gone: nothing of it can still commit
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        with live.engine.connect() as connection:
            others = connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            )
        if not others:
            return
        time.sleep(0.05)
    pytest.fail("the killed server's database sessions did not end")


def stored(live: Live) -> dict[str, int]:
    """Rows of the department's records, their history and their feed entries."""
    with live.engine.connect() as connection:
        counts = connection.execute(
            text(
                "SELECT (SELECT count(*) FROM records WHERE department = :d), "
                "(SELECT count(*) FROM record_versions v JOIN records r ON r.id = v.record_pk "
                " WHERE r.department = :d), "
                "(SELECT count(*) FROM record_changes c JOIN records r ON r.id = c.record_pk "
                " WHERE r.department = :d), "
                "(SELECT count(DISTINCT document_no) FROM records WHERE department = :d)"
            ),
            {"d": DEPARTMENT},
        ).one()
    return dict(zip(("records", "versions", "changes", "numbers"), counts, strict=True))


def push(base: str, token: str, rows: list[dict[str, Any]]) -> requests.Response:
    return requests.post(
        f"{base}/v1/ingest/records",
        json={"records": rows},
        headers=bearer(token),
        timeout=TIMEOUT,
    )


def kill_in_flight(live: Live, server: Server, push_batch: Any, kill_at: str) -> Any:
    """Send the batch from a thread and SIGKILL the server's process group at `kill_at`.

    `writing`: as soon as the batch's write transaction is seen open; `committed`: once it has
    been seen open and then closed, usually before the answer is read. Returns the answer, or
    the error the client got.
    """
    answers: list[requests.Response | requests.RequestException] = []

    def send() -> None:
        try:
            answers.append(push_batch())
        except requests.RequestException as error:
            answers.append(error)

    sender = threading.Thread(target=send)
    sender.start()
    deadline = time.monotonic() + TIMEOUT
    seen_open = False
    while time.monotonic() < deadline:
        now_open = writing(live)
        if now_open and kill_at == "writing":
            break
        if seen_open and not now_open:
            break
        seen_open = seen_open or now_open
        if answers and not seen_open:
            break  # answered before the probe saw anything: the commit was faster than it
        time.sleep(0.002)
    else:
        pytest.fail("the batch was neither written nor answered in time")
    os.killpg(server.process.pid, signal.SIGKILL)
    sender.join(TIMEOUT)
    assert not sender.is_alive()
    return answers[0]


@pytest.mark.parametrize("kill_at", ["writing", "committed"])
def test_a_batch_killed_in_flight_is_stored_whole_or_not_at_all(live: Live, kill_at: str) -> None:
    made = json.loads(
        xinyong(
            live.env,
            "clients",
            "create",
            "--name",
            DEPARTMENT,
            "--kind",
            "department",
            "--scopes",
            "records.write",
            "--json",
        )  # fmt: skip
    )
    credentials = str(made["client_id"]), str(made["client_secret"])
    server = start_in_own_group(live.env)
    try:
        wait_ready(server, time.monotonic() + TIMEOUT)
        token = str(json_of(client_credentials(server.base, *credentials), 200)["access_token"])
        codes = [new_uscc() for _ in range(ENTITIES)]
        for n, uscc in enumerate(codes):
            registered = requests.put(
                f"{server.base}/v1/ingest/entities/{uscc}",
                json={"name": f"淄博市周村区中断测试{n}丝绸有限公司", "kind": "enterprise"},
                headers=bearer(token),
                timeout=TIMEOUT,
            )
            json_of(registered, 201)
        rows = [penalty_row(codes[n % ENTITIES], n) for n in range(BATCH)]
        numbers = {row["document_no"] for row in rows}
        assert len(numbers) == BATCH
        members = group_members(server.process.pid)
        assert len(members) >= 2, "gunicorn's master and worker"
        answer = kill_in_flight(live, server, lambda: push(server.base, token, rows), kill_at)
    finally:
        output = stop(server)
    assert server.process.returncode == -signal.SIGKILL, output
    deadline = time.monotonic() + 5
    while group_members(server.process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not group_members(server.process.pid), "a gunicorn process survived the kill"

    settled(live)
    after_kill = stored(live)
    if isinstance(answer, requests.Response):
        # Answered before the kill: every accepted record is durable by then.
        assert json_of(answer, 200)["accepted"] == BATCH
        assert after_kill["records"] == BATCH
    assert after_kill["records"] in (0, BATCH), after_kill  # all or nothing, never a part
    assert set(after_kill.values()) == {after_kill["records"]}, after_kill  # history included
    if kill_at == "committed":
        assert after_kill["records"] == BATCH  # its transaction ended: by a commit, not a loss

    restarted = start_in_own_group(live.env)
    try:
        wait_ready(restarted, time.monotonic() + TIMEOUT)
        token = str(json_of(client_credentials(restarted.base, *credentials), 200)["access_token"])
        again = json_of(push(restarted.base, token, rows), 200)
    finally:
        output = stop(restarted)
    assert "Traceback" not in output, output

    assert again["rejected"] == []
    assert again["accepted"] + again["duplicates"] == BATCH
    assert again["duplicates"] == after_kill["records"]
    assert sorted(r["index"] for r in again["records"]) == list(range(BATCH))
    record_ids = {r["record_id"] for r in again["records"]}
    assert len(record_ids) == BATCH
    assert stored(live) == {
        "records": BATCH,
        "versions": BATCH,
        "changes": BATCH,
        "numbers": BATCH,
    }
    with live.engine.connect() as connection:
        per_number = connection.execute(
            text(
                "SELECT document_no, count(*), min(record_id) FROM records "
                "WHERE department = :d GROUP BY document_no"
            ),
            {"d": DEPARTMENT},
        ).all()
    assert {number for number, _, _ in per_number} == numbers
    assert {count for _, count, _ in per_number} == {1}  # each document number exactly once
    assert {record_id for _, _, record_id in per_number} == record_ids
