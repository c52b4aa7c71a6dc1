"""Staff accounts and sign-in for tests."""

from __future__ import annotations

from survey.extensions import db
from survey.services import staff as staff_service
from tests.resident import field_value

PASSWORD = "correct horse battery staple 42"


def create_staff(app, email: str, role: str, password: str = PASSWORD) -> int:
    with app.app_context():
        user = staff_service.create_user(db.session, email, role, password)
        db.session.commit()
        return user.id


def csrf_from(client, path: str) -> str:
    token = field_value(client.get(path), "csrf_token")
    assert token is not None, f"no CSRF token on {path}"
    return token


def approval_form(client, release_id: int) -> dict[str, str]:
    """What the approve form on a release's page carries: its CSRF token and the digest of
    the release as shown."""
    response = client.get(f"/staff/releases/{release_id}")
    return {
        "csrf_token": field_value(response, "csrf_token"),
        "seen": field_value(response, "seen"),
    }


def sign_in(client, email: str, password: str = PASSWORD):
    token = csrf_from(client, "/staff/sign-in")
    return client.post(
        "/staff/sign-in", data={"csrf_token": token, "email": email, "password": password}
    )


def signed_in_client(app, role: str, email: str | None = None):
    email = email or f"{role}@example.org"
    create_staff(app, email, role)
    client = app.test_client()
    response = sign_in(client, email)
    assert response.status_code == 303, response.status_code
    return client
