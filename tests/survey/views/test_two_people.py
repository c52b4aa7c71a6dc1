"""The two-person rule holds against one person with an admin account: nobody who prepared
or revised a release approves it, an approval is of the release as the approver saw it,
and an edit or a second approval while an approval is working waits for it and is then
refused. A release never quotes one that is not yet public."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import select

from survey import clock
from survey.extensions import db
from survey.models import AuditEvent, Release
from survey.services import releases as release_service
from tests.releases import last_quarter, prepare, publish, quarter_before, responses_as_real
from tests.resident import page
from tests.staff import approval_form, csrf_from, sign_in, signed_in_client


@pytest.fixture
def real(app, demo):
    responses_as_real(app, size=1500)


def prepare_as(client, period: str) -> int:
    data = {
        "csrf_token": csrf_from(client, "/staff/releases/new"),
        "period": period,
        "indicators": ["aware"],
        "breakdowns": ["sex"],
        "commentary": "More people have heard of Prevent.",
    }
    response = client.post("/staff/releases/new", data=data)
    assert response.status_code == 303, page(response).get_text(" ")[:2000]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def edit_form(client, release_id: int, commentary: str) -> dict:
    return {
        "csrf_token": csrf_from(client, f"/staff/releases/{release_id}/edit"),
        "period": last_quarter(),
        "indicators": ["aware"],
        "breakdowns": ["sex"],
        "commentary": commentary,
    }


def approve(client, release_id: int, form: dict | None = None):
    data = {**(form or approval_form(client, release_id)), "when": "now"}
    return client.post(f"/staff/releases/{release_id}/approve", data=data)


def approved_events(app) -> int:
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
        return actions.count("release_approved")


def test_whoever_revised_a_release_cannot_approve_it_even_after_someone_else_saves_it(app, real):
    admin = signed_in_client(app, "admin")
    analyst = signed_in_client(app, "analyst")
    release_id = prepare_as(admin, last_quarter())
    saved = analyst.post(
        f"/staff/releases/{release_id}/edit",
        data=edit_form(analyst, release_id, "More people have heard of Prevent."),
    )
    assert saved.status_code == 303  # re-saved unchanged: the analyst is the last to prepare
    response = approve(admin, release_id)
    assert response.status_code == 400
    assert "prepared or revised this release" in page(response).get_text(" ")
    with app.app_context():
        assert db.session.get(Release, release_id).approved_at is None


def test_an_approval_is_of_the_release_the_approver_saw(app, real):
    analyst = signed_in_client(app, "analyst")
    admin = signed_in_client(app, "admin")
    release_id = prepare_as(analyst, last_quarter())
    seen = approval_form(admin, release_id)  # the admin opens the release to check it
    changed = analyst.post(
        f"/staff/releases/{release_id}/edit",
        data=edit_form(analyst, release_id, "A commentary the admin has not read."),
    )
    assert changed.status_code == 303
    response = approve(admin, release_id, seen)
    assert response.status_code == 400
    assert "has changed since you opened it" in page(response).get_text(" ")
    with app.app_context():
        assert db.session.get(Release, release_id).approved_at is None
    assert approve(admin, release_id).status_code == 303  # after reading it again


def _while_approving(monkeypatch, action):
    """Run `action` in another thread once an approval has its release in hand, and keep
    the approval working for a moment after, as a slow one at many responses does."""
    original = release_service.build_snapshot
    started: list[threading.Thread] = []

    def slow(*args, **kwargs):
        if not started:
            thread = threading.Thread(target=action)
            started.append(thread)
            thread.start()
            time.sleep(1.0)
        return original(*args, **kwargs)

    monkeypatch.setattr(release_service, "build_snapshot", slow)
    return started


def test_an_edit_while_an_approval_works_waits_and_is_refused(app, real, monkeypatch):
    analyst = signed_in_client(app, "analyst")
    admin = signed_in_client(app, "admin")
    release_id = prepare_as(analyst, last_quarter())
    form = approval_form(admin, release_id)
    edit = edit_form(admin, release_id, "Commentary nobody else has checked.")
    edited = []
    started = _while_approving(
        monkeypatch,
        lambda: edited.append(admin.post(f"/staff/releases/{release_id}/edit", data=edit)),
    )
    approver = signed_in_client(app, "admin", "second-admin@example.org")
    response = approve(approver, release_id)
    started[0].join(timeout=60)
    assert response.status_code == 303
    # The edit waited for the approval, then found the release approved: refused. SQLite's
    # one writer makes it wait before reading (the edit page of an approved release is
    # gone: 404); PostgreSQL's row lock makes its job wait (refused with the reason: 400).
    assert edited, "the edit never answered"
    if edited[0].status_code == 400:
        assert "An approved release cannot be changed" in page(edited[0]).get_text(" ")
    else:
        assert edited[0].status_code == 404, edited
    with app.app_context():
        release = db.session.get(Release, release_id)
        assert release.commentary == "More people have heard of Prevent."
        assert release_service.digest(release) == form["seen"]


def test_two_admins_approving_at_once_approve_it_once(app, real, monkeypatch):
    analyst = signed_in_client(app, "analyst")
    first = signed_in_client(app, "admin", "first-admin@example.org")
    second = signed_in_client(app, "admin", "second-admin@example.org")
    release_id = prepare_as(analyst, last_quarter())
    second_form = approval_form(second, release_id)
    answers = []
    started = _while_approving(
        monkeypatch, lambda: answers.append(approve(second, release_id, second_form))
    )
    response = approve(first, release_id)
    started[0].join(timeout=60)
    assert response.status_code == 303
    assert answers and answers[0].status_code == 400
    assert "already approved" in page(answers[0]).get_text(" ")
    assert approved_events(app) == 1


def test_a_release_approved_for_later_is_not_quoted_before_its_time(app, real):
    later = clock.now() + dt.timedelta(days=365 * 4)
    scheduled = publish(app, quarter_before(last_quarter()), publish_at=later)
    release_id = prepare(app, last_quarter())
    with app.app_context():
        snapshot = db.session.get(Release, release_id).snapshot
        assert db.session.get(Release, scheduled).approved_at is not None
    for indicator in snapshot["indicators"]:
        assert indicator["change"] is None, indicator["change"]
        assert indicator["no_change_because"] == "first"


def test_an_account_made_by_whoever_prepared_a_release_cannot_approve_it(app, real):
    """An admin prepares a release, makes a second admin account and, with no mail set up,
    is shown its set-password link: they could choose its password, so it cannot approve."""
    admin = signed_in_client(app, "admin")
    release_id = prepare_as(admin, last_quarter())
    created = admin.post(
        "/staff/admin/users/new",
        data={
            "csrf_token": csrf_from(admin, "/staff/admin/users/new"),
            "email": "second@example.org",
            "role": "admin",
        },
    )
    link = page(created).select_one("#password-link").get_text(strip=True)
    second = app.test_client()
    second.get(link[link.index("/staff/") :])
    chosen = "another pair of hands 5"
    second.post(
        "/staff/set-password",
        data={
            "csrf_token": csrf_from(second, "/staff/set-password"),
            "password": chosen,
            "confirm": chosen,
        },
    )
    assert sign_in(second, "second@example.org", chosen).status_code == 303
    response = approve(second, release_id)
    assert response.status_code == 400
    assert "set through a link shown to someone who prepared or revised" in " ".join(
        page(response).get_text(" ").split()
    )
    with app.app_context():
        assert db.session.get(Release, release_id).approved_at is None
    # An administrator who had nothing to do with the release still can.
    other = signed_in_client(app, "admin", "other@example.org")
    assert approve(other, release_id).status_code == 303
