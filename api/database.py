"""The SQLAlchemy engine and the request-scoped session."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, scoped_session, sessionmaker


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine tuned for the platform: foreign keys and WAL on SQLite, pre-ping everywhere."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy emit BEGIN.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN")

        return engine
    # A short connect timeout: an unreachable database must make /readyz answer 503, not hang.
    connect_args = {"connect_timeout": 5} if url.startswith("postgresql") else {}
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        connect_args=connect_args,
        **kwargs,
    )


class Database:
    """Holds the engine and a scoped session, removed at the end of each request."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.session_factory = sessionmaker(expire_on_commit=False)
        self.session = scoped_session(self.session_factory)

    def init_app(self, app: Flask) -> None:
        """Create the engine from the app's configuration."""
        self.engine = make_engine(app.config["DATABASE_URL"])
        self.session_factory.configure(bind=self.engine)
        app.extensions["xinyong_db"] = self

        @app.teardown_appcontext
        def _remove_session(_exc: BaseException | None) -> None:
            self.session.remove()

    def new_session(self) -> Session:
        """A session outside of a request (commands, background work)."""
        return self.session_factory()
