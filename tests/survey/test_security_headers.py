"""Security headers on every response: every GET route for every role, error pages
included, and HSTS with secure cookies in production."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from survey import create_app
from survey.extensions import db
from survey.views import access
from tests.resident import page
from tests.routes import ROLES, get_endpoints, path_for, staff_clients
from tests.staff import PASSWORD, create_staff, set_up_authenticator

GOOD_SECRET = "production-secret-for-header-tests-0123456789"


def assert_secure_headers(response, path: str, *, production: bool = False) -> None:
    headers = response.headers
    policy = headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in policy, path
    assert "frame-ancestors 'none'" in policy, path
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, path
    assert headers.get("X-Content-Type-Options") == "nosniff", path
    assert headers.get("X-Frame-Options") == "DENY", path
    assert headers.get("Referrer-Policy") == "no-referrer", path
    if not path.startswith("/static/"):
        assert headers.get("Cache-Control") == "no-store", path
    if production:
        assert headers["Strict-Transport-Security"].startswith("max-age=31536000"), path
    else:
        assert "Strict-Transport-Security" not in headers, path


@pytest.fixture
def walk(app, demo):
    return staff_clients(app, synthetic_responses=50)


def test_every_get_route_sends_the_headers_to_every_role(app, walk):
    clients, ids = walk
    for endpoint in get_endpoints(app):
        path = path_for(app, endpoint, ids)
        for role in ROLES:
            response = clients[role].get(path)
            assert response.status_code < 500, (role, path)
            assert_secure_headers(response, path)
            response.close()


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/no-such-page", 404),
        ("/s/no-such-link", 404),
        ("/s/demo/q/no-such-question", 303),
        ("/staff/links/999999", 302),
        ("/healthz", 200),
    ],
)
def test_error_and_redirect_responses_carry_the_headers(client, demo, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert_secure_headers(response, path)


def test_a_method_not_allowed_and_a_refused_post_carry_the_headers(client, demo):
    assert_secure_headers(client.delete("/s/demo"), "/s/demo")
    refused = client.post("/staff/sign-in", data={"email": "x"})
    assert refused.status_code == 400
    assert_secure_headers(refused, "/staff/sign-in")


def failing_app(make_app, error: Exception):
    app = make_app()

    @app.get("/test-only/fail")
    def fail():
        raise error

    return app


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (RuntimeError("secret /srv/app/survey/views.py SELECT password_hash FROM staff"), 500),
        (OperationalError("SELECT * FROM responses", {}, Exception("could not connect")), 503),
    ],
)
def test_the_error_page_leaks_nothing_carries_the_headers_and_the_next_request_works(
    make_app, demo, error, status, monkeypatch
):
    app = failing_app(make_app, error)
    monkeypatch.setattr(access, "PUBLIC_ENDPOINTS", access.PUBLIC_ENDPOINTS | {"fail"})
    client = app.test_client()
    response = client.get("/test-only/fail")
    body = response.get_data(as_text=True)
    assert response.status_code == status
    for leak in ("Traceback", "SELECT", "password_hash", "/srv/", ".py", "could not connect"):
        assert leak not in body, leak
    assert "<title>" in body and "govuk-heading-l" in body
    assert_secure_headers(response, "/test-only/fail")
    assert client.get("/s/demo").status_code == 200


@pytest.fixture
def production(database_url, monkeypatch, demo):
    monkeypatch.setenv("SURVEY_SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("SURVEY_DATABASE_URL", database_url)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    app = create_app({"SURVEY_ENV": "production", "RATELIMIT_STORAGE_URI": "memory://"})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_production_adds_hsts_and_marks_every_cookie_secure_httponly_samesite(production):
    create_staff(production, "admin@example.org", "admin")
    resident = production.test_client()
    start = resident.get("/s/demo", base_url="https://localhost")
    assert_secure_headers(start, "/s/demo", production=True)
    token = page(start).select_one("input[name=csrf_token]")["value"]
    begun = resident.post("/s/demo/start", data={"csrf_token": token}, base_url="https://localhost")
    staff = production.test_client()
    form = staff.get("/staff/sign-in", base_url="https://localhost")
    token = page(form).select_one("input[name=csrf_token]")["value"]
    # Browsers send no Referer (Referrer-Policy: no-referrer): HTTPS forms must still work.
    signed_in = staff.post(
        "/staff/sign-in",
        data={"csrf_token": token, "email": "admin@example.org", "password": PASSWORD},
        base_url="https://localhost",
    )
    assert signed_in.status_code == 303
    # Production asks an administrator to set up an authenticator app before any page.
    assert signed_in.headers["Location"] == "/staff/two-factor"
    set_up_authenticator(staff, base_url="https://localhost")
    cookies = [*begun.headers.getlist("Set-Cookie"), *signed_in.headers.getlist("Set-Cookie")]
    assert cookies
    for cookie in cookies:
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert {"secure", "httponly", "samesite"} <= attributes, cookie
        assert "expires" not in attributes and "max-age" not in attributes, cookie
    for endpoint in ("staff.home", "links.index", "admin.users", "analyst.report"):
        path = path_for(production, endpoint, {})
        response = staff.get(path, base_url="https://localhost")
        assert response.status_code == 200, path
        assert_secure_headers(response, path, production=True)
