"""Pooled PostgreSQL connections that die (a restart, a failover, an idle timeout) are replaced.

The engine pings a pooled connection before use only when it sat idle (api/database.py), rather
than on every checkout. These tests end the server side of pooled connections for real, with
`pg_terminate_backend` from another connection, and watch what the next uses see: an idle
connection is replaced without the caller noticing; one used a moment ago is not pinged (that
round trip is what the change saved), so the request that finds it dead answers 503 with
Retry-After, and the very next request is served.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from api.app import create_app
from api.database import make_engine
from tests.conftest import TEST_SECRETS

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
