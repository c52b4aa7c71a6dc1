"""Distribution links: creation, codes, QR codes, posters, counts, closing and caps."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading

import pytest
from sqlalchemy import func, select

from survey.models import AuditEvent, Base, Link, Response
from survey.services.links import CODE_ALPHABET
from tests.counts import could_show
from tests.resident import Resident, page
from tests.staff import create_staff, csrf_from, sign_in


@pytest.fixture
def officer(app, demo):
    create_staff(app, "officer@example.org", "officer")
    client = app.test_client()
    sign_in(client, "officer@example.org")
    return client


def date_parts(name: str, iso: str) -> dict[str, str]:
    """A date as the GOV.UK date input sends it: day, month and year boxes."""
    year, month, day = iso.split("-")
    return {
        f"{name}-day": day.lstrip("0"),
        f"{name}-month": month.lstrip("0"),
        f"{name}-year": year,
    }


def create(client, **fields):
    data = {
        "label": "Whitechapel mosque open day, 12 March",
        "channel": "event",
        "borough": "none",
    }
    for name, value in fields.items():
        as_parts = name in ("opens_on", "closes_on") and "-" in value
        data.update(date_parts(name, value) if as_parts else {name: value})
    data["csrf_token"] = csrf_from(client, "/staff/links/new")
    return client.post("/staff/links/new", data=data)


def created_link(client, db_session, **fields) -> Link:
    response = create(client, **fields)
    assert response.status_code == 303, page(response).select_one(".govuk-error-summary")
    link_id = int(response.headers["Location"].rsplit("/", 1)[1])
    return db_session.get(Link, link_id)


def test_an_officer_creates_a_link_with_a_random_readable_code(officer, db_session):
    link = created_link(
        officer,
        db_session,
        cap="200",
        opens_on="2026-01-01",
        closes_on="2099-12-31",
        borough="E09000030",
    )
    assert re.fullmatch(f"[{CODE_ALPHABET}]{{7}}", link.code)
    assert not set(link.code) & set("01oil")
    assert (link.channel, link.distribution_borough, link.cap) == ("event", "E09000030", 200)
    assert link.created_by is not None
    detail = page(officer.get(f"/staff/links/{link.id}"))
    assert f"/s/{link.code}" in detail.get_text()
    assert "fewer than 10" in detail.get_text()
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "link_created"))


def test_a_custom_slug_is_used_once_and_clashes_are_refused(officer, db_session):
    link = created_link(officer, db_session, slug="Whitechapel-March")
    assert link.code == "whitechapel-march"
    again = create(officer, slug="whitechapel-march")
    assert again.status_code == 400
    soup = page(again)
    assert "already taken" in soup.select_one(".govuk-error-summary").get_text()
    assert soup.select_one("#slug")["value"] == "whitechapel-march"
    for bad in ("demo", "a", "-dash", "has space", "café"):
        assert create(officer, slug=bad).status_code == 400, bad


def test_missing_or_bad_fields_show_errors_and_keep_what_was_typed(officer):
    response = create(officer, label="", cap="0", closes_on="2020-01-01", opens_on="2021-01-01")
    assert response.status_code == 400
    soup = page(response)
    assert soup.select_one("title").get_text().startswith("Error: ")
    errors = soup.select_one(".govuk-error-summary").get_text()
    assert "Enter a name for the link" in errors
    assert "from 1 to" in errors
    assert [soup.select_one(f"#closes_on-{p}")["value"] for p in ("day", "month", "year")] == [
        "1",
        "1",
        "2020",
    ]


def test_qr_codes_download_as_svg_and_png(officer, db_session):
    link = created_link(officer, db_session)
    svg = officer.get(f"/staff/links/{link.id}/qr.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert svg.data.lstrip().startswith(b"<?xml") and b"<svg" in svg.data
    assert f'filename="survey-{link.code}.svg"' in svg.headers["Content-Disposition"]
    png = officer.get(f"/staff/links/{link.id}/qr.png")
    assert png.mimetype == "image/png" and png.data.startswith(b"\x89PNG\r\n\x1a\n")


def test_the_qr_code_encodes_the_links_public_address(app, demo, db_session):
    import segno

    app.config["PUBLIC_BASE_URL"] = "https://survey.example.org"
    create_staff(app, "o@example.org", "officer")
    client = app.test_client()
    sign_in(client, "o@example.org")
    link = created_link(client, db_session)
    expected = segno.make(f"https://survey.example.org/s/{link.code}", error="m")
    buffer = __import__("io").BytesIO()
    side = expected.symbol_size(scale=1, border=4)[0]
    expected.save(buffer, kind="png", scale=-(-1000 // side), border=4)  # at least 1,000 px
    assert client.get(f"/staff/links/{link.id}/qr.png").data == buffer.getvalue()
    svg = __import__("io").BytesIO()
    expected.save(svg, kind="svg", scale=10, border=4, title=f"Survey link {link.code}")
    assert client.get(f"/staff/links/{link.id}/qr.svg").data == svg.getvalue()


def test_the_poster_shows_the_qr_code_address_and_one_line(officer, db_session):
    link = created_link(officer, db_session)
    soup = page(officer.get(f"/staff/links/{link.id}/poster"))
    image = soup.select_one("img.app-qr")
    assert image["src"].startswith("data:image/svg+xml")
    assert f"/s/{link.code}" in image["alt"]
    assert "anonymous survey" in soup.select_one(".app-poster").get_text()


def complete_through(app, code: str, count: int) -> None:
    for _ in range(count):
        resident = Resident(app.test_client(), code)
        resident.complete()
        assert resident.submit().status_code == 303


def test_the_link_count_shows_fewer_than_10_then_a_number(app, officer, db_session):
    link = created_link(officer, db_session)
    complete_through(app, link.code, 9)

    def completed() -> str:
        summary = page(officer.get(f"/staff/links/{link.id}")).select_one(".govuk-summary-list")
        row = next(
            r for r in summary.select(".govuk-summary-list__row") if "Completed" in r.dt.text
        )
        return row.dd.get_text(strip=True)

    assert completed() == "[c] fewer than 10"
    complete_through(app, link.code, 6)
    shown = completed()
    assert shown in could_show(15) and shown[0].isdigit()  # 15 always shows, as 11 to 19
    listing = page(officer.get("/staff/links")).select_one("tbody").get_text()
    assert shown in listing


def test_a_closed_link_shows_residents_a_closed_page(app, officer, db_session):
    link = created_link(officer, db_session)
    token = csrf_from(officer, f"/staff/links/{link.id}")
    officer.post(f"/staff/links/{link.id}/close", data={"csrf_token": token})
    response = app.test_client().get(f"/s/{link.code}")
    assert response.status_code == 410
    assert "This survey has closed" in response.get_data(as_text=True)
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "link_closed"))


def test_a_link_past_its_close_date_or_cap_is_closed(app, officer, db_session):
    yesterday = (dt.date.today() - dt.timedelta(days=2)).isoformat()
    ended = created_link(officer, db_session, closes_on=yesterday)
    assert app.test_client().get(f"/s/{ended.code}").status_code == 410
    capped = created_link(officer, db_session, cap="2")
    complete_through(app, capped.code, 2)
    assert app.test_client().get(f"/s/{capped.code}").status_code == 410


def test_a_resident_mid_survey_when_the_cap_is_reached_is_told_it_closed(app, officer, db_session):
    link = created_link(officer, db_session, cap="1")
    late = Resident(app.test_client(), link.code)
    late.complete()
    form = late.submit_form()
    complete_through(app, link.code, 1)
    assert late.submit(form).status_code == 410
    assert (
        db_session.scalar(
            select(func.count()).select_from(Response).where(Response.link_id == link.id)
        )
        == 1
    )


def test_concurrent_submissions_cannot_overshoot_the_cap(app, officer, db_session):
    link = created_link(officer, db_session, cap="5")
    residents = []
    for _ in range(12):
        resident = Resident(app.test_client(), link.code)
        resident.complete()
        residents.append((resident, resident.submit_form()))
    barrier = threading.Barrier(len(residents))
    statuses = []

    def submit(resident, form):
        barrier.wait()
        statuses.append(resident.submit(form).status_code)

    threads = [threading.Thread(target=submit, args=pair) for pair in residents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = db_session.scalar(
        select(func.count()).select_from(Response).where(Response.link_id == link.id)
    )
    assert stored == 5
    assert sorted(statuses) == [303] * 5 + [410] * 7
    db_session.expire_all()
    assert db_session.get(Link, link.id).completed_count == 5


def test_attribution_comes_only_from_the_link_record(app, officer, db_session):
    link = created_link(officer, db_session, borough="E09000007")
    resident = Resident(app.test_client(), link.code)
    resident.client.get(f"/s/{link.code}?link=demo&borough=E09000001&utm_source=x")
    resident.complete()
    resident.submit()
    response = db_session.scalar(select(Response))
    assert response.link_id == link.id
    assert response.borough_from_link is False


def test_one_per_browser_leaves_only_a_completed_cookie(app, officer, db_session):
    link = created_link(officer, db_session, one_per_browser="y")
    resident = Resident(app.test_client(), link.code)
    resident.complete()
    response = resident.submit()
    cookie = response.headers.getlist("Set-Cookie")
    completed = [c for c in cookie if c.startswith("completed-prevent-awareness=")]
    assert completed and completed[0].startswith("completed-prevent-awareness=1;")
    soup = page(resident.client.get(f"/s/{link.code}"))
    assert "already completed this survey" in soup.get_text()
    assert soup.select_one("#start-button") is None
    other = created_link(officer, db_session)
    assert page(resident.client.get(f"/s/{other.code}")).select_one("#start-button")


def test_per_link_submission_limits_use_no_stored_address(
    make_app, db_session, caplog, monkeypatch
):
    # Alembic's logging set-up disables existing loggers; switch this one back on.
    monkeypatch.setattr(logging.getLogger("flask-limiter"), "disabled", False)
    caplog.set_level(logging.DEBUG)
    app = make_app(RATELIMIT_ENABLED=True, LINK_SUBMIT_LIMIT="3 per hour")
    app.test_cli_runner().invoke(args=["demo"])
    statuses = []
    for _ in range(4):
        resident = Resident(app.test_client(), "demo")
        resident.complete()
        statuses.append(resident.submit().status_code)
    assert statuses == [303, 303, 303, 429]
    for table in Base.metadata.sorted_tables:
        for row in db_session.execute(select(table)):
            assert "127.0.0.1" not in " ".join(map(str, row))
    assert "exceeded at endpoint" in caplog.text  # the breach is logged, without the key
    assert "127.0.0.1" not in caplog.text


def test_closing_asks_first_says_what_happened_and_can_be_undone(app, officer, db_session):
    link = created_link(officer, db_session)
    detail = page(officer.get(f"/staff/links/{link.id}"))
    close = detail.select_one(f"a[href='/staff/links/{link.id}/close']")
    assert close is not None and "Close this link" in close.get_text()
    confirm = page(officer.get(f"/staff/links/{link.id}/close"))
    assert "Are you sure you want to close this link?" in confirm.get_text()
    assert "You can reopen the link afterwards" in confirm.get_text()
    db_session.expire_all()
    assert db_session.get(Link, link.id).closed is False  # asking closes nothing

    token = confirm.select_one("input[name=csrf_token]")["value"]
    response = officer.post(f"/staff/links/{link.id}/close", data={"csrf_token": token})
    shown = page(officer.get(response.headers["Location"]))
    assert "Link closed." in shown.select_one(".govuk-notification-banner").get_text()
    assert "Closed" in shown.select_one(".govuk-summary-list").get_text()
    assert app.test_client().get(f"/s/{link.code}").status_code == 410

    token = shown.select_one("input[name=csrf_token]")["value"]
    response = officer.post(f"/staff/links/{link.id}/reopen", data={"csrf_token": token})
    shown = page(officer.get(response.headers["Location"]))
    assert "Link reopened: residents can answer" in shown.get_text()
    assert app.test_client().get(f"/s/{link.code}").status_code == 200
    actions = list(db_session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions[-2:] == ["link_closed", "link_reopened"]


def test_reopening_a_link_past_its_date_says_why_it_still_takes_nothing(officer, db_session):
    ended = created_link(officer, db_session, closes_on="2020-01-31")
    token = csrf_from(officer, f"/staff/links/{ended.id}/close")
    officer.post(f"/staff/links/{ended.id}/close", data={"csrf_token": token})
    token = csrf_from(officer, f"/staff/links/{ended.id}")
    response = officer.post(f"/staff/links/{ended.id}/reopen", data={"csrf_token": token})
    shown = page(officer.get(response.headers["Location"])).get_text()
    assert "its close date has passed" in shown


def test_a_full_link_says_so(app, officer, db_session):
    capped = created_link(officer, db_session, cap="1")
    complete_through(app, capped.code, 1)
    detail = page(officer.get(f"/staff/links/{capped.id}"))
    assert "Full" in detail.select_one(".govuk-summary-list").get_text()
    assert "Full" in page(officer.get("/staff/links")).get_text()


def test_the_link_page_shows_its_qr_code_and_address_to_copy(officer, db_session):
    link = created_link(officer, db_session)
    detail = page(officer.get(f"/staff/links/{link.id}"))
    qr = detail.select_one("img.app-qr")
    assert qr["src"].startswith("data:image/svg+xml") and link.code in qr["alt"]
    address = detail.select_one("#link-address")
    assert address.get_text() == address["data-copy"] and address.get_text().endswith(
        f"/s/{link.code}"
    )


def test_the_png_qr_code_is_at_print_resolution(officer, db_session):
    import struct

    link = created_link(officer, db_session)
    png = officer.get(f"/staff/links/{link.id}/qr.png").data
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    assert width == height >= 1000


def test_dates_use_day_month_and_year_boxes(officer, db_session):
    form = page(officer.get("/staff/links/new"))
    assert not form.select("input[type=date]")
    for name in ("opens_on", "closes_on"):
        assert [form.select_one(f"#{name}-{p}")["name"] for p in ("day", "month", "year")] == [
            f"{name}-day",
            f"{name}-month",
            f"{name}-year",
        ]
    link = created_link(officer, db_session, opens_on="2026-03-27")
    assert link.opens_on == dt.date(2026, 3, 27)
    bad = create(
        officer, **{"closes_on-day": "31", "closes_on-month": "2", "closes_on-year": "2027"}
    )
    assert bad.status_code == 400
    soup = page(bad)
    assert "must be a real date" in soup.select_one(".govuk-error-summary").get_text()
    assert soup.select_one("#closes_on-day")["value"] == "31"


def test_the_poster_speaks_each_chosen_language_and_names_who_runs_the_survey(
    app, officer, db_session
):
    app.config["CONTACT_EMAIL"] = "prevent.survey@example.org"
    link = created_link(officer, db_session, slug="whitechapel-march")
    soup = page(
        officer.get(f"/staff/links/{link.id}/poster?language=pl&language=ur&language=fr&size=a5")
    )
    poster = soup.select_one(".app-poster")
    assert "app-poster--a5" in poster["class"]
    blocks = poster.select(".app-poster__language")
    assert [(b["lang"], b["dir"]) for b in blocks] == [("pl", "ltr"), ("ur", "rtl")]
    assert blocks[0].select_one("h1").get_text() == "Wyraź swoje zdanie o programie Prevent"
    assert "Prevent کے بارے میں اپنی رائے دیں" in blocks[1].get_text()
    assert "Zajmuje około 5 minut" in blocks[0].get_text()
    assert "prevent.survey@example.org" in poster.get_text()
    # The organisation's name in the first language chosen, where the catalogue has it.
    assert "Londyńskie partnerstwo na rzecz bezpieczeństwa społeczności" in poster.get_text()
    # The address wraps only after a slash: the hyphenated code is one unbreakable piece.
    pieces = [s.get_text() for s in poster.select(".app-poster__url .app-nowrap")]
    assert "whitechapel-march" in pieces
    # The form offers the survey's languages, the ones chosen ticked; French is not one.
    ticked = [box["value"] for box in soup.select("input[name=language][checked]")]
    assert ticked == ["pl", "ur"]
    assert not soup.select("input[name=language][value=fr]")


def test_the_poster_is_a4_in_english_unless_asked(officer, db_session):
    link = created_link(officer, db_session)
    soup = page(officer.get(f"/staff/links/{link.id}/poster?size=letter"))
    poster = soup.select_one(".app-poster")
    assert "app-poster--a4" in poster["class"]
    assert [b["lang"] for b in poster.select(".app-poster__language")] == ["en"]
    assert poster.select_one("h1").get_text() == "Have your say on Prevent"
