"""Odd digits and big numbers: every id in an address, number in a query string, date box
and time field answers "not found" or says what is wrong, never a server error; a London
time the clocks skip or repeat is refused with a message."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from survey.digits import DATABASE_INT_MAX, date_from_parts, digits_not_above, whole_number
from survey.models import Link
from survey.questionnaire import QuestionnaireError, parse_questionnaire
from survey.questionnaire.xlsform import XLSFormError, import_xlsform
from tests.conftest import PROJECT
from tests.releases import last_quarter, prepare, responses_as_real
from tests.resident import page
from tests.staff import approval_form, csrf_from, signed_in_client
from tests.survey.questionnaire.xlsform_examples import COMMUNITY_SAFETY, workbook

# What an address or a box may hold instead of an ordinary number.
ODD = ["2147483648", "99999999999999999999", "²", "1²", "٣", "１"]


def test_whole_numbers_are_ascii_digits_within_the_databases_range():
    assert whole_number("42") == 42
    assert whole_number(str(DATABASE_INT_MAX)) == DATABASE_INT_MAX
    odd = [*ODD, "", "-1", " 1", "1.0", None]
    assert [whole_number(text) for text in odd] == [None] * len(odd)


@pytest.mark.parametrize("limit", [DATABASE_INT_MAX, 2010, 1000, 100, 7, 0])
def test_the_id_pattern_matches_exactly_the_numbers_up_to_its_limit(limit):
    pattern = re.compile(digits_not_above(limit))
    near = {*range(3000), limit - 1, limit, limit + 1, limit * 10, DATABASE_INT_MAX + 1}
    wrong = [n for n in near if n >= 0 and bool(pattern.fullmatch(str(n))) != (n <= limit)]
    assert not wrong, wrong[:10]


@pytest.mark.parametrize(
    ("parts", "date"),
    [
        (("27", "3", "2026"), dt.date(2026, 3, 27)),
        (("07", "03", "2026"), dt.date(2026, 3, 7)),
        (("27", "3", "20301"), None),  # not read as 2030
        (("²", "3", "2026"), None),
        (("27", "٣", "2026"), None),
        (("31", "2", "2026"), None),
        (("1", "1", "0999"), None),
        (("001", "1", "2026"), None),
    ],
)
def test_a_date_is_read_only_from_plain_day_month_and_four_digit_year(parts, date):
    assert date_from_parts(*parts) == date


# The other parts of those addresses, each a value that would be found.
OTHER_PARTS = {"code": "demo", "fmt": "csv", "kind": "csv", "table": "trend"}


def _int_rules(app):
    return [r for r in app.url_map.iter_rules() if "int" in r.rule]


def test_every_id_in_an_address_that_is_not_a_plain_number_in_range_is_not_found(app, demo):
    admin = signed_in_client(app, "admin")
    rules = _int_rules(app)
    assert len(rules) >= 15, [r.rule for r in rules]
    for rule in rules:
        method = "GET" if "GET" in rule.methods else "POST"
        for odd in ODD:
            path = re.sub(r"<int:[a-z_]+>", odd, rule.rule)
            path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: OTHER_PARTS[m[1]], path)
            assert "<" not in path, path
            response = admin.open(path, method=method)
            assert response.status_code == 404, (path, method, response.status_code)


@pytest.mark.parametrize("suffix", ["", ".json", "/data.csv", "/methods"])
def test_a_public_release_address_with_a_huge_number_is_not_found(client, suffix):
    for odd in ODD:
        assert client.get(f"/results/{odd}{suffix}").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/staff/analysis?version={}",
        "/staff/analysis/weighting?version={}",
        "/staff/analysis/trends?version={}",
        "/staff/releases/new?corrects={}",
        "/staff/admin/audit?page={}",
    ],
)
def test_numbers_in_query_strings_never_break_a_page(app, demo, path):
    admin = signed_in_client(app, "admin")
    for odd in ODD:
        response = admin.get(path.format(odd))
        assert response.status_code in (200, 404), (path, odd, response.status_code)


@pytest.mark.parametrize("year", ["²026", "20301", "٢٠٢٦"])
def test_a_strange_year_in_the_audit_filter_is_an_error_that_keeps_what_was_typed(app, demo, year):
    admin = signed_in_client(app, "admin")
    response = admin.get(f"/staff/admin/audit?since-day=1&since-month=2&since-year={year}")
    shown = page(response)
    assert response.status_code == 400
    assert "From must be a real date" in shown.select_one(".govuk-error-summary").get_text()
    assert shown.select_one("#since-year")["value"] == year


@pytest.mark.parametrize("year", ["2²26", "20301"])
def test_a_strange_year_on_a_link_is_refused_and_no_link_made(app, demo, db_session, year):
    officer = signed_in_client(app, "officer")
    response = officer.post(
        "/staff/links/new",
        data={
            "csrf_token": csrf_from(officer, "/staff/links/new"),
            "label": "Library stall",
            "channel": "event",
            "borough": "none",
            "closes_on-day": "1",
            "closes_on-month": "2",
            "closes_on-year": year,
        },
    )
    assert response.status_code == 400
    assert "Close after (optional) must be a real date" in response.get_data(as_text=True)
    assert db_session.scalar(select(Link).where(Link.label == "Library stall")) is None


@pytest.mark.parametrize(
    ("day", "time", "words"),
    [
        (dt.date(2031, 3, 30), "01:30", "does not exist in London"),  # clocks go forward
        (dt.date(2031, 10, 26), "01:30", "happens twice in London"),  # clocks go back
        (dt.date(2031, 6, 1), "٠٩:٣٠", "24-hour clock"),
    ],
)
def test_a_london_time_the_clocks_skip_or_repeat_cannot_be_chosen(app, demo, day, time, words):
    responses_as_real(app, size=1500)
    release_id = prepare(app, last_quarter(), indicators=("aware",), breakdowns=("sex",))
    admin = signed_in_client(app, "admin", "approver@example.org")
    response = admin.post(
        f"/staff/releases/{release_id}/approve",
        data={
            **approval_form(admin, release_id),
            "when": "later",
            "publish_on-day": str(day.day),
            "publish_on-month": str(day.month),
            "publish_on-year": str(day.year),
            "time": time,
        },
    )
    assert response.status_code == 400
    assert words in page(response).select_one(".govuk-error-summary").get_text(" ")


def _settings_with_version(version: str) -> dict:
    sheets = {name: [list(row) for row in rows] for name, rows in COMMUNITY_SAFETY.items()}
    heading = sheets["settings"][0]
    sheets["settings"][1][heading.index("version")] = version
    return sheets


@pytest.mark.parametrize("version", ["²", "1" * 5000, "2147483648", "0"])
def test_an_xlsform_version_that_is_not_a_plain_number_in_range_is_placed(version):
    with pytest.raises(XLSFormError) as caught:
        import_xlsform(workbook(_settings_with_version(version)))
    assert any(
        p.startswith("sheet 'settings', row 2, column 'version'") and "whole number" in p
        for p in caught.value.problems
    ), caught.value.problems
    assert all(len(p) < 300 for p in caught.value.problems)


@pytest.mark.parametrize(
    ("version", "words"),
    [("2147483648", "must be a whole number from 1 to"), ("9" * 5000, "far too long")],
)
def test_a_questionnaire_version_too_big_for_the_database_is_refused(version, words):
    source = (PROJECT / "questionnaires" / "prevent-awareness.yaml").read_text()
    source = re.sub(r"(?m)^version: \d+$", f"version: {version}", source)
    with pytest.raises(QuestionnaireError, match=words):
        parse_questionnaire(source, filename="huge.yaml")
