"""The consent ledger: chained appends, append-only storage, and tampering found by verify."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from consent.ledger import GENESIS_HASH, LedgerEvent, append, verify
from consent.models import LedgerEntry
from tests.auth.conftest import access_token, bearer, make_client

XINYONG = str(Path(sys.executable).parent / "xinyong")


def _fill(session: Session, count: int = 6) -> list[LedgerEntry]:
    events = list(LedgerEvent)
    entries = [
        append(
            db_session=session,
            consent_id=f"con_{n // 2:04d}",
            event=events[n % len(events)],
            payload={
                "subject_id": f"sub_{n}",
                "categories": ["basic", "tax"],
                "purpose": "贷款审批",
            },
        )
        for n in range(count)
    ]
    session.commit()
    return entries


def _allow_tampering(session: Session) -> None:
    """What an attacker with the database owner's rights would do first."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE consent_ledger DISABLE TRIGGER USER"))
    else:
        session.execute(text("DROP TRIGGER consent_ledger_no_update"))
        session.execute(text("DROP TRIGGER consent_ledger_no_delete"))


def test_entries_chain_and_verify(db_session: Session) -> None:
    entries = _fill(db_session)

    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.entry_hash for a, b in zip(entries, entries[1:], strict=False))
    result = verify(db_session=db_session)
    assert result.valid
    assert result.entries == 6


def test_an_empty_ledger_is_valid(db_session: Session) -> None:
    assert verify(db_session=db_session).valid


def test_the_application_cannot_update_or_delete_entries(db_session: Session) -> None:
    _fill(db_session, 2)
    for statement in (
        "UPDATE consent_ledger SET event = 'revoked' WHERE seq = 1",
        "DELETE FROM consent_ledger WHERE seq = 2",
    ):
        with pytest.raises(DBAPIError, match="append-only"), db_session.begin_nested():
            db_session.execute(text(statement))
    assert verify(db_session=db_session).valid


def test_an_altered_entry_is_named(db_session: Session) -> None:
    _fill(db_session)
    _allow_tampering(db_session)
    row = db_session.scalars(select(LedgerEntry).where(LedgerEntry.seq == 4)).one()
    row.payload = {**row.payload, "categories": ["basic", "tax", "judicial"]}
    db_session.commit()

    result = verify(db_session=db_session)

    assert not result.valid
    assert result.broken_seq == 4
    assert "altered" in (result.reason or "")


def test_an_altered_entry_with_a_recomputed_hash_breaks_the_next_link(db_session: Session) -> None:
    _fill(db_session)
    _allow_tampering(db_session)
    db_session.execute(
        text("UPDATE consent_ledger SET entry_hash = :h WHERE seq = 3"), {"h": "f" * 64}
    )
    db_session.commit()

    result = verify(db_session=db_session)

    assert not result.valid
    assert result.broken_seq == 3  # its own hash no longer matches its content


def test_a_removed_entry_is_named(db_session: Session) -> None:
    _fill(db_session)
    _allow_tampering(db_session)
    db_session.execute(text("DELETE FROM consent_ledger WHERE seq = 3"))
    db_session.commit()

    result = verify(db_session=db_session)

    assert not result.valid
    assert result.broken_seq == 3
    assert "removed" in (result.reason or "")


def test_reordered_entries_are_named(db_session: Session) -> None:
    _fill(db_session)
    _allow_tampering(db_session)
    # Swap the places of entries 2 and 5: each row keeps its content, the order changes.
    db_session.execute(text("UPDATE consent_ledger SET seq = -2 WHERE seq = 2"))
    db_session.execute(text("UPDATE consent_ledger SET seq = 2 WHERE seq = 5"))
    db_session.execute(text("UPDATE consent_ledger SET seq = 5 WHERE seq = -2"))
    db_session.commit()
    db_session.expire_all()

    result = verify(db_session=db_session)

    assert not result.valid
    assert result.broken_seq == 2


def test_admin_endpoint_reports_the_chain(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    admin_id, admin_secret = make_client(db_session, app, kind="admin", scopes=("admin",))
    bank_id, bank_secret = make_client(db_session, app)
    _fill(db_session, 3)
    admin = bearer(access_token(client, admin_id, admin_secret))

    assert client.get("/v1/admin/ledger/verify", headers=admin).json == {
        "valid": True,
        "entries": 3,
    }
    bank = bearer(access_token(client, bank_id, bank_secret))
    assert client.get("/v1/admin/ledger/verify", headers=bank).status_code == 403
    assert client.get("/v1/admin/ledger/verify").status_code == 401

    _allow_tampering(db_session)
    db_session.execute(text("DELETE FROM consent_ledger WHERE seq = 2"))
    db_session.commit()
    body = client.get("/v1/admin/ledger/verify", headers=admin).json
    assert body["valid"] is False
    assert body["first_broken"]["seq"] == 2


def test_cli_exit_status_follows_the_chain(tmp_path: Path) -> None:
    env = {"XINYONG_INSTANCE_PATH": str(tmp_path / "instance"), "XINYONG_LOG_LEVEL": "WARNING"}
    env["PATH"] = str(Path(sys.executable).parent)
    subprocess.run([XINYONG, "db", "upgrade"], env=env, check=True, capture_output=True)
    fill = (
        "from api.app import create_app\n"
        "from consent.ledger import LedgerEvent, append\n"
        "app = create_app()\n"
        "with app.extensions['xinyong'].db.new_session() as s:\n"
        "    for n in range(4):\n"
        "        append(db_session=s, consent_id='con_1', event=LedgerEvent.REQUESTED,"
        " payload={'n': n})\n"
        "    s.commit()\n"
    )
    subprocess.run([sys.executable, "-c", fill], env=env, check=True, capture_output=True)

    ok = subprocess.run(
        [XINYONG, "ledger", "verify", "--json"], env=env, capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["entries"] == 4

    database = sqlite3.connect(tmp_path / "instance" / "xinyong.sqlite3")
    database.execute("DROP TRIGGER consent_ledger_no_update")
    database.execute("UPDATE consent_ledger SET payload = ? WHERE seq = 3", ('{"n": 9}',))
    database.commit()
    database.close()
    broken = subprocess.run([XINYONG, "ledger", "verify"], env=env, capture_output=True, text=True)
    assert broken.returncode == 1
    assert "entry 3" in broken.stdout


def test_consents_expire_command_runs_on_the_embedded_default(tmp_path: Path) -> None:
    env = {"XINYONG_INSTANCE_PATH": str(tmp_path / "instance"), "XINYONG_LOG_LEVEL": "WARNING"}
    env["PATH"] = str(Path(sys.executable).parent)
    subprocess.run([XINYONG, "db", "upgrade"], env=env, check=True, capture_output=True)

    result = subprocess.run(
        [XINYONG, "consents", "expire"], env=env, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0 consents expired"
