"""The migrations build the schema from nothing, and agree with the models."""

from __future__ import annotations

import json
import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from survey.models import Base
from tests.databases import new_postgres_database


def test_migrated_schema_has_every_table(database_url):
    engine = create_engine(database_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_models_and_migrations_agree(database_url):
    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def test_flask_db_upgrade_builds_the_schema_from_nothing(tmp_path, monkeypatch):
    from flask_migrate import upgrade

    from survey import create_app
    from survey.extensions import db

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    app = create_app({"SURVEY_ENV": "test", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    engine = create_engine(url)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    """A database of this test's own: a SQLite file, or a new PostgreSQL database on the
    server TEST_DATABASE_URL names, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        pytest.skip("PostgreSQL migrations need TEST_DATABASE_URL")
    with new_postgres_database(server, "migration") as url:
        yield url


def test_responses_whose_borough_a_link_set_are_marked_and_drafts_ask_again(empty_database):
    from flask_migrate import upgrade

    from survey import create_app
    from survey.extensions import db

    app = create_app({"SURVEY_ENV": "test", "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        upgrade(revision="0003_synthetic_links")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO questionnaire_versions (id, questionnaire_id, version, title, "
                    "content_sha256, source, loaded_on) VALUES "
                    "(1, 'prevent-awareness', 1, 't', 'x', 's', '2026-01-01')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO links (id, code, label, questionnaire_id, channel, "
                    "fixed_borough, closed, completed_count, one_per_browser, synthetic) VALUES "
                    "(1, 'whitechapel', 'Open day', 'prevent-awareness', 'event', 'E09000030', "
                    "false, 1, false, false), "
                    "(2, 'online', 'Online', 'prevent-awareness', 'social', NULL, "
                    "false, 1, false, false)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO responses (id, questionnaire_version_id, link_id, language, "
                    "submitted_on) VALUES ('a', 1, 1, 'en', '2026-06-01'), "
                    "('b', 1, 2, 'en', '2026-06-01')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO drafts (token_hash, questionnaire_version_id, link_id, language, "
                    "answers, submit_token, expires_at) VALUES ('t', 1, 1, 'en', "
                    """'{"borough": "E09000030", "heard_of_prevent": "yes"}', 's', """
                    "'2099-01-01 00:00:00')"
                )
            )
        upgrade()
        with db.engine.connect() as connection:
            marked = dict(
                connection.execute(text("SELECT id, borough_from_link FROM responses")).all()
            )
            used_in = connection.execute(
                text("SELECT distribution_borough FROM links WHERE id = 1")
            ).scalar()
            answers = connection.execute(text("SELECT answers FROM drafts")).scalar()
        db.engine.dispose()
    assert {k: bool(v) for k, v in marked.items()} == {"a": True, "b": False}
    assert used_in == "E09000030"
    answers = json.loads(answers) if isinstance(answers, str) else answers
    assert answers == {"heard_of_prevent": "yes"}
