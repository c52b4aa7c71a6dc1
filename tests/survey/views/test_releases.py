"""Releases: prepared by one person, approved by another, published at a set time, frozen,
corrected by a new release; and the public pages, feed and files that show them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import xml.etree.ElementTree as ElementTree

import pytest
from sqlalchemy import select

from survey import clock
from survey.config import ConfigurationError
from survey.extensions import db
from survey.models import AuditEvent, Release
from tests.releases import last_quarter, publish, quarter_before, responses_as_real
from tests.resident import page
from tests.routes import csrf
from tests.staff import approval_form, create_staff, sign_in

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def real(app, demo):
    responses_as_real(app, size=1500)


def signed_in(app, email: str, role: str):
    create_staff(app, email, role)
    client = app.test_client()
    assert sign_in(client, email).status_code == 303
    return client


def prepare_through_the_form(client, period: str, **extra) -> object:
    token = csrf(client, "/staff/releases/new")
    data = {
        "csrf_token": token,
        "period": period,
        "indicators": ["aware"],
        "breakdowns": ["borough", "sex"],
        "commentary": "Awareness is highest in outer London.\r\n\r\nWe will visit more events.",
        **extra,
    }
    return client.post("/staff/releases/new", data=data)


def approve_through_the_form(client, release_id: int, **when):
    data = {**approval_form(client, release_id), "when": "now", **when}
    return client.post(f"/staff/releases/{release_id}/approve", data=data)


def actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_two_people_prepare_and_approve_a_release_and_the_public_sees_it(app, real, client):
    analyst = signed_in(app, "analyst@example.org", "analyst")
    response = prepare_through_the_form(analyst, last_quarter())
    assert response.status_code == 303, page(response).get_text(" ")[:2000]
    release_id = int(response.headers["Location"].rsplit("/", 1)[1])
    detail = page(analyst.get(f"/staff/releases/{release_id}")).get_text(" ")
    assert "Awaiting approval" in detail
    assert "Not published: a preview for staff" in detail
    assert client.get(f"/results/{release_id}").status_code == 404  # not approved yet

    assert approve_through_the_form(analyst, release_id).status_code == 403  # analysts cannot
    admin = signed_in(app, "admin@example.org", "admin")
    response = approve_through_the_form(admin, release_id)
    assert response.status_code == 303
    assert "Published" in page(admin.get(f"/staff/releases/{release_id}")).get_text(" ")

    public = page(client.get(f"/results/{release_id}"))
    text = public.get_text(" ")
    assert "What London told us" in text
    assert "Awareness is highest in outer London." in text
    assert "We will visit more events." in text  # paragraphs kept
    assert "of people in London" in text and "The true figure is likely to be between" in text
    assert public.select_one("svg.app-chart--map") is not None  # the borough map
    assert "Not published" not in text
    assert public.select_one("a[href$='/data.csv']") is not None
    index = page(client.get("/results")).get_text(" ")
    assert "Published" in index
    assert [a for a in actions(app) if a.startswith("release_")] == [
        "release_prepared",
        "release_approved",
        "release_published",
    ]


def test_whoever_prepared_a_release_cannot_approve_it(app, real):
    admin = signed_in(app, "admin@example.org", "admin")
    release_id = int(
        prepare_through_the_form(admin, last_quarter()).headers["Location"].rsplit("/", 1)[1]
    )
    response = approve_through_the_form(admin, release_id)
    assert response.status_code == 400
    assert "someone else must approve it" in page(response).get_text(" ")
    with app.app_context():
        assert db.session.get(Release, release_id).approved_at is None


def test_synthetic_demo_responses_can_be_previewed_but_never_published(app, demo, client):
    from tests.routes import staff_clients

    clients, _ids = staff_clients(app, synthetic_responses=6000)
    response = prepare_through_the_form(clients["analyst"], last_quarter())
    assert response.status_code == 303, page(response).get_text(" ")[:3000]
    release_id = int(response.headers["Location"].rsplit("/", 1)[1])
    detail = page(clients["admin"].get(f"/staff/releases/{release_id}")).get_text(" ")
    assert "Cannot be approved" in detail
    assert "Not published: synthetic data" in detail
    assert "synthetic demo responses" in detail
    assert "population figures are the demo" in detail
    response = approve_through_the_form(clients["admin"], release_id)
    assert response.status_code == 400
    assert "cannot be approved" in page(response).get_text(" ")
    assert client.get(f"/results/{release_id}").status_code == 404
    assert "No results have been published yet" in page(client.get("/results")).get_text(" ")


def test_a_period_not_yet_over_cannot_be_approved(app, real):
    from survey.services import releases as release_service

    today = clock.today()
    quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    with app.app_context():
        from survey.services.questionnaires import newest_questionnaire

        questionnaire = newest_questionnaire(db.session, "prevent-awareness")
        with pytest.raises(release_service.ReleaseError):
            release_service._check_choice(
                questionnaire, release_service.ReleaseChoice("2026-11", ("aware",), ("sex",))
            )
    # The form offers only finished periods; the service refuses the current one anyway.
    analyst = signed_in(app, "analyst@example.org", "analyst")
    assert quarter not in page(analyst.get("/staff/releases/new")).get_text(" ")
    with pytest.raises(AssertionError, match="has not ended yet"):
        publish(app, quarter)


def test_a_release_publishes_at_its_time_and_not_before(app, real, client, monkeypatch):
    later = clock.now() + dt.timedelta(days=2)
    release_id = publish(app, publish_at=later)
    assert client.get(f"/results/{release_id}").status_code == 404
    assert client.get("/results/latest").headers["Location"].endswith("/results")
    assert "release_published" not in actions(app)

    monkeypatch.setattr(clock, "now", lambda: later + dt.timedelta(minutes=1))
    assert client.get(f"/results/{release_id}").status_code == 200
    assert client.get("/results/latest").headers["Location"].endswith(f"/results/{release_id}")
    client.get("/results")
    client.get("/results")
    assert actions(app).count("release_published") == 1


def test_an_approval_can_be_withdrawn_before_publication_only(app, real):
    later = clock.now() + dt.timedelta(days=2)
    release_id = publish(app, publish_at=later)
    admin = signed_in(app, "other-admin@example.org", "admin")
    token = csrf(admin, f"/staff/releases/{release_id}")
    response = admin.post(f"/staff/releases/{release_id}/withdraw", data={"csrf_token": token})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Release, release_id).approved_at is None
    assert "release_withdrawn" in actions(app)

    published = publish(app, quarter_before(last_quarter()))
    token = csrf(admin, f"/staff/releases/{published}")
    response = admin.post(f"/staff/releases/{published}/withdraw", data={"csrf_token": token})
    assert response.status_code == 409  # a published release stays published
    with app.app_context():
        assert db.session.get(Release, published).approved_at is not None


def test_a_published_release_never_changes_and_a_correction_says_what_changed(app, real, client):
    release_id = publish(app)
    before = client.get(f"/results/{release_id}.json").get_json()
    responses_as_real(app, size=400, days=200, seed=99)  # more responses, some in its period
    assert client.get(f"/results/{release_id}.json").get_json() == before

    correction = publish(
        app,
        corrects=release_id,
        correction_note="Responses received late by post are now included.",
    )
    original = page(client.get(f"/results/{release_id}"))
    assert "These figures have been corrected." in original.get_text(" ")
    assert original.select_one(f"a[href='/results/{correction}']") is not None
    assert client.get(f"/results/{release_id}.json").get_json() == before
    corrected = page(client.get(f"/results/{correction}")).get_text(" ")
    assert "Responses received late by post are now included." in corrected
    assert "This release corrects an earlier one" in corrected
    assert client.get(f"/results/{correction}.json").get_json() != before


def test_approval_refuses_figures_that_changed_since_they_were_prepared(app, real):
    analyst = signed_in(app, "analyst@example.org", "analyst")
    release_id = int(
        prepare_through_the_form(analyst, last_quarter()).headers["Location"].rsplit("/", 1)[1]
    )
    responses_as_real(app, size=400, days=200, seed=5)  # new responses land in the period
    admin = signed_in(app, "admin@example.org", "admin")
    response = approve_through_the_form(admin, release_id)
    assert response.status_code == 400
    assert "The figures have changed since this release was prepared" in page(response).get_text(
        " "
    )
    assert actions(app)[-1] == "release_refused"


def test_the_public_threshold_can_be_stricter_than_the_staff_one(app, real, make_app, client):
    strict = make_app(PUBLIC_SUPPRESSION_THRESHOLD=40)
    release_id = publish(strict)
    document = client.get(f"/results/{release_id}.json").get_json()
    assert document["metadata"]["suppression_threshold"] == 40
    counts = [
        row["n"]
        for indicator in document["indicators"]
        for table in indicator["tables"]
        for row in table["rows"]
    ]
    assert any(n is None for n in counts)
    assert all(n is None or n >= 40 for n in counts)
    shown = page(client.get(f"/results/{release_id}"))
    assert "fewer than 40" in shown.get_text(" ")  # the key says what [c] means here
    # A hidden group's responses read "not shown", never "fewer than 40": it may be hidden
    # because all or none of a group of 40 or more gave one answer.
    cells = [td.get_text(" ", strip=True) for td in shown.select("main table td")]
    assert "not shown" in cells
    assert not [c for c in cells if c.startswith("fewer than")]
    with pytest.raises(ConfigurationError, match="below the staff threshold"):
        make_app(PUBLIC_SUPPRESSION_THRESHOLD=5)


def test_the_change_since_the_previous_release_is_shown_in_words(app, real, client):
    first = publish(app, quarter_before(last_quarter()))
    second = publish(app)
    first_text = page(client.get(f"/results/{first}")).get_text(" ")
    assert "This is the first release of this figure" in first_text
    document = client.get(f"/results/{second}.json").get_json()
    change = document["indicators"][0]["change"]
    assert change["previous_period"] == quarter_before(last_quarter())
    assert change["ci_low"] <= change["change"] <= change["ci_high"]
    text = page(client.get(f"/results/{second}")).get_text(" ")
    assert "since" in text and ("percentage point" in text or "No clear change" in text)


def test_release_pages_are_in_the_residents_languages_with_their_number_formats(app, demo, client):
    responses_as_real(app, size=5000)  # over a thousand in the quarter: a grouped number
    release_id = publish(app)
    polish = page(client.get(f"/results/{release_id}?lang=pl"))
    assert polish.html["lang"] == "pl"
    text = polish.get_text(" ")
    assert "Co powiedział nam Londyn" in text
    document = client.get(f"/results/{release_id}.json").get_json()
    respondents = document["metadata"]["respondents"]
    assert respondents >= 1000
    assert f"{respondents:,}".replace(",", "\u00a0") in text  # Polish groups with a space
    urdu = page(client.get(f"/results/{release_id}?lang=ur"))
    assert urdu.html["dir"] == "rtl"
    assert "لندن نے ہمیں کیا بتایا" in urdu.get_text(" ")
    # Resident pages link to the results, in the language the resident chose.
    start = page(client.get("/s/demo?lang=bn"))
    link = start.select_one("a[href='/results/latest']")
    assert link is not None and link.get_text(strip=True) == "মানুষ কী বলেছেন দেখুন"


def test_the_feed_the_json_and_the_tidy_csv(app, real, client):
    first = publish(app, quarter_before(last_quarter()))
    second = publish(app)
    feed = ElementTree.fromstring(client.get("/results/feed.atom").data)  # noqa: S314 - our own feed
    entries = feed.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}id").text.rsplit("/", 1)[1] for e in entries] == [
        str(second),
        str(first),
    ]
    assert client.get("/results/feed.atom").mimetype == "application/atom+xml"

    document = client.get(f"/results/{second}.json").get_json()
    assert document["metadata"]["period"] == last_quarter()
    assert {i["id"] for i in document["indicators"]} == {"aware", "confident_helps"}

    response = client.get(f"/results/{second}/data.csv")
    assert response.headers["Content-Disposition"].endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert {r["breakdown"] for r in rows} == {"london", "borough", "age_band", "sex"}
    london = [r for r in rows if r["breakdown"] == "london"]
    assert len(london) == 2 and all(r["start_period"] for r in london)
    shown = [int(r["n"]) for r in rows if r["n"]]
    assert shown and min(shown) >= 10
    metadata = json.loads(client.get(f"/results/{second}/data.csvw").data)
    assert metadata["notes"][0]["body"]["release"] == second
    assert client.get(f"/results/{second}/data.exe").status_code == 404


def test_every_step_is_in_the_audit_log(app, real):
    analyst = signed_in(app, "analyst@example.org", "analyst")
    release_id = int(
        prepare_through_the_form(analyst, last_quarter()).headers["Location"].rsplit("/", 1)[1]
    )
    token = csrf(analyst, f"/staff/releases/{release_id}/edit")
    response = analyst.post(
        f"/staff/releases/{release_id}/edit",
        data={
            "csrf_token": token,
            "period": last_quarter(),
            "indicators": ["aware", "confident_helps"],
            "breakdowns": ["borough"],
            "commentary": "Revised.",
        },
    )
    assert response.status_code == 303
    admin = signed_in(app, "admin@example.org", "admin")
    assert approve_through_the_form(admin, release_id).status_code == 303
    assert "/edit" not in page(admin.get(f"/staff/releases/{release_id}")).decode()
    assert admin.get(f"/staff/releases/{release_id}/edit").status_code == 404  # frozen
    assert [a for a in actions(app) if a.startswith("release_")] == [
        "release_prepared",
        "release_revised",
        "release_approved",
        "release_published",
    ]


def test_a_release_made_under_a_lower_threshold_than_todays_cannot_be_approved(app, real, make_app):
    analyst = signed_in(app, "analyst@example.org", "analyst")
    release_id = int(
        prepare_through_the_form(analyst, last_quarter()).headers["Location"].rsplit("/", 1)[1]
    )
    stricter = make_app(PUBLIC_SUPPRESSION_THRESHOLD=40)  # the rules changed since
    admin = signed_in(stricter, "admin@example.org", "admin")
    response = approve_through_the_form(admin, release_id)
    assert response.status_code == 400
    assert "The figures have changed since this release was prepared" in page(response).get_text(
        " "
    )
    with app.app_context():
        assert db.session.get(Release, release_id).approved_at is None


def test_the_release_page_is_light_and_loads_nothing_from_elsewhere(app, real, client):
    """The same budget as resident pages: a first visit (the page and everything it loads,
    compressed) within 40 KB, and every address on the page this site's own."""
    import re

    release_id = publish(app, breakdowns=("borough", "age_band", "sex", "ethnic_group"))
    response = client.get(f"/results/{release_id}", headers={"Accept-Encoding": "br"})
    assert response.headers["Content-Encoding"] == "br"
    total = len(response.data)
    html = client.get(f"/results/{release_id}").get_data(as_text=True)
    addresses = re.findall(r'(?:href|src|action)="([^"]+)"', html)
    assert addresses and all(a.startswith(("/", "#")) and not a.startswith("//") for a in addresses)
    for link in re.findall(r'(?:href|src)="(/static/[^"]+)"', html):
        with client.get(link, headers={"Accept-Encoding": "br"}) as static:
            total += len(static.data)
        if link.endswith(".mjs"):
            with client.get(link) as plain:
                script = plain.get_data(as_text=True)
            for imported in re.findall(r'from "\./([^"]+)"', script):
                with client.get(
                    f"/static/js/{imported}", headers={"Accept-Encoding": "br"}
                ) as module:
                    total += len(module.data)
    print(f"first visit to a release page: {total:,} bytes")
    assert total <= 40_000, total


def test_a_breakdown_or_indicator_named_many_times_is_worked_out_once(app, real):
    """The work grows with indicators times breakdowns: naming them again and again (as a
    hand-made form post can, 48 times here) must not multiply it."""
    analyst = signed_in(app, "analyst@example.org", "analyst")
    response = prepare_through_the_form(
        analyst,
        last_quarter(),
        indicators=["aware", "confident_helps"] * 8,
        breakdowns=["sex", "age_band", "sex"] * 8,
    )
    assert response.status_code == 303
    release_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        release = db.session.get(Release, release_id)
        assert release.indicators == ["aware", "confident_helps"]
        assert release.breakdowns == ["sex", "age_band"]
        indicators = release.snapshot["indicators"]
        assert [len(indicator["tables"]) for indicator in indicators] == [2, 2]
