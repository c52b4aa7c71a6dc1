"""The audit log a page at a time: filters, paging, and failed sign-ins grouped by the hour
so that no flood of them hides an admin's download."""

from __future__ import annotations

import datetime as dt

import pytest

from survey.models import AuditEvent
from tests.resident import page
from tests.staff import signed_in_client

NOON = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def event(action: str, who: str, at: dt.datetime, detail: str = "") -> AuditEvent:
    return AuditEvent(occurred_at=at, actor_email=who, action=action, detail=detail)


def lines(response) -> list[list[str]]:
    return [
        [cell.get_text(" ", strip=True) for cell in row.select("td")]
        for row in page(response).select("table tbody tr")
    ]


@pytest.fixture
def admin(app, demo):
    return signed_in_client(app, "admin", "boss@example.org")


def test_a_flood_of_failed_sign_ins_takes_one_line_an_hour_and_hides_nothing(admin, db_session):
    for second in range(0, 7200, 3):  # 2,400 failures over two hours, against 40 accounts
        at = NOON + dt.timedelta(seconds=second)
        db_session.add(event("sign_in_failed", f"victim{second % 40}@example.org", at))
    db_session.add(event("download", "boss@example.org", NOON + dt.timedelta(minutes=70), "csv"))
    db_session.commit()
    shown = lines(admin.get("/staff/admin/audit"))
    failures = [line for line in shown if line[2] == "Failed sign-in"]
    assert [line[3] for line in failures] == [
        "1,200 failed sign-ins between 13:00 and 13:59",
        "1,200 failed sign-ins between 12:00 and 12:59",
    ]
    assert {line[1] for line in failures} == {"40 email addresses"}
    assert ["2026-11-30 13:10:00", "boss@example.org", "Download", "csv"] in shown


def test_filters_by_action_person_and_dates(admin, db_session):
    db_session.add_all(
        [
            event("download", "ana@example.org", NOON, "xlsx"),
            event("download", "bo@example.org", NOON - dt.timedelta(days=3), "csv"),
            event("link_created", "ana@example.org", NOON - dt.timedelta(days=1), "link x"),
        ]
    )
    db_session.commit()
    downloads = lines(admin.get("/staff/admin/audit?action=download"))
    assert {line[3] for line in downloads} == {"xlsx", "csv"}
    ana = lines(admin.get("/staff/admin/audit?person=ANA%40"))
    assert {line[3] for line in ana} == {"xlsx", "link x"}
    dated = (
        "since-day=28&since-month=11&since-year=2026&until-day=29&until-month=11&until-year=2026"
    )
    assert [line[3] for line in lines(admin.get(f"/staff/admin/audit?{dated}"))] == ["link x"]


def test_a_wrong_date_is_named_and_the_log_still_shows(admin):
    response = admin.get("/staff/admin/audit?since-day=31&since-month=2&since-year=2026")
    assert response.status_code == 400
    soup = page(response)
    assert soup.title.get_text().startswith("Error: ")
    assert "From must be a real date" in soup.select_one(".govuk-error-summary").get_text()
    assert soup.select("table tbody tr")


def test_the_log_is_paged_and_each_page_keeps_the_filters(admin, db_session):
    for minute in range(120):
        db_session.add(event("download", "ana@example.org", NOON + dt.timedelta(minutes=minute)))
    db_session.commit()
    first = admin.get("/staff/admin/audit?action=download")
    assert len(lines(first)) == 50
    assert "page 1 of 3" in page(first).select_one("caption").get_text()
    following = page(first).select_one(".govuk-pagination__next a")["href"]
    assert "action=download" in following and "page=2" in following
    last = admin.get("/staff/admin/audit?action=download&page=3")
    assert len(lines(last)) == 20
    assert lines(last)[-1][0] == "2026-11-30 12:00:00"
    assert len(lines(admin.get("/staff/admin/audit?action=download&page=999"))) == 20
