"""Health check for load balancers: is the database answering?"""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from survey.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Say whether the app can reach its database."""
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


def register_bench_floor(app) -> None:
    """A bare endpoint for bench/submission_bench.py's floor, only when SURVEY_BENCH=1."""

    @app.get("/bench/hello")
    def bench_hello():
        return "hello"
