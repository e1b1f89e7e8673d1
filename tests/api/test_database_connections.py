"""Pooled PostgreSQL connections that die (a restart, a failover, an idle timeout) are replaced.

The engine pings a pooled connection before use only when it sat idle (api/database.py), rather
than on every checkout. These tests end the server side of pooled connections for real, with
`pg_terminate_backend` from another connection, and watch what the next uses see: an idle
connection is replaced without the caller noticing; one used a moment ago is not pinged (that
round trip is what the change saved), so the request that finds it dead answers 503 with
Retry-After, and the very next request is served. And the requests that only read run without
a transaction on PostgreSQL, as does a report read, whose one write is its access-log entry,
while everything else that writes keeps its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, event, select, text

from api.app import create_app
from api.database import make_engine
from api.migrate import upgrade
from auth import service as auth_service
from consent import service as consent_service
from consent.models import AccessLogEntry
from credit import clock
from tests.auth.conftest import (
    CLI,
    access_token,
    client_credentials,
    loopback,
    make_account,
    make_client,
    sign_in_and_authorize,
)
from tests.conftest import TEST_SECRETS
from tests.factories import make_entity, make_record

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_url(database_url: str, is_postgres: bool) -> str:
    if not is_postgres:
        pytest.skip("PostgreSQL only: SQLite has no server side to lose")
    return database_url


@pytest.fixture
def admin(postgres_url: str) -> Iterator[Engine]:
    """A connection of its own that ends other sessions."""
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


def backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def terminate(admin: Engine, pid: int) -> None:
    with admin.connect() as connection:
        ended = connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert ended.scalar_one() is True
        # Wait until the server has let it go, so the next use finds it dead.
        for _ in range(200):
            alive = connection.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            ).scalar_one()
            if not alive:
                return
            connection.execute(text("SELECT pg_sleep(0.01)"))
    pytest.fail(f"backend {pid} did not end")


def test_an_idle_dead_connection_is_replaced_before_use(postgres_url: str, admin: Engine) -> None:
    engine = make_engine(postgres_url, pool_size=1, max_overflow=0, idle_ping_seconds=0.0)
    try:
        first = backend_pid(engine)
        terminate(admin, first)

        second = backend_pid(engine)  # no error: the ping found it dead, the pool opened another

        assert second != first
    finally:
        engine.dispose()


def test_a_busy_connection_lost_answers_503_once_then_the_platform_reconnects(
    postgres_url: str, admin: Engine, tmp_path: Path
) -> None:
    app = create_app(
        {
            "DATABASE_URL": postgres_url,
            "REDIS_URL": None,
            "LOG_JSON": False,
            "LOG_LEVEL": "CRITICAL",
            **TEST_SECRETS,
        },
        instance_path=tmp_path / "instance",
    )
    engine = app.extensions["xinyong"].db.engine
    http = app.test_client()
    search = "/v1/public/entities?page_size=1"
    assert http.get(search).status_code == 200
    in_pool = backend_pid(engine)  # the connection the request used, back in the pool
    terminate(admin, in_pool)

    lost = http.get(search)
    served = [http.get(search) for _ in range(3)]

    assert lost.status_code == 503, lost.get_data(as_text=True)
    assert lost.headers["Retry-After"] == "1"
    assert lost.json["type"] == "urn:xinyong:problem:database-unavailable"  # type: ignore[index]
    assert [r.status_code for r in served] == [200, 200, 200]
    assert backend_pid(engine) != in_pool
    engine.dispose()


# --- requests that need no transaction ---------------------------------------------------------


@pytest.fixture
def live_app(fresh_engine: Engine, is_postgres: bool, tmp_path: Path) -> Iterator[Flask]:
    """The platform on a database of its own (not the tests' rolled-back transaction), so
    that its requests use the engine as in production."""
    if not is_postgres:
        pytest.skip("PostgreSQL only: SQLite's sessions are as they were")
    upgrade(fresh_engine)
    app = create_app(
        {
            "DATABASE_URL": fresh_engine.url.render_as_string(hide_password=False),
            "REDIS_URL": None,
            "LOG_JSON": False,
            "LOG_LEVEL": "CRITICAL",
            **TEST_SECRETS,
        },
        instance_path=tmp_path / "live",
    )
    yield app
    app.extensions["xinyong"].db.engine.dispose()


def statements_of(app: Flask) -> list[tuple[bool, str]]:
    """Every statement the app's engine runs from now on, with whether its connection was in
    autocommit (no transaction: psycopg sends neither BEGIN nor COMMIT)."""
    seen: list[tuple[bool, str]] = []

    @event.listens_for(app.extensions["xinyong"].db.engine, "before_cursor_execute")
    def _observe(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append((bool(conn.connection.dbapi_connection.autocommit), statement))

    return seen


def requests_own(seen: list[tuple[bool, str]]) -> list[tuple[bool, str]]:
    """The statements of the requests themselves: the key store reads and makes its signing
    key in sessions of its own, with a transaction."""
    return [
        (autocommit, sql)
        for autocommit, sql in seen
        if "signing_keys" not in sql and "pg_advisory_xact_lock" not in sql
    ]


def test_open_data_reads_and_client_credentials_run_without_a_transaction(
    live_app: Flask,
) -> None:
    db = live_app.extensions["xinyong"].db
    with db.new_session() as session:
        entity = make_entity(session)
        make_record(session, entity)
        client_id, secret = make_client(session, live_app)
        account_username, password, _ = make_account(session, live_app)
        session.commit()
    http = live_app.test_client()
    seen = statements_of(live_app)

    reads = [
        http.get(f"/v1/public/entities/{entity.uscc}"),
        http.get(f"/v1/public/entities/{entity.uscc}/records"),
        http.get("/v1/public/entities", query_string={"q": entity.name}),
        http.get("/v1/public/changes", query_string={"since": "2020-01-01T00:00:00Z"}),
        client_credentials(http, client_id, secret),
    ]

    assert [r.status_code for r in reads] == [200] * 5, [r.get_data(as_text=True) for r in reads]
    assert reads[0].json["public_record_counts"]["penalty"] == 1  # type: ignore[index]
    requests_ = requests_own(seen)
    assert requests_
    assert [sql for autocommit, sql in requests_ if not autocommit] == []

    # What writes keeps its transaction: here a sign-in, which records the attempt.
    seen.clear()
    signed_in = sign_in_and_authorize(http, CLI, loopback(53682), account_username, password)
    assert signed_in.status_code in (302, 303), signed_in.get_data(as_text=True)
    assert seen
    assert [sql for autocommit, sql in seen if autocommit] == []


def test_a_report_read_writes_its_access_log_entry_without_a_transaction(
    live_app: Flask,
) -> None:
    db = live_app.extensions["xinyong"].db
    hasher = live_app.extensions["xinyong"].oauth.hasher
    with db.new_session() as session:
        client_id, secret = make_client(session, live_app)
        subject = make_entity(session)
        make_record(session, subject)
        partner = auth_service.partner_of(auth_service.get_client_or_raise(
            db_session=session, client_id=client_id))  # fmt: skip
        consent = consent_service.grant(
            db_session=session,
            subject=subject,
            partner=partner,
            categories=["basic"],
            purpose="loan_application",
            purpose_note=None,
            expires_at=clock.now() + timedelta(days=30),
        )
        consent_token = consent_service.issue_token(
            db_session=session, consent=consent, hash_token=hasher.hash
        )
        subject_id = subject.subject_id
        session.commit()
    http = live_app.test_client()
    bearer = access_token(http, client_id, secret)
    seen = statements_of(live_app)

    read = http.get(
        f"/v1/subjects/{subject_id}/report",
        headers={"Authorization": f"Bearer {bearer}", "Consent-Token": consent_token},
    )

    assert read.status_code == 200, read.get_data(as_text=True)
    requests_ = requests_own(seen)
    assert any(sql.startswith("INSERT INTO access_log") for _, sql in requests_)
    assert [sql for autocommit, sql in requests_ if not autocommit] == []
    # The entry was committed by its own statement: another connection sees it.
    with db.new_session() as session:
        logged = session.scalars(
            select(AccessLogEntry.report_no).where(AccessLogEntry.consent_id == consent.consent_id)
        ).all()
    assert logged == [read.json["report_no"]]  # type: ignore[index]

    # Refused without a transaction too: a 403 problem, and nothing written.
    for bad in (consent_token + "x", "", "ct_" + "A" * 200):
        refused = http.get(
            f"/v1/subjects/{subject_id}/report",
            headers={"Authorization": f"Bearer {bearer}", "Consent-Token": bad},
        )
        assert refused.status_code == 403, refused.get_data(as_text=True)
        assert refused.mimetype == "application/problem+json"
    with db.new_session() as session:
        entries = session.scalars(
            select(AccessLogEntry.report_no).where(AccessLogEntry.subject_pk == subject.id)
        ).all()
    assert entries == logged

    # A batch writes an entry per report served, all or none: it keeps its transaction.
    seen.clear()
    batch = http.post(
        "/v1/subjects/reports:batch",
        json={"items": [{"subject_id": subject_id, "consent_token": consent_token}] * 2},
        headers={"Authorization": f"Bearer {bearer}"},
    )
    assert batch.status_code == 200, batch.get_data(as_text=True)
    assert [r["status"] for r in batch.json["results"]] == [200, 200]  # type: ignore[index]
    assert [sql for autocommit, sql in seen if autocommit] == []
