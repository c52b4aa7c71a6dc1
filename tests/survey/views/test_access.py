"""Deny by default: every route in app.url_map has an expected status for every role."""

from __future__ import annotations

import pytest

from tests.routes import ROLES, csrf, failed_job_id, path_for, release_ids, staff_clients
from tests.staff import create_staff, sign_in

SIGN_IN = "redirect to sign-in"
ANY = "public"

# endpoint -> (method, expected for anonymous, officer, analyst, admin)
EXPECTED = {
    "static": ("GET", ANY, ANY, ANY, ANY),
    "pages.home": ("GET", 200, 200, 200, 200),
    "pages.privacy": ("GET", 200, 200, 200, 200),
    "pages.accessibility": ("GET", 200, 200, 200, 200),
    "pages.leave": ("GET", 303, 303, 303, 303),
    "health.healthz": ("GET", 200, 200, 200, 200),
    "respond.start": ("GET", 200, 200, 200, 200),
    "respond.begin": ("POST", ANY, ANY, ANY, ANY),
    "respond.question": ("GET", ANY, ANY, ANY, ANY),
    "respond.check_answers": ("GET", ANY, ANY, ANY, ANY),
    "respond.submit": ("POST", ANY, ANY, ANY, ANY),
    "respond.clear": ("POST", ANY, ANY, ANY, ANY),
    "respond.confirmation": ("GET", ANY, ANY, ANY, ANY),
    "auth.sign_in": ("GET", 200, 302, 302, 302),
    "auth.sign_out": ("POST", 403, 303, 303, 303),
    # Only a session past its password but not its code reaches the code page.
    "auth.code": ("GET", 302, 302, 302, 302),
    # Staff without an authenticator may set one up (the tests require none by default).
    "auth.set_up": ("GET", 302, 200, 200, 200),
    # Opened without a link, or with a wrong one: a clear "this link does not work".
    "auth.set_password": ("GET", 410, 410, 410, 410),
    "auth.account": ("GET", SIGN_IN, 200, 200, 200),
    "auth.change_password": ("GET", SIGN_IN, 200, 200, 200),
    "auth.sign_out_everywhere": ("POST", 403, 303, 303, 303),
    "auth.recovery_codes": ("POST", 403, 303, 303, 303),
    "staff.home": ("GET", SIGN_IN, 200, 200, 200),
    "coverage.view": ("GET", SIGN_IN, 200, 200, 200),
    "coverage.borough": ("GET", SIGN_IN, 200, 200, 200),
    "links.index": ("GET", SIGN_IN, 200, 403, 200),
    "links.new": ("GET", SIGN_IN, 200, 403, 200),
    "links.detail": ("GET", SIGN_IN, 200, 403, 200),
    "links.close": ("POST", 403, 303, 403, 303),
    "links.confirm_close": ("GET", SIGN_IN, 200, 403, 200),
    "links.reopen": ("POST", 403, 303, 403, 303),
    "links.qr_svg": ("GET", SIGN_IN, 200, 403, 200),
    "links.qr_png": ("GET", SIGN_IN, 200, 403, 200),
    "links.poster": ("GET", SIGN_IN, 200, 403, 200),
    "analyst.report": ("GET", SIGN_IN, 403, 200, 200),
    "analyst.download": ("GET", SIGN_IN, 403, 200, 200),
    "analyst.weighting": ("GET", SIGN_IN, 403, 200, 200),
    "analyst.trends": ("GET", SIGN_IN, 403, 200, 200),
    "analyst.trend_download": ("GET", SIGN_IN, 403, 200, 200),
    "analyst.least_reached": ("GET", SIGN_IN, 403, 200, 200),
    "analyst.least_reached_download": ("GET", SIGN_IN, 403, 200, 200),
    "releases.index": ("GET", SIGN_IN, 403, 200, 200),
    "releases.new": ("GET", SIGN_IN, 403, 200, 200),
    "releases.edit": ("GET", SIGN_IN, 403, 200, 200),
    "releases.detail": ("GET", SIGN_IN, 403, 200, 200),
    "releases.approve": ("POST", 403, 403, 403, 400),  # admins get through: no time chosen
    "releases.withdraw": ("POST", 403, 403, 403, 303),
    # The analyst's failed job: they and admins see it and may try it again.
    "jobs.status": ("GET", SIGN_IN, 403, 200, 200),
    "jobs.retry": ("POST", 403, 403, 303, 303),
    "results.index": ("GET", 200, 200, 200, 200),
    "results.latest": ("GET", 302, 302, 302, 302),
    "results.release": ("GET", 200, 200, 200, 200),
    "results.methods": ("GET", 200, 200, 200, 200),
    "results.data": ("GET", 200, 200, 200, 200),
    "results.document": ("GET", 200, 200, 200, 200),
    "results.feed": ("GET", 200, 200, 200, 200),
    "admin.users": ("GET", SIGN_IN, 403, 403, 200),
    "admin.new_user": ("GET", SIGN_IN, 403, 403, 200),
    "admin.disable_user": ("POST", 403, 403, 403, 303),
    "admin.enable_user": ("POST", 403, 403, 403, 303),
    "admin.reset_password": ("POST", 403, 403, 403, 200),
    "admin.reset_second_factor": ("GET", SIGN_IN, 403, 403, 200),
    "admin.audit": ("GET", SIGN_IN, 403, 403, 200),
    "admin.population": ("GET", SIGN_IN, 403, 403, 200),
    "admin.microdata_page": ("GET", SIGN_IN, 403, 403, 200),
    "admin.microdata_file": ("GET", SIGN_IN, 403, 403, 200),
    "admin.codebook_csv": ("GET", SIGN_IN, 403, 403, 200),
}


