"""Each submission is stored exactly once: double clicks, races, Back and resubmit."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from survey.models import Response, SpentSubmissionToken


def responses(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Response))


def test_submitting_twice_stores_one_response(resident, db_session):
    resident.complete()
    form = resident.submit_form()
    first = resident.submit(form)
    second = resident.submit(form)
    assert first.status_code == second.status_code == 303
    assert second.headers["Location"].endswith("/s/demo/done")
    assert responses(db_session) == 1


def test_back_and_resubmit_stores_one_response(resident, db_session):
    resident.complete()
    form = resident.submit_form()
    resident.submit(form)
    # Back to check answers: the draft is gone, so the resident is sent to the start.
    assert resident.get("/s/demo/check-answers").headers["Location"].endswith("/s/demo")
    # A browser that re-posts the cached page is told the answers were sent, once.
    assert resident.submit(form).headers["Location"].endswith("/s/demo/done")
    assert responses(db_session) == 1


def test_ten_concurrent_identical_submissions_store_one_response(app, resident, db_session):
    resident.complete()
    form = resident.submit_form()
    cookie = resident.client.get_cookie("survey_session").value
    barrier = threading.Barrier(10)
    statuses: list[int] = []

    def post() -> None:
        client = app.test_client()
        client.set_cookie("survey_session", cookie)
        barrier.wait()
        statuses.append(client.post("/s/demo/check-answers", data=form).status_code)

    threads = [threading.Thread(target=post) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [303] * 10
    assert responses(db_session) == 1
    assert db_session.scalar(select(func.count()).select_from(SpentSubmissionToken)) == 1


def test_a_stale_submit_token_shows_check_answers_again_without_storing(resident, db_session):
    resident.complete()
    form = resident.submit_form()
    form["submit_token"] = "not-the-token"
    response = resident.submit(form)
    assert response.headers["Location"].endswith("/s/demo/check-answers")
    assert responses(db_session) == 0


def test_a_failure_while_storing_the_answers_leaves_nothing_and_no_thank_you(
    app, resident, db_session, monkeypatch
):
    from sqlalchemy import event

    from survey.extensions import db

    resident.complete()
    form = resident.submit_form()
    with app.app_context():
        engine = db.engine

    def fail_on_answers(connection, cursor, statement, parameters, context, executemany):
        # The token and the response are already written in this transaction.
        if statement.lstrip().upper().startswith("INSERT INTO ANSWERS"):
            raise RuntimeError("disk full")

    event.listen(engine, "before_cursor_execute", fail_on_answers)
    try:
        response = resident.submit(form)
    finally:
        event.remove(engine, "before_cursor_execute", fail_on_answers)
    assert response.status_code == 500
    assert "Your answers have been sent" not in response.get_data(as_text=True)
    with app.app_context():
        db.session.remove()
    assert responses(db_session) == 0
    assert db_session.scalar(select(func.count()).select_from(SpentSubmissionToken)) == 0
    # The draft survives, so the resident can try again and be stored once.
    assert resident.submit(form).headers["Location"].endswith("/s/demo/done")
    assert responses(db_session) == 1
