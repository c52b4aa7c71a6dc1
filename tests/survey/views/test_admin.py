"""Admin pages: staff accounts, population figures (validated and versioned), audit log."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from survey.models import AuditEvent, PopulationSet, StaffUser
from survey.services.population import population_categories
from survey.services.questionnaires import questionnaire_for
from tests.resident import page
from tests.staff import PASSWORD, create_staff, csrf_from, sign_in

NEW_PASSWORD = "a kettle of quiet herons 7"


@pytest.fixture
def admin(app, demo):
    create_staff(app, "admin@example.org", "admin")
    client = app.test_client()
    sign_in(client, "admin@example.org")
    return client


def password_link(response) -> str:
    """The path of the set-password link an admin page shows (no mail server set up)."""
    shown = page(response).select_one("#password-link").get_text(strip=True)
    return shown[shown.index("/staff/") :]


def choose(app, path: str, password: str = NEW_PASSWORD) -> None:
    client = app.test_client()
    client.get(path)
    token = csrf_from(client, "/staff/set-password")
    chosen = client.post(
        "/staff/set-password",
        data={"csrf_token": token, "password": password, "confirm": password},
    )
    assert chosen.status_code == 303


def test_admin_creates_an_account_and_its_owner_chooses_the_password(app, admin, db_session):
    token = csrf_from(admin, "/staff/admin/users/new")
    response = admin.post(
        "/staff/admin/users/new",
        data={"csrf_token": token, "email": "New.Officer@example.org", "role": "officer"},
    )
    path = password_link(response)
    # Until its owner chooses a password, nothing signs in to the account.
    assert sign_in(app.test_client(), "new.officer@example.org", "").status_code == 400
    choose(app, path)
    assert sign_in(app.test_client(), "new.officer@example.org", NEW_PASSWORD).status_code == 303
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "account_created"))


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        ("a..b@example.org", "two periods in a row"),
        ("name@-example.org", "hyphen immediately after the @-sign"),
        ("name@example.org.", "cannot end with a period"),
        ("name@localhost", "It should have a period"),
        ('"quoted name"@example.org', "Quoting the part before the @-sign is not allowed"),
        ("name@[192.0.2.1]", "bracketed IP address"),
    ],
)
def test_an_address_the_standards_refuse_is_refused_saying_why(admin, db_session, email, reason):
    token = csrf_from(admin, "/staff/admin/users/new")
    before = set(db_session.scalars(select(StaffUser.email)))
    response = admin.post(
        "/staff/admin/users/new", data={"csrf_token": token, "email": email, "role": "officer"}
    )
    assert response.status_code == 400
    message = page(response).select_one("#email-error").get_text(" ", strip=True)
    assert "Enter an email address in the correct format" in message and reason in message
    assert set(db_session.scalars(select(StaffUser.email))) == before


def test_an_international_address_is_kept_in_its_standard_form_and_signs_in(app, admin):
    token = csrf_from(admin, "/staff/admin/users/new")
    response = admin.post(
        "/staff/admin/users/new",
        data={"csrf_token": token, "email": "Zoë@Exämple.org", "role": "analyst"},
    )
    assert response.status_code == 200
    choose(app, password_link(response))
    assert sign_in(app.test_client(), "zoë@exämple.org", NEW_PASSWORD).status_code == 303
    assert sign_in(app.test_client(), "zoë@xn--exmple-cua.org", NEW_PASSWORD).status_code == 303


def test_disabling_an_account_signs_it_out_and_stops_sign_in(app, admin, db_session):
    user_id = create_staff(app, "leaver@example.org", "officer")
    leaver = app.test_client()
    sign_in(leaver, "leaver@example.org")
    path = f"/staff/admin/users/{user_id}/disable"
    admin.post(path, data={"csrf_token": csrf_from(admin, path)})
    assert leaver.get("/staff").status_code == 302
    assert sign_in(app.test_client(), "leaver@example.org").status_code == 400
    token = csrf_from(admin, "/staff/admin/users")
    admin.post(f"/staff/admin/users/{user_id}/enable", data={"csrf_token": token})
    assert sign_in(app.test_client(), "leaver@example.org").status_code == 303


def test_resetting_a_password_ends_sessions_and_sends_a_new_link(app, admin):
    user_id = create_staff(app, "forgetful@example.org", "analyst")
    old = app.test_client()
    sign_in(old, "forgetful@example.org")
    path = f"/staff/admin/users/{user_id}/reset-password"
    response = admin.post(path, data={"csrf_token": csrf_from(admin, path)})
    assert old.get("/staff").status_code == 302
    assert sign_in(app.test_client(), "forgetful@example.org", PASSWORD).status_code == 400
    choose(app, password_link(response))
    assert sign_in(app.test_client(), "forgetful@example.org", NEW_PASSWORD).status_code == 303


def test_the_audit_log_lists_staff_actions_for_admins(admin):
    soup = page(admin.get("/staff/admin/audit"))
    actions = [row.select("td")[2].get_text() for row in soup.select("tbody tr")]
    assert "Signed in" in actions


def population_csv(app, db_session, *, drop=None, change=None) -> bytes:
    from survey.demo import demo_population
    from survey.services.questionnaires import latest_version

    with app.app_context():
        from survey.extensions import db

        questionnaire = questionnaire_for(latest_version(db.session, "prevent-awareness"))
    values = demo_population(questionnaire)
    lines = ["variable,category,population"]
    for variable, given in values.items():
        for category, population in given.items():
            if drop == (variable, category):
                continue
            if change and change[0] == (variable, category):
                population = change[1]
            lines.append(f"{variable},{category},{population}")
    return ("\n".join(lines) + "\n").encode()


def upload(client, data: bytes, label="ONS mid-2024 estimates"):
    token = csrf_from(client, "/staff/admin/population")
    return client.post(
        "/staff/admin/population",
        content_type="multipart/form-data",
        data={"csrf_token": token, "label": label, "figures": (io.BytesIO(data), "figures.csv")},
    )


def test_population_upload_adds_a_new_version(app, admin, db_session):
    before = db_session.scalar(select(PopulationSet).order_by(PopulationSet.version.desc()))
    response = upload(admin, population_csv(app, db_session))
    assert response.status_code == 303
    latest = db_session.scalar(select(PopulationSet).order_by(PopulationSet.version.desc()))
    assert latest.version == before.version + 1 and not latest.is_demo
    assert len(latest.figures) > 33
    rows = page(admin.get("/staff/admin/population")).select("tbody tr")
    assert "(current)" in rows[0].get_text()
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "population_uploaded"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"drop": ("borough", "E09000033")}, "borough: missing 1 categories"),
        ({"change": (("borough", "E09000007"), "12.5")}, "must be a whole number"),
        ({"change": (("sex", "female"), "99999999")}, "the totals must agree within 1%"),
    ],
)
def test_bad_population_files_are_refused_with_clear_errors(
    app, admin, db_session, kwargs, message
):
    response = upload(admin, population_csv(app, db_session, **kwargs))
    assert response.status_code == 400
    assert message in page(response).get_text()


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\xff\xfe\x00bad",
        b"name,value\nx,1\n",
        b"variable,category,population\nborough,Camden,100\n",
        b"variable,category,population\npostcode,E1 6AN,100\n",
    ],
)
def test_files_that_are_not_population_figures_are_refused(admin, content):
    response = upload(admin, content)
    assert response.status_code == 400
    assert page(response).select_one(".govuk-error-summary") is not None


def test_population_categories_come_from_the_questionnaire(app, demo):
    from survey.services.questionnaires import latest_version

    with app.app_context():
        from survey.extensions import db

        categories = population_categories(
            questionnaire_for(latest_version(db.session, "prevent-awareness"))
        )
    assert len(categories["borough"]) == 33
    assert "prefer_not_to_say" not in categories["sex"]
    assert "25-34*female" in categories["age_band*sex"]


def test_an_admin_cannot_disable_their_own_account(app, admin, db_session):
    me = db_session.scalar(select(StaffUser).where(StaffUser.email == "admin@example.org"))
    token = csrf_from(admin, "/staff/admin/users")
    refused = admin.post(f"/staff/admin/users/{me.id}/disable", data={"csrf_token": token})
    assert refused.status_code == 403
    db_session.expire_all()
    assert db_session.get(StaffUser, me.id).active
