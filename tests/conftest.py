"""Test fixtures: a real database (PostgreSQL or SQLite), migrated once, a transaction per test.

`XINYONG_TEST_DATABASE_URL` selects PostgreSQL (the database is emptied and migrated at the start
of the session); without it the suite runs on a SQLite file, the embedded default.
`XINYONG_TEST_REDIS_URL` points the Redis-dependent tests at a real Redis.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from api.app import create_app
from api.config import normalize_database_url
from api.context import Platform
from api.database import make_engine
from api.migrate import upgrade
from api.ratelimit import DEFAULT_TIERS

UNLIMITED_TIERS = {tier: [10**9, 10**8] for tier in DEFAULT_TIERS}
TEST_SECRETS = {
    "SECRET_KEY": "dGVzdC1zZWNyZXQta2V5LWZvci1jdXJzb3JzLW9ubHktMzJieXRlcw==",
    "ID_HMAC_KEY": "aG1hYy1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMtbG9uZw==",
    "ID_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    "SECRET_PEPPER": "cGVwcGVyLWZvci10ZXN0cy1vbmx5LTMyLWJ5dGVzISE=",
    "KEYSTORE_KEY": "a2V5c3RvcmUta2V5LWZvci10ZXN0cy1vbmx5LTMyYnk=",
}


def _reset_postgres(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("XINYONG_TEST_DATABASE_URL")
    if url:
        return normalize_database_url(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture(scope="session")
def redis_url() -> str | None:
    return os.environ.get("XINYONG_TEST_REDIS_URL") or None


def flushed_redis(redis_url: str | None) -> str:
    """The test Redis, emptied (the test is skipped without one)."""
    if not redis_url:
        pytest.skip("XINYONG_TEST_REDIS_URL is not set")
    connection = redis.Redis.from_url(redis_url)
    try:
        connection.flushdb()
    finally:
        connection.close()
    return redis_url


# The loggers that create_app configures.
LOGGER_NAMES = ("xinyong", "api", "credit", "consent", "auth")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """create_app reconfigures the platform's loggers; put them back as they were."""
    saved = {}
    for name in LOGGER_NAMES:
        logger = logging.getLogger(name)
        saved[name] = (list(logger.handlers), logger.level, logger.propagate)
    try:
        yield
    finally:
        for name, (handlers, level, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    if database_url.startswith("postgresql"):
        _reset_postgres(engine)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def app(engine: Engine, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return create_app(
        {
            "DATABASE_URL": database_url,
            "LOG_JSON": False,
            # The limiter runs on every request, with room for whole suites from one address;
            # tests/api/test_rate_limits.py makes apps with small limits.
            "RATE_LIMITS": UNLIMITED_TIERS,
            **TEST_SECRETS,
        },
        instance_path=tmp_path_factory.mktemp("instance"),
    )


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back when the test ends."""
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield connection
        finally:
            transaction.rollback()


@pytest.fixture
def db_session(app: Flask, connection: Connection) -> Iterator[Session]:
    """A session for arranging test data; its commits stay inside the test's transaction.

    The request handlers get their own session on the same connection, so they see what the
    test committed, and what they write is rolled back with the test.
    """
    platform: Platform = app.extensions["xinyong"]
    platform.db.session.remove()
    platform.db.session_factory.configure(bind=connection, join_transaction_mode="create_savepoint")
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        platform.db.session.remove()
        platform.db.session_factory.configure(bind=platform.db.engine)


@pytest.fixture
def client(app: Flask, db_session: Session) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def instance_path(tmp_path: Path) -> Path:
    return tmp_path / "instance"


@pytest.fixture
def fresh_engine(engine: Engine, is_postgres: bool, tmp_path: Any) -> Iterator[Engine]:
    """An empty database of the kind under test: a SQLite file, or a new PostgreSQL database."""
    if not is_postgres:
        fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
        yield fresh
        fresh.dispose()
        return
    name = f"xinyong_mig_{secrets.token_hex(6)}"
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    fresh = make_engine(engine.url.set(database=name).render_as_string(hide_password=False))
    try:
        yield fresh
    finally:
        fresh.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
