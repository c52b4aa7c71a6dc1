"""No request holds a worker for long: a request's database work stops at
REQUEST_TIME_LIMIT seconds (SQLite's progress handler; PostgreSQL's statement_timeout) with
a "this is taking too long" page, and the next request works as usual."""

from __future__ import annotations

from sqlalchemy import text

from survey.services import staff as staff_service
from tests.resident import page
from tests.staff import signed_in_client

# A statement that never ends on SQLite (counting for ever), and one of a minute on
# PostgreSQL: only the time limit can answer the request sooner.
ENDLESS = {
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
    "SELECT count(*) FROM c",
    "postgresql": "SELECT pg_sleep(60)",
}


def test_a_request_that_runs_past_its_time_limit_is_stopped_with_a_clear_page(
    app, make_app, monkeypatch
):
    limited = make_app(REQUEST_TIME_LIMIT=1)
    admin = signed_in_client(limited, "admin")
    listed = staff_service.list_users

    def endless(session):
        session.execute(text(ENDLESS[session.get_bind().dialect.name]))
        return listed(session)

    monkeypatch.setattr(staff_service, "list_users", endless)
    stopped = admin.get("/staff/admin/users")
    assert stopped.status_code == 503
    text_shown = " ".join(page(stopped).get_text(" ").split())
    assert "This is taking too long" in text_shown
    assert "We stopped working on this page after 1 second," in text_shown
    monkeypatch.undo()
    assert admin.get("/staff/admin/users").status_code == 200  # the connection still works
