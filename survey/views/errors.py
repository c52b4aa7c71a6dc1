"""Error pages: plain words, the right status, nothing leaked."""

from __future__ import annotations

import contextlib

from flask import Flask, render_template
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from survey.database import took_too_long
from survey.extensions import db


class LinkClosed(HTTPException):
    """The distribution link exists but does not accept responses now."""

    code = 410
    description = "closed"

    def __init__(self, not_yet_open: bool = False) -> None:
        super().__init__()
        self.not_yet_open = not_yet_open


def register(app: Flask) -> None:
    @app.errorhandler(LinkClosed)
    def link_closed(error: LinkClosed):
        return render_template("errors/closed.html", not_yet_open=error.not_yet_open), 410

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = error.code or 500
        if code >= 500:
            return render_template("errors/500.html"), code
        return render_template("errors/http.html", code=code), code

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(DisconnectionError)
    def database_unavailable(error: SQLAlchemyError):
        discard_session()
        if took_too_long(error):
            app.logger.warning("Stopped at the request time limit")
            limit = app.config["REQUEST_TIME_LIMIT"]
            return render_template("errors/too_long.html", limit=limit), 503
        cause = getattr(error, "orig", None) or error
        app.logger.error("Database unavailable: %s", type(cause).__name__)
        return render_template("errors/database.html"), 503

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        discard_session()
        app.logger.exception("Unexpected error")
        return render_template("errors/500.html"), 500


def discard_session() -> None:
    """Drop the request's transaction; a dead connection must not turn a 503 into a 500."""
    try:
        db.session.rollback()
    except SQLAlchemyError:
        with contextlib.suppress(SQLAlchemyError):
            db.session.close()
