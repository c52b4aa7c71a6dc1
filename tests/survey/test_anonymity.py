"""The promise to residents: nothing that identifies them is stored or logged."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import DateTime, inspect, select
from werkzeug.serving import make_server

from survey import clock
from survey.devserver import AnonymousRequestHandler
from survey.models import RESPONSE_TABLES, Base, Draft, Response, SpentSubmissionToken, TextAnswer

IDENTIFYING = re.compile(
    r"(^|_)(ip|ips|address|addr|forwarded|user_agent|agent|ua|referr?er|accept_language|"
    r"language_header|cookie|session|draft|token|device|email|phone|postcode|name|staff|user|"
    r"created_by|officer|time|timestamp|created_at|updated_at)(_|$)"
)
PROJECT = Path(__file__).resolve().parents[2]


def test_response_tables_have_no_identifying_columns_and_no_times(app):
    assert set(RESPONSE_TABLES) <= set(Base.metadata.tables)
    for table_name in RESPONSE_TABLES:
        table = Base.metadata.tables[table_name]
        for column in table.columns:
            assert not IDENTIFYING.search(column.name), f"{table_name}.{column.name}"
            assert not isinstance(column.type, DateTime), f"{table_name}.{column.name}"
        for key in table.foreign_keys:
            assert key.column.table.name in {"responses", "links", "questionnaire_versions"}


def test_the_migrated_database_matches_the_anonymity_rules_too(app, db_session):
    inspector = inspect(db_session.get_bind())
    for table_name in RESPONSE_TABLES:
        for column in inspector.get_columns(table_name):
            assert not IDENTIFYING.search(column["name"]), f"{table_name}.{column['name']}"
            assert "TIME" not in str(column["type"]).upper(), f"{table_name}.{column['name']}"


def test_spent_tokens_cannot_be_joined_to_a_response():
    table = Base.metadata.tables["spent_submission_tokens"]
    assert {c.name for c in table.columns} == {"token_hash", "spent_on"}
    assert not table.foreign_keys


def dump_database(session) -> str:
    """Every value in every table as text, as an intruder with a backup would see it."""
    parts = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)):
            parts.append(" ".join(str(value) for value in row))
    return "\n".join(parts)


def test_canary_headers_and_free_text_reach_neither_database_nor_logs(
    resident, db_session, bad_inputs, caplog
):
    canaries = bad_inputs["anonymity_canaries"]
    resident.client.environ_base.update(
        {
            "HTTP_" + name.upper().replace("-", "_"): value
            for name, value in canaries["headers"].items()
        }
    )
    resident.client.environ_base["REMOTE_ADDR"] = "203.0.113.199"
    caplog.set_level(logging.DEBUG)
    resident.complete({"anything_else": canaries["free_text"]})
    resident.submit()
    stored = db_session.scalar(select(TextAnswer.text))
    assert "[email removed]" in stored and "[phone number removed]" in stored
    assert "[postcode removed]" in stored and "[NI number removed]" in stored
    everything = dump_database(db_session) + "\n" + caplog.text
    for secret in canaries["must_not_appear_anywhere"]:
        assert secret not in everything, secret


def test_sqlite_file_itself_holds_no_canary(app, resident, bad_inputs, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("reads the SQLite file")
    canaries = bad_inputs["anonymity_canaries"]
    resident.complete({"anything_else": canaries["free_text"]})
    resident.submit()
    # The database file with its write-ahead log: everything on disk.
    raw = b"".join(path.read_bytes() for path in Path(database_url[10:]).parent.glob("*"))
    for secret in canaries["must_not_appear_anywhere"]:
        assert secret.encode() not in raw, secret


def test_development_server_logs_no_client_address_or_user_agent(app, bad_inputs, caplog):
    server = make_server("127.0.0.1", 0, app, request_handler=AnonymousRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    caplog.set_level(logging.INFO, logger="werkzeug")
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.server_port}/healthz",
            headers=bad_inputs["anonymity_canaries"]["headers"],
        )
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310
            assert reply.status == 200
    finally:
        server.shutdown()
    assert "GET /healthz" in caplog.text
    for secret in ("127.0.0.1", "CANARY-UA", "canary-7f3c2a", "203.0.113.199"):
        assert secret not in caplog.text


def test_gunicorn_access_log_format_has_no_address_agent_or_referrer():
    namespace: dict = {}
    exec((PROJECT / "gunicorn.conf.py").read_text(), namespace)  # noqa: S102
    log_format = namespace["access_log_format"]
    for atom in ("%(h)s", "%(a)s", "%(f)s", "%(l)s", "%(u)s", "%(t)s", "%(q)s", "}i"):
        assert atom not in log_format


def test_submission_is_stored_as_a_london_date_with_no_time(resident, db_session, monkeypatch):
    # 23:30 UTC on 1 July is 00:30 on 2 July in London (BST).
    frozen = dt.datetime(2026, 7, 1, 23, 30, tzinfo=dt.UTC)
    monkeypatch.setattr(clock, "now", lambda: frozen)
    resident.complete()
    resident.submit()
    submitted = db_session.scalar(select(Response.submitted_on))
    assert type(submitted) is dt.date
    assert submitted == dt.date(2026, 7, 2)


def test_response_ids_are_random_so_insertion_order_cannot_be_recovered(app, demo, db_session):
    from tests.resident import Resident

    created = []
    for _ in range(12):
        resident = Resident(app.test_client(), "demo")
        resident.complete()
        resident.submit()
        new = set(db_session.scalars(select(Response.id))) - set(created)
        created.extend(new)
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in created)
    assert created != sorted(created)
    assert len(set(created)) == 12


def test_the_draft_is_deleted_on_submit(resident, db_session):
    resident.complete()
    assert db_session.scalar(select(Draft)) is not None
    resident.submit()
    assert db_session.scalar(select(Draft)) is None


def test_expired_drafts_are_unusable_and_purged_by_the_command(
    app, resident, runner, db_session, monkeypatch
):
    resident.start()
    resident.answer("heard_of_prevent", "yes")
    later = clock.now() + dt.timedelta(seconds=app.config["DRAFT_TTL"] + 60)
    monkeypatch.setattr(clock, "now", lambda: later)
    response = resident.get("/s/demo/q/prevent_purpose")
    assert response.headers["Location"].endswith("/s/demo")
    result = runner.invoke(args=["drafts", "purge"])
    assert result.exit_code == 0
    assert "Deleted 1 expired draft(s)" in result.output
    assert db_session.scalar(select(Draft)) is None


def test_old_spent_tokens_are_purged_too(app, resident, runner, db_session, monkeypatch):
    resident.complete()
    resident.submit()
    days = app.config["SPENT_TOKEN_TTL_DAYS"] + 1
    later = clock.now() + dt.timedelta(days=days)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert "1 old submission token(s)" in runner.invoke(args=["drafts", "purge"]).output
    assert db_session.scalar(select(SpentSubmissionToken)) is None
