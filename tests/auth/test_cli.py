"""The operator's commands for the client register, subject accounts and signing keys, run as
`xinyong ...` against the embedded default (a SQLite file in the instance folder).

The module runs every command once (see the `cli` fixture) and the tests check what each did.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

XINYONG = str(Path(sys.executable).parent / "xinyong")
ID_NUMBER = "370306198001010011"
PASSWORD = "cli-account-password"

Result = subprocess.CompletedProcess[str]


@dataclass
class Instance:
    """An instance folder with its own database, and the commands run against it."""

    path: Path
    results: dict[str, Result] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("XINYONG_") and k != "PROMETHEUS_MULTIPROC_DIR"
        }
        env["XINYONG_INSTANCE_PATH"] = str(self.path)
        env["XINYONG_LOG_LEVEL"] = "WARNING"
        return env

    def wave(self, **commands: list[str]) -> None:
        """Run commands at the same time; keep their results by name."""
        running = {
            name: subprocess.Popen(
                [XINYONG, *args],
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name, args in commands.items()
        }
        for name, process in running.items():
            stdout, stderr = process.communicate(timeout=120)
            self.results[name] = subprocess.CompletedProcess(
                process.args, process.returncode, stdout, stderr
            )

    def ok(self, name: str) -> str:
        result = self.results[name]
        assert result.returncode == 0, result.stderr
        return result.stdout

    def json(self, name: str) -> Any:
        return json.loads(self.ok(name))

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(self.path / "xinyong.sqlite3")) as connection:
            return connection.execute(sql, params).fetchall()

    def status(self, client_id: str) -> str:
        ((status,),) = self.query("SELECT status FROM oauth_clients WHERE client_id = ?", client_id)
        return str(status)

    def raw_bytes(self) -> bytes:
        """Every byte the database keeps on disk (the file, its WAL and shared memory)."""
        return b"".join(
            p.read_bytes() for p in sorted(self.path.glob("xinyong.sqlite3*")) if p.is_file()
        )

    def keyed_hash(self, secret: str) -> str:
        stored = json.loads((self.path / "secrets.json").read_text(encoding="utf-8"))
        pepper = base64.b64decode(stored["SECRET_PEPPER"])
        return hmac.new(pepper, secret.encode(), hashlib.sha256).hexdigest()


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Instance:
    """An instance on which every command of this module has run.

    Each command is a fresh interpreter (about 2 s of imports), so commands share a wave when
    that is safe: on SQLite a transaction that has read cannot write once another one has
    committed ("database is locked", with no busy wait), so a command that reads before it
    writes runs only beside commands that never write, or that write before they read.
    """
    run = Instance(tmp_path_factory.mktemp("cli") / "instance")
    # First alone: it makes the instance's secrets, which every later command must share.
    run.wave(upgrade=["db", "upgrade"])
    run.wave(
        seed=["seed", "--demo", "--entities", "20"],
        bank_admin=["clients", "create", "--name", "Bank", "--kind", "bank",
                    "--scopes", "admin", "--json"],  # refused before it touches the database
    )  # fmt: skip
    run.wave(  # both insert first
        bank=["clients", "create", "--name", "周村农商银行", "--kind", "bank",
              "--scopes", "credit.basic consents.request", "--json"],
        agency=["clients", "create", "--name", "信用评级公司", "--kind", "rating_agency",
                "--scopes", "credit.basic", "--json"],
    )  # fmt: skip
    bank, agency = run.json("bank")["client_id"], run.json("agency")["client_id"]
    ((uscc,),) = run.query("SELECT uscc FROM subjects WHERE uscc IS NOT NULL ORDER BY id LIMIT 1")
    run.wave(key=["keys", "rotate"])
    run.wave(rotate=["clients", "rotate-secret", bank, "--json"])
    run.wave(suspend=["clients", "suspend", bank])
    run.statuses["suspend"] = run.status(bank)
    run.wave(revoke=["clients", "revoke", agency])
    run.statuses["revoke"] = run.status(agency)
    run.wave(legal_person=["accounts", "create", "--uscc", uscc, "--password", PASSWORD, "--json"])
    run.wave(
        natural_person=["accounts", "create", "--id-number", ID_NUMBER, "--name", "张三",
                        "--password", PASSWORD, "--json"]
    )  # fmt: skip
    run.wave(
        reactivate=["clients", "reactivate", bank],
        # These two only read.
        reactivate_revoked=["clients", "reactivate", agency],
        listed=["clients", "list", "--json"],
    )
    run.statuses["reactivate"] = run.status(bank)
    return run


def test_db_upgrade_and_seed(cli: Instance) -> None:
    assert "up to date" in cli.ok("upgrade")
    assert "Loaded 20 legal persons" in cli.ok("seed")
    clients = {row[0] for row in cli.query("SELECT client_id FROM oauth_clients")}
    assert {"portal", "xinyong-cli"} <= clients


def test_clients_create_prints_the_secret_once_and_stores_its_hash(cli: Instance) -> None:
    created = cli.json("bank")

    client_id, secret = created["client_id"], created["client_secret"]
    assert re.fullmatch(r"cli_[0-9a-f]{20}", client_id)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret)
    assert created["kind"] == "bank"
    assert sorted(created["scopes"]) == ["consents.request", "credit.basic"]
    ((name, kind),) = cli.query(
        "SELECT name, kind FROM oauth_clients WHERE client_id = ?", client_id
    )
    assert (name, kind) == ("周村农商银行", "bank")
    # The database holds the keyed hash of the secret (this client's was replaced since by
    # rotate-secret: the other client's is checked), never the secret itself.
    agency = cli.json("agency")
    ((stored,),) = cli.query(
        "SELECT secret_hash FROM oauth_clients WHERE client_id = ?", agency["client_id"]
    )
    assert stored == cli.keyed_hash(agency["client_secret"])
    for issued in (secret, agency["client_secret"]):
        assert issued.encode() not in cli.raw_bytes()


def test_clients_create_refuses_a_scope_beyond_the_kind(cli: Instance) -> None:
    result = cli.results["bank_admin"]

    assert result.returncode != 0
    assert "admin" in result.stderr
    assert result.stdout == ""
    assert cli.query("SELECT count(*) FROM oauth_clients WHERE name = 'Bank'") == [(0,)]


def test_rotate_secret_replaces_the_stored_hash(cli: Instance) -> None:
    created, rotated = cli.json("bank"), cli.json("rotate")

    assert rotated["client_id"] == created["client_id"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", rotated["client_secret"])
    assert rotated["client_secret"] != created["client_secret"]
    ((stored,),) = cli.query(
        "SELECT secret_hash FROM oauth_clients WHERE client_id = ?", created["client_id"]
    )
    assert stored == cli.keyed_hash(rotated["client_secret"])
    assert rotated["client_secret"].encode() not in cli.raw_bytes()


def test_suspend_reactivate_revoke(cli: Instance) -> None:
    agency = cli.json("agency")["client_id"]

    assert "suspended" in cli.ok("suspend")
    assert cli.statuses["suspend"] == "suspended"
    assert "active" in cli.ok("reactivate")
    assert cli.statuses["reactivate"] == "active"
    assert "revoked" in cli.ok("revoke")
    assert cli.statuses["revoke"] == "revoked"
    # Revoked is for good.
    refused = cli.results["reactivate_revoked"]
    assert refused.returncode != 0
    assert "revoked" in refused.stderr
    assert cli.status(agency) == "revoked"


def test_clients_list(cli: Instance) -> None:
    rows = {row["client_id"]: row for row in cli.json("listed")}

    agency = rows[cli.json("agency")["client_id"]]
    assert (agency["status"], agency["kind"], agency["name"]) == (
        "revoked", "rating_agency", "信用评级公司"
    )  # fmt: skip
    assert cli.json("bank")["client_id"] in rows
    assert rows["xinyong-cli"]["kind"] == "first_party"
    assert rows["portal"]["scopes"] == ["subject"]
    assert all("secret" not in key for row in rows.values() for key in row)


def test_accounts_create_for_a_legal_person(cli: Instance) -> None:
    created = cli.json("legal_person")

    ((uscc, subject_id),) = cli.query(
        "SELECT uscc, subject_id FROM subjects WHERE uscc IS NOT NULL ORDER BY id LIMIT 1"
    )
    assert created == {"username": uscc, "subject_id": subject_id}
    ((password_hash,),) = cli.query(
        "SELECT password_hash FROM subject_accounts WHERE username = ?", uscc
    )
    assert password_hash.startswith("$argon2id$")
    assert PASSWORD.encode() not in cli.raw_bytes()


def test_accounts_create_for_a_natural_person(cli: Instance) -> None:
    created = cli.json("natural_person")

    assert re.fullmatch(r"p\d{10}", created["username"])
    ((kind, name, uscc),) = cli.query(
        "SELECT kind, name, uscc FROM subjects WHERE subject_id = ?", created["subject_id"]
    )
    assert (kind, name, uscc) == ("natural_person", "张三", None)
    # Stored hashed and encrypted only.
    assert ID_NUMBER.encode() not in cli.raw_bytes()


def test_keys_rotate(cli: Instance) -> None:
    match = re.fullmatch(r"new signing key (\S+)\n", cli.ok("key"))

    assert match is not None
    ((kid, retired_at, blob),) = cli.query(
        "SELECT kid, retired_at, private_key_ciphertext FROM signing_keys"
    )
    assert kid == match.group(1)
    assert retired_at is None
    assert b"PRIVATE KEY" not in blob  # encrypted at rest
