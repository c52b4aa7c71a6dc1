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


class Phone:
    """An authenticator app holding one account's key, as read off the set-up page. Each
    code it gives is for a later 30-second step than the last, as a person waiting for the
    next code would type, so a test can sign in twice within a step (the server accepts
    one step either side of its clock and each step once)."""

    def __init__(self, key: str) -> None:
        import pyotp

        self.totp = pyotp.TOTP(key.replace(" ", ""))
        self.last_step: int | None = None

    def code(self) -> str:
        from survey import clock

        current = int(clock.now().timestamp()) // 30
        step = current if self.last_step is None else max(current, self.last_step + 1)
        assert step <= current + 1, "no unused code left this step: the server would refuse"
        self.last_step = step
        return self.totp.at(step * 30)


def set_up_authenticator(client, **request) -> tuple[Phone, list[str]]:
    """Set up an authenticator on the page a signed-in (or signing-in) client is sent to:
    read the key shown, send a code from it, and return the phone and the recovery codes.
    Any keywords (base_url) go with each request."""
    response = client.get("/staff/two-factor", **request)
    assert response.status_code == 200, response.status_code
    from tests.resident import page

    phone = Phone(page(response).select_one("#totp-key").get_text(strip=True))
    token = field_value(response, "csrf_token")
    done = client.post(
        "/staff/two-factor", data={"csrf_token": token, "code": phone.code()}, **request
    )
    assert done.status_code == 200, page(done).get_text(" ")[:500]
    codes = [li.get_text(strip=True) for li in page(done).select("#recovery-codes li")]
    return phone, codes


def enter_code(client, code: str):
    token = csrf_from(client, "/staff/sign-in/code")
    return client.post("/staff/sign-in/code", data={"csrf_token": token, "code": code})
