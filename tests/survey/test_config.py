"""Configuration: safe defaults, and production that refuses to start unsafely."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys

import pytest
from sqlalchemy import text

from survey import create_app
from survey.config import PROJECT_ROOT, SETTINGS, ConfigurationError, check_workers
from survey.extensions import db
from tests.environment import clean_environ

GOOD_SECRET = "production-key-Xq7mWv2LpR9sT4kZ8nB3cD6fH1jY5aE0"


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("SURVEY_SECRET_KEY", raising=False)
    monkeypatch.setenv("SURVEY_DATABASE_URL", "postgresql://db.example/survey")
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app({"SURVEY_ENV": "production"})


def test_production_refuses_a_short_secret_key(monkeypatch):
    monkeypatch.setenv("SURVEY_SECRET_KEY", "short")
    monkeypatch.setenv("SURVEY_DATABASE_URL", "postgresql://db.example/survey")
    with pytest.raises(ConfigurationError, match="at least 32"):
        create_app({"SURVEY_ENV": "production"})


@pytest.mark.parametrize(
    ("secret", "words"),
    [
        ("test-secret-key-not-for-use-anywhere-else", "test settings' key"),
        ("a" * 32, "too predictable"),
        ("s" * 40, "too predictable"),
        ("abababababababababababababababab", "too predictable"),
    ],
)
def test_production_refuses_a_public_or_predictable_secret_key(
    monkeypatch, tmp_path, secret, words
):
    monkeypatch.setenv("SURVEY_SECRET_KEY", secret)
    monkeypatch.setenv("SURVEY_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    with pytest.raises(ConfigurationError, match=words):
        create_app({"SURVEY_ENV": "production"})


@pytest.mark.parametrize("make", [lambda: secrets.token_hex(16), lambda: secrets.token_urlsafe(32)])
def test_production_takes_a_key_made_as_the_readme_says(monkeypatch, tmp_path, make):
    monkeypatch.setenv("SURVEY_SECRET_KEY", make())
    monkeypatch.setenv("SURVEY_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    monkeypatch.setenv("SURVEY_RATELIMIT_STORAGE_URI", "memory://")
    assert create_app({"SURVEY_ENV": "production"}).config["SESSION_COOKIE_SECURE"]


def test_production_refuses_to_start_without_a_database_url(monkeypatch):
    monkeypatch.setenv("SURVEY_SECRET_KEY", GOOD_SECRET)
    monkeypatch.delenv("SURVEY_DATABASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="SURVEY_DATABASE_URL"):
        create_app({"SURVEY_ENV": "production"})


def test_production_refuses_debug(monkeypatch):
    monkeypatch.setenv("SURVEY_SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("SURVEY_DATABASE_URL", "postgresql://db.example/survey")
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(ConfigurationError, match="debug"):
        create_app({"SURVEY_ENV": "production"})


def test_production_uses_psycopg_secure_cookies_and_pre_ping(monkeypatch):
    monkeypatch.setenv("SURVEY_SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("SURVEY_DATABASE_URL", "postgres://user@db.example/survey")
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
    monkeypatch.delenv("SURVEY_DATABASE_URL", raising=False)
    monkeypatch.delenv("SURVEY_SECRET_KEY", raising=False)
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


# --- One way to configure: SURVEY_* variables, and explicit settings beat them --------------


def test_explicit_settings_beat_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SURVEY_DATABASE_URL", "postgresql://real.example/survey")
    monkeypatch.setenv("SURVEY_SUPPRESSION_THRESHOLD", "20")
    mine = f"sqlite:///{tmp_path / 'mine.db'}"
    app = create_app({"SURVEY_ENV": "test", "SQLALCHEMY_DATABASE_URI": mine})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == mine
    assert app.config["SUPPRESSION_THRESHOLD"] == 20  # the environment still fills the rest


def test_a_bare_database_url_in_the_shell_is_never_read(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://real.example/survey")
    monkeypatch.delenv("SURVEY_DATABASE_URL", raising=False)
    app = create_app({"SURVEY_ENV": "development"})
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/survey.db")


@pytest.mark.parametrize(
    ("variable", "value", "key", "expected"),
    [
        ("SURVEY_SUPPRESSION_THRESHOLD", "15", "SUPPRESSION_THRESHOLD", 15),
        ("SURVEY_MICRODATA_K", "8", "MICRODATA_K", 8),
        ("SURVEY_DRAFT_TTL", "3600", "DRAFT_TTL", 3600),
        ("SURVEY_TRUSTED_PROXY_HOPS", "1", "TRUSTED_PROXY_HOPS", 1),
        ("SURVEY_LANGUAGE_STATUSES", "reviewed", "LANGUAGE_STATUSES", ("reviewed",)),
        ("SURVEY_CONTACT_EMAIL", "privacy@example.org", "CONTACT_EMAIL", "privacy@example.org"),
    ],
)
def test_every_setting_is_read_from_its_prefixed_variable(
    monkeypatch, variable, value, key, expected
):
    monkeypatch.setenv(variable, value)
    assert create_app({"SURVEY_ENV": "test"}).config[key] == expected


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SURVEY_SUPPRESSION_THRESHOLD", "ten", "SURVEY_SUPPRESSION_THRESHOLD='ten'"),
        ("SURVEY_SUPPRESSION_THRESHOLD", "1", "at least 2"),
        ("SURVEY_DRAFT_TTL", "٣٦٠٠", "whole number"),
        ("SURVEY_LINK_SUBMIT_LIMIT", "lots", "rate limits such as"),
        ("SURVEY_LANGUAGE_STATUSES", "draft", "'reviewed' and 'unreviewed'"),
        ("SURVEY_EXIT_URL", "javascript:alert(1)", "a web address starting https://"),
        ("SURVEY_SUPRESSION_THRESHOLD", "10", "Did you mean SURVEY_SUPPRESSION_THRESHOLD"),
    ],
)
def test_a_wrong_or_misspelt_setting_stops_the_app_saying_which(
    monkeypatch, variable, value, message
):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        create_app({"SURVEY_ENV": "test"})


def test_the_readme_lists_every_setting_and_nothing_else():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `(SURVEY_[A-Z_]+)` \|", section, re.MULTILINE))
    assert listed == {setting.variable for setting in SETTINGS}


def test_production_refuses_several_workers_with_a_per_process_rate_limit_store(tmp_path):
    env = clean_environ(
        SURVEY_ENV="production",
        SURVEY_SECRET_KEY=GOOD_SECRET,
        SURVEY_DATABASE_URL=f"sqlite:///{tmp_path / 'p.db'}",
        SURVEY_BIND="127.0.0.1:0",
        SURVEY_WEB_WORKERS="3",
    )
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "survey.wsgi:app"]
    result = subprocess.run(
        gunicorn, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "SURVEY_RATELIMIT_STORAGE_URI" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("env_name", "workers", "store"),
    [
        ("production", 1, "memory://"),
        ("production", 4, "redis://127.0.0.1:6379"),
        ("development", 4, "memory://"),
    ],
)
def test_one_worker_or_a_shared_store_may_start(env_name, workers, store):
    check_workers(
        {"RATELIMIT_STORAGE_URI": store, "JOB_QUEUE": "redis://127.0.0.1:6379/0"},
        env_name,
        workers,
    )


@pytest.mark.parametrize("queue", [None, "thread", "inline"])
def test_production_refuses_to_run_heavy_staff_work_in_its_web_workers(queue):
    with pytest.raises(ConfigurationError, match="SURVEY_JOB_QUEUE"):
        check_workers({"RATELIMIT_STORAGE_URI": "redis://x", "JOB_QUEUE": queue}, "production", 1)
    check_workers({"JOB_QUEUE": queue}, "development", 4)


def test_only_the_tests_hash_passwords_cheaply():
    """The suite's argon2id costs (one pass, 8 KiB) never reach development or production,
    which keep argon2-cffi's recommended costs."""
    from survey.config import config_for

    for name in ("development", "production"):
        chosen = config_for(name)
        costs = (chosen.ARGON2_TIME_COST, chosen.ARGON2_MEMORY_COST, chosen.ARGON2_PARALLELISM)
        assert costs == (3, 64 * 1024, 4), name
    test = config_for("test")
    assert (test.ARGON2_TIME_COST, test.ARGON2_MEMORY_COST) == (1, 8)
