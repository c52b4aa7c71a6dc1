"""The hostile-input corpus through every staff form field: no 5xx, nothing invalid stored."""

from __future__ import annotations

import io
import itertools
import unicodedata

import pytest
from sqlalchemy import select

from survey.geography import BOROUGH_CODES
from survey.models import Link, PopulationSet, StaffUser
from survey.services.links import CHANNELS, CODE_PATTERN
from tests.staff import create_staff, csrf_from, sign_in

LINK_FIELDS = (
    "label",
    "channel",
    "borough",
    "opens_on-day",
    "opens_on-month",
    "opens_on-year",
    "closes_on-day",
    "cap",
    "slug",
    "one_per_browser",
)


def corpus(bad_inputs) -> list[str]:
    lists = [v for k, v in bad_inputs.items() if isinstance(v, list) and not k.startswith("_")]
    return list(dict.fromkeys(itertools.chain.from_iterable(lists)))


@pytest.fixture
def admin(app, demo):
    create_staff(app, "admin@example.org", "admin")
    client = app.test_client()
    sign_in(client, "admin@example.org")
    return client


@pytest.mark.parametrize("field", LINK_FIELDS)
def test_every_link_field_refuses_or_stores_valid_values(admin, db_session, bad_inputs, field):
    token = csrf_from(admin, "/staff/links/new")
    for value in corpus(bad_inputs):
        data = {
            "csrf_token": token,
            "label": "Library stall",
            "channel": "event",
            "borough": "none",
            field: value,
        }
        response = admin.post("/staff/links/new", data=data)
        assert response.status_code in (303, 400), (field, value, response.status_code)
    for link in db_session.scalars(select(Link).where(Link.code != "demo")):
        assert link.label == unicodedata.normalize("NFC", link.label).strip()
        assert not any(unicodedata.category(ch) == "Cc" for ch in link.label)
        assert len(link.label) <= 120
        assert link.channel in CHANNELS
        assert link.distribution_borough is None or link.distribution_borough in BOROUGH_CODES
        assert link.cap is None or 1 <= link.cap <= 1_000_000
        assert CODE_PATTERN.match(link.code)


def test_round_trip_text_is_kept_exactly_in_link_labels(admin, db_session, bad_inputs):
    token = csrf_from(admin, "/staff/links/new")
    for text in bad_inputs["must_round_trip_unchanged"]:
        response = admin.post(
            "/staff/links/new",
            data={"csrf_token": token, "label": text, "channel": "event", "borough": "none"},
        )
        assert response.status_code == 303
    labels = set(db_session.scalars(select(Link.label)))
    assert set(bad_inputs["must_round_trip_unchanged"]) <= labels


@pytest.mark.parametrize("field", ["email", "role"])
def test_every_new_user_field_refuses_or_stores_valid_values(admin, db_session, bad_inputs, field):
    token = csrf_from(admin, "/staff/admin/users/new")
    for value in corpus(bad_inputs):
        data = {
            "csrf_token": token,
            "email": "someone@example.org",
            "role": "officer",
            field: value,
        }
        response = admin.post("/staff/admin/users/new", data=data)
        assert response.status_code in (200, 400), (field, value, response.status_code)
    for user in db_session.scalars(select(StaffUser)):
        assert user.role in ("admin", "officer", "analyst")
        assert "@" in user.email and user.email == user.email.strip().lower()


@pytest.mark.parametrize("field", ["email", "password", "next"])
def test_sign_in_fields_never_break_the_page(app, bad_inputs, field):
    client = app.test_client()
    token = csrf_from(client, "/staff/sign-in")
    for value in corpus(bad_inputs):
        data = {"csrf_token": token, "email": "x@example.org", "password": "whatever pass"}
        query = {}
        if field == "next":
            query["next"] = value
        else:
            data[field] = value
        response = client.post("/staff/sign-in", data=data, query_string=query)
        assert response.status_code in (400, 429), (field, value, response.status_code)


def test_population_labels_and_files_from_the_corpus_are_refused_or_valid(
    admin, db_session, bad_inputs
):
    for value in corpus(bad_inputs):
        token = csrf_from(admin, "/staff/admin/population")
        body = f"variable,category,population\nborough,{value},100\n".encode(
            "utf-8", "surrogatepass"
        )
        response = admin.post(
            "/staff/admin/population",
            content_type="multipart/form-data",
            data={
                "csrf_token": token,
                "label": value,
                "figures": (io.BytesIO(body), "figures.csv"),
            },
        )
        assert response.status_code == 400, value
    assert db_session.scalar(select(PopulationSet).where(PopulationSet.is_demo.is_(False))) is None


def test_staff_pages_take_hostile_query_strings(admin, bad_inputs):
    for value in corpus(bad_inputs):
        for path in ("/staff/coverage", "/staff/links", "/staff/admin/audit"):
            response = admin.get(path, query_string={"period": value, "page": value})
            assert response.status_code == 200, (path, value)


RELEASE_FIELDS = ("period", "indicators", "breakdowns", "commentary")


@pytest.mark.parametrize("field", RELEASE_FIELDS)
def test_every_release_field_refuses_or_stores_valid_values(
    app, admin, db_session, bad_inputs, field
):
    from survey.models import Release
    from survey.services.releases import BREAKDOWNS, MAX_COMMENTARY
    from tests.releases import last_quarter, responses_as_real

    responses_as_real(app, size=1500)
    token = csrf_from(admin, "/staff/releases/new")
    for value in corpus(bad_inputs):
        data = {
            "csrf_token": token,
            "period": last_quarter(),
            "indicators": "aware",
            "breakdowns": "sex",
            "commentary": "Plain words.",
            field: value,
        }
        response = admin.post("/staff/releases/new", data=data)
        assert response.status_code in (303, 400), (field, value, response.status_code)
    stored = list(db_session.scalars(select(Release)))
    # No hostile value is one of the choices offered; most are fine words for a commentary.
    assert bool(stored) == (field == "commentary")
    for release in stored:
        assert release.period == last_quarter()
        assert release.indicators == ["aware"] and set(release.breakdowns) <= set(BREAKDOWNS)
        text = release.commentary
        assert text == unicodedata.normalize("NFC", text).strip()
        assert not any(unicodedata.category(ch) == "Cc" and ch != "\n" for ch in text)
        assert len(text) <= MAX_COMMENTARY
