"""The SQLAlchemy engine and the request-scoped session."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, has_request_context, request
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, scoped_session, sessionmaker

_SQLITE_WRITER = "xinyong_sqlite_writer"
_READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def make_engine(url: str, *, idle_ping_seconds: float = 5.0, **kwargs: Any) -> Engine:
    """An engine tuned for the platform: foreign keys and WAL on SQLite; on PostgreSQL, idle
    pooled connections pinged before use."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy emit BEGIN.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            # FULL: an accepted write survives a power cut too, as API.md promises ("durable
            # when the answer is sent"); NORMAL in WAL mode only survives a killed process.
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            # A write transaction that began as a read cannot wait for another writer: SQLite
            # fails it at once with "database is locked". Sessions that will write (see
            # Database) take the write lock up front and queue behind each other instead.
            immediate = connection.get_execution_options().get(_SQLITE_WRITER, False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    # A short connect timeout: an unreachable database must make /readyz answer 503, not hang.
    connect_args = {"connect_timeout": 5} if url.startswith("postgresql") else {}
    engine = create_engine(
        url, connect_args=connect_args, **{"pool_size": 5, "max_overflow": 10, **kwargs}
    )
    _ping_idle_connections(engine, idle_ping_seconds)
    return engine


def _ping_idle_connections(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection before use only when it sat idle for `idle_seconds`.

    SQLAlchemy's `pool_pre_ping` pings on every checkout: one more round trip for every request,
    which under load cost the token endpoint a sixth of its throughput. A connection that was in
    use a moment ago is as good as a ping; one that sat idle may have been closed by a database
    restart, a failover or a firewall, and is replaced here before a request sees it. If the
    database goes away while connections are busy, the request that finds out answers 503 with
    Retry-After (api/errors.py), and SQLAlchemy replaces the whole pool's connections.
    """

    @event.listens_for(engine, "checkin")
    def _idle_since(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool drops this connection and checks out (or opens) another.
            raise DisconnectionError(f"an idle pooled connection is dead: {error}") from error


F = TypeVar("F", bound=Callable[..., Any])


def writes_on_read(view: F) -> F:
    """Mark a GET handler that writes (a report read adds to the access log), so that its
    session takes SQLite's write lock up front like any other write."""
    view.writes_on_read = True  # type: ignore[attr-defined]
    return view


def one_write_statement(view: F) -> F:
    """Mark a handler whose only write is one statement (a report read's access-log entry):
    on PostgreSQL it needs no transaction, as that statement commits by itself before the
    handler answers, and each read sees a snapshot of its own as under READ COMMITTED."""
    view.one_write_statement = True  # type: ignore[attr-defined]
    return view


def request_handler() -> Any:
    """The function that handles this request: its MethodView's method, or the view itself
    (None when no route matched). Markers such as `writes_on_read` are read from it."""
    view = current_app.view_functions.get(request.endpoint or "")
    view_class = getattr(view, "view_class", None)
    return getattr(view_class, request.method.lower(), None) if view_class else view


def _view_writes_on_read() -> bool:
    return bool(getattr(request_handler(), "writes_on_read", False))


def _needs_no_transaction() -> bool:
    """Whether the request only reads, one statement at a time, or writes with one statement:
    the open data's GETs, client-credentials token requests (which look up the client and
    sign; nothing is kept) and handlers marked `one_write_statement`. Such a request needs no
    transaction on PostgreSQL: each statement sees a consistent snapshot of its own. The list
    is short on purpose: a request missing from it is merely slower, one wrongly on it would
    lose the atomicity of its writes."""
    if request.method == "GET" and request.blueprint == "public":
        return True
    if getattr(request_handler(), "one_write_statement", False):
        return True
    return (
        request.method == "POST"
        and request.endpoint == "oauth.token"
        and request.mimetype == "application/x-www-form-urlencoded"
        and request.form.get("grant_type") == "client_credentials"
    )


class Database:
    """Holds the engine and a scoped session, removed at the end of each request.

    On SQLite the session of a request that may write (any method but GET, HEAD and OPTIONS)
    and the commands' sessions begin with `BEGIN IMMEDIATE`; other sessions, such as the key
    store's reads in the middle of a request, begin deferred and never wait for that lock.
    """

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.writer: Engine | None = None
        self.autocommit: Engine | None = None
        self.session_factory = sessionmaker(expire_on_commit=False)
        # scoped_session calls its factory with no arguments; the stubs ask for a sessionmaker.
        self.session: scoped_session[Session] = scoped_session(
            self._request_session  # type: ignore[arg-type]
        )

    def init_app(self, app: Flask) -> None:
        """Create the engine from the app's configuration."""
        self.engine = make_engine(app.config["DATABASE_URL"])
        self.writer = self.engine.execution_options(**{_SQLITE_WRITER: True})
        self.autocommit = (
            self.engine.execution_options(isolation_level="AUTOCOMMIT")
            if self.engine.dialect.name == "postgresql"
            else None
        )
        self.session_factory.configure(bind=self.engine)
        app.extensions["xinyong_db"] = self

        @app.teardown_appcontext
        def _remove_session(_exc: BaseException | None) -> None:
            self.session.remove()

    def _request_session(self) -> Session:
        if (
            self.autocommit is not None
            and self.session_factory.kw.get("bind") is self.engine
            and has_request_context()
            and _needs_no_transaction()
        ):
            # No transaction: no BEGIN and no COMMIT or ROLLBACK, two round trips fewer.
            return self.session_factory(bind=self.autocommit)
        reading = (
            has_request_context()
            and request.method in _READING_METHODS
            and not _view_writes_on_read()
        )
        return self._writing_session() if not reading else self.session_factory()

    def _writing_session(self) -> Session:
        # Unless the factory was bound elsewhere (the tests bind it to their own connection).
        if self.session_factory.kw.get("bind") is self.engine:
            return self.session_factory(bind=self.writer)
        return self.session_factory()

    def new_session(self) -> Session:
        """A session outside of a request (commands, background work) that may write."""
        return self._writing_session()

    def reading_session(self) -> Session:
        """A session that only reads: it never waits for another session's write lock."""
        return self.session_factory()