def test_every_route_has_an_expectation(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = endpoints - set(EXPECTED)
    assert not missing, f"add these endpoints to the access table: {sorted(missing)}"
    assert not set(EXPECTED) - endpoints


@pytest.fixture
def clients(app, demo):
    return staff_clients(app)


@pytest.mark.parametrize("endpoint", sorted(EXPECTED))
def test_route_access_matches_the_table_for_every_role(app, clients, endpoint):
    by_role, ids = clients
    if endpoint.split(".")[0] in ("releases", "results"):
        ids = {**ids, **release_ids(app)}
    if endpoint.startswith("jobs."):
        ids = {**ids, "job_id": failed_job_id(app)}
    method, *expected = EXPECTED[endpoint]
    path = path_for(app, endpoint, ids)
    for role, want in zip(ROLES, expected, strict=True):
        if want == ANY:
            continue
        client = by_role[role]
        if method == "GET":
            response = client.get(path)
        else:
            response = client.post(
                path,
                data={
                    "csrf_token": csrf(client, "/staff/sign-in")
                    if role == "anonymous"
                    else csrf(client, "/staff")
                },
            )
        if want == SIGN_IN:
            assert response.status_code == 302, (role, path, response.status_code)
            assert response.headers["Location"].startswith("/staff/sign-in?next=")
        else:
            assert response.status_code == want, (role, path, response.status_code)


def test_officer_cannot_see_or_change_another_officers_links(app, demo, db_session):
    a = app.test_client()
    b = app.test_client()
    create_staff(app, "a@example.org", "officer")
    create_staff(app, "b@example.org", "officer")
    sign_in(a, "a@example.org")
    sign_in(b, "b@example.org")
    token = csrf(a, "/staff/links/new")
    created = a.post(
        "/staff/links/new",
        data={"csrf_token": token, "label": "A's stall", "channel": "event", "borough": "none"},
    )
    link_id = int(created.headers["Location"].rsplit("/", 1)[1])
    for suffix in ("", "/qr.svg", "/qr.png", "/poster"):
        assert b.get(f"/staff/links/{link_id}{suffix}").status_code == 404
    assert (
        b.post(f"/staff/links/{link_id}/close", data={"csrf_token": csrf(b, "/staff")}).status_code
        == 404
    )
    assert "A&#39;s stall" not in b.get("/staff/links").get_data(as_text=True)
    from survey.models import Link

    assert db_session.get(Link, link_id).closed is False


def test_an_unlisted_endpoint_is_refused_to_everyone(app):
    from survey.views import access

    assert access.ROLE_ACCESS.get("made.up") is None
    assert not access.is_public("made.up")
