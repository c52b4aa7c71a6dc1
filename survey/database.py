"""Engine settings that SQLAlchemy's URL cannot carry, and each request's time limit.

SQLite: WAL so readers never block the writer, a busy timeout so writers wait rather than
fail, foreign keys enforced, and write requests that take the write lock when they begin,
so a transaction never reads and then finds the database locked when it writes. A read
request that writes one line at its end (a download's audit line) does so in a short
transaction of its own that takes the lock as it begins (`writing`).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from contextvars import ContextVar

from flask import Flask, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

SQLITE_BUSY_TIMEOUT = 10_000  # milliseconds a writer waits for the lock
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WRITING: ContextVar[bool] = ContextVar("writing", default=False)
# When this request's database work must stop (time.monotonic()), or None outside requests.
_DEADLINE: ContextVar[float | None] = ContextVar("deadline", default=None)
PROGRESS_EVERY = 10_000  # SQLite virtual-machine steps between looks at the clock


def past_deadline() -> bool:
    """Whether this request has used up its time (REQUEST_TIME_LIMIT)."""
    deadline = _DEADLINE.get()
    return deadline is not None and time.monotonic() > deadline


def took_too_long(error: BaseException) -> bool:
    """Whether a database error is this request's time limit stopping a statement."""
    cause = getattr(error, "orig", None) or error
    return type(cause).__name__ == "QueryCanceled" or (
        isinstance(cause, sqlite3.OperationalError) and "interrupted" in str(cause)
    )


@contextlib.contextmanager
def writing() -> Iterator[None]:
    """Transactions begun inside take SQLite's write lock as they begin, whatever the
    request's method (BEGIN IMMEDIATE waits for the lock; a read that later writes fails
    at once if the database changed since it began reading)."""
    token = _WRITING.set(True)
    try:
        yield
    finally:
        _WRITING.reset(token)


def configure_engines(app: Flask) -> None:
    """Attach the SQLite settings to the app's engine when it is SQLite, and end every
    request's session safely even when the database dropped the connection."""
    from survey.extensions import db

    # Registered after Flask-SQLAlchemy's, so it runs first (teardowns run in reverse).
    @app.teardown_appcontext
    def end_session(_error: BaseException | None) -> None:
        try:
            db.session.rollback()
        except SQLAlchemyError:
            # The server ended the connection (a restart, pg_terminate_backend): drop it
            # from the pool rather than fail the response that was already made.
            with contextlib.suppress(SQLAlchemyError):
                db.session().invalidate()

    # Every request's database work stops once it has taken REQUEST_TIME_LIMIT seconds, so
    # no request holds a worker for minutes. Jobs, outside requests, have their own limit.
    limit = app.config["REQUEST_TIME_LIMIT"]

    @app.before_request
    def start_the_clock() -> None:
        _DEADLINE.set(time.monotonic() + limit)

    @app.teardown_request
    def stop_the_clock(_error: BaseException | None) -> None:
        _DEADLINE.set(None)

    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "begin", _postgresql_on_begin)


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN, so it can choose IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # SQLite stops a statement ("interrupted") when the handler answers true.
    dbapi_connection.set_progress_handler(past_deadline, PROGRESS_EVERY)


def _postgresql_on_begin(connection) -> None:
    # Each statement of a request's transaction may take at most the time the request has
    # left (PostgreSQL cancels it: QueryCanceled). SET LOCAL ends with the transaction.
    deadline = _DEADLINE.get()
    if deadline is not None:
        left = max(1, int((deadline - time.monotonic()) * 1000))
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {left}")


def _sqlite_on_begin(connection: Engine) -> None:
    reading = has_request_context() and request.method in SAFE_METHODS and not _WRITING.get()
    connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")
