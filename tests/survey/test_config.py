"""Configuration: safe defaults, and production that refuses to start unsafely."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from survey import create_app
from survey.config import ConfigurationError
from survey.extensions import db

GOOD_SECRET = "s" * 40


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.example/survey")
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app({"SURVEY_ENV": "production"})


def test_production_refuses_a_short_secret_key(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "short")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.example/survey")
    with pytest.raises(ConfigurationError, match="at least 32"):
        create_app({"SURVEY_ENV": "production"})


def test_production_refuses_to_start_without_a_database_url(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", GOOD_SECRET)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        create_app({"SURVEY_ENV": "production"})


def test_production_refuses_debug(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.example/survey")
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(ConfigurationError, match="debug"):
        create_app({"SURVEY_ENV": "production"})


def test_production_uses_psycopg_secure_cookies_and_pre_ping(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("DATABASE_URL", "postgres://user@db.example/survey")
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    app = create_app({"SURVEY_ENV": "production"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://user@db.example/survey"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
    assert app.debug is False


def test_an_unknown_environment_name_is_refused_naming_the_allowed_ones():
    with pytest.raises(ConfigurationError, match="development, production, test"):
        create_app({"SURVEY_ENV": "staging"})


def test_development_defaults_to_sqlite_in_the_instance_folder(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app({"SURVEY_ENV": "development"})
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/survey.db")
    assert len(app.config["SECRET_KEY"]) >= 32


def test_sqlite_runs_with_wal_busy_timeout_and_foreign_keys(app, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite settings")
    with app.app_context(), db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_postgresql_connections_are_checked_and_recycled(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none")
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_pre_ping"] is True and options["pool_recycle"] > 0


def test_healthz_says_503_when_the_database_is_unreachable(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unreachable"}


def test_a_resident_gets_an_honest_page_when_the_database_is_down(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/s/demo")
    assert response.status_code == 503
    assert "not available right now" in response.get_data(as_text=True)
