"""Staff sign-in: argon2id, long passwords, common ones refused, rate limits, sessions."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import select

from survey import clock
from survey.models import AuditEvent, StaffUser
from survey.services import staff as staff_service
from tests.resident import page
from tests.staff import PASSWORD, create_staff, csrf_from, sign_in


def test_passwords_are_stored_as_argon2id_hashes(app, db_session):
    create_staff(app, "officer@example.org", "officer")
    stored = db_session.scalar(select(StaffUser.password_hash))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_a_64_character_password_from_a_password_manager_works(app):
    password = "x7!Kq" * 12 + "Zp9@"
    assert len(password) == 64
    create_staff(app, "long@example.org", "analyst", password)
    response = sign_in(app.test_client(), "long@example.org", password)
    assert response.status_code == 303


@pytest.mark.parametrize("password", ["password1234", "qwertyuiop12", "short"])
def test_common_or_short_passwords_are_refused(app, password):
    with app.app_context(), pytest.raises(staff_service.AccountError):
        from survey.extensions import db

        staff_service.create_user(db.session, "weak@example.org", "officer", password)


def test_unknown_email_and_wrong_password_get_the_same_answer(app):
    create_staff(app, "officer@example.org", "officer")
    client = app.test_client()
    wrong = sign_in(client, "officer@example.org", "not the password at all")
    unknown = sign_in(client, "nobody@example.org", "not the password at all")
    assert wrong.status_code == unknown.status_code == 400
    summary = [
        page(r).select_one(".govuk-error-summary").get_text(" ", strip=True)
        for r in (wrong, unknown)
    ]
    assert summary[0] == summary[1]
    assert "Enter a correct email address and password" in summary[0]


def test_twenty_bad_sign_ins_are_rate_limited(app, make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    statuses = [
        sign_in(client, "nobody@example.org", "wrong password here").status_code for _ in range(20)
    ]
    assert statuses[0] == 400
    assert statuses[-1] == 429
    limited = sign_in(client, "nobody@example.org", "wrong password here")
    assert "Too many attempts" in limited.get_data(as_text=True)


def test_failures_against_one_account_never_lock_out_another_member_of_staff(app, make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    create_staff(app, "target@example.org", "admin")
    create_staff(app, "colleague@example.org", "officer")
    attacker = app.test_client()
    statuses = [
        sign_in(attacker, "target@example.org", f"guess number {i:04d}").status_code
        for i in range(60)
    ]
    assert statuses[:10] == [400] * 10 and set(statuses[10:]) == {429}
    # Same address, another account: signs in.
    assert sign_in(app.test_client(), "colleague@example.org").status_code == 303
    # The attacked account from the same address is still held back, even with the password.
    assert sign_in(app.test_client(), "target@example.org").status_code == 429


def test_failures_from_one_address_never_lock_the_account_out_elsewhere(app, make_app):
    app = make_app(RATELIMIT_ENABLED=True, TRUSTED_PROXY_HOPS=1)
    create_staff(app, "target@example.org", "admin")
    attacker = app.test_client()
    attacker.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.9"
    for i in range(12):
        sign_in(attacker, "target@example.org", f"guess number {i:04d}")
    assert sign_in(attacker, "target@example.org").status_code == 429
    owner = app.test_client()
    owner.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.20"
    assert sign_in(owner, "target@example.org").status_code == 303


def test_successful_sign_ins_are_never_limited(app, make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    create_staff(app, "busy@example.org", "analyst")
    assert {sign_in(app.test_client(), "busy@example.org").status_code for _ in range(15)} == {303}


def test_sign_in_rotates_the_session_cookie(app):
    create_staff(app, "officer@example.org", "officer")
    client = app.test_client()
    client.get("/staff/sign-in")
    before = client.get_cookie("survey_session").value
    sign_in(client, "officer@example.org")
    after = client.get_cookie("survey_session").value
    assert before != after


def test_sign_out_revokes_the_session_so_a_copied_cookie_fails(app):
    create_staff(app, "officer@example.org", "officer")
    client = app.test_client()
    sign_in(client, "officer@example.org")
    copied = client.get_cookie("survey_session").value
    token = csrf_from(client, "/staff")
    assert client.post("/staff/sign-out", data={"csrf_token": token}).status_code == 303
    thief = app.test_client()
    thief.set_cookie("survey_session", copied)
    response = thief.get("/staff")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/sign-in")


@pytest.mark.parametrize("minutes", [31, 12 * 60 + 1])
def test_sessions_expire_when_idle_and_absolutely(app, monkeypatch, minutes):
    create_staff(app, "officer@example.org", "officer")
    client = app.test_client()
    sign_in(client, "officer@example.org")
    start = clock.now()
    if minutes > 60:
        # Stay active every 20 minutes until just past the 12-hour limit.
        for step in range(1, minutes // 20):
            moment = start + dt.timedelta(minutes=20 * step)
            monkeypatch.setattr(clock, "now", lambda moment=moment: moment)
            assert client.get("/staff").status_code == 200
    later = start + dt.timedelta(minutes=minutes)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert client.get("/staff").status_code == 302


def test_a_session_active_within_30_minutes_stays_signed_in(app, monkeypatch):
    create_staff(app, "officer@example.org", "officer")
    client = app.test_client()
    sign_in(client, "officer@example.org")
    later = clock.now() + dt.timedelta(minutes=29)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert client.get("/staff").status_code == 200


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(app, bad_inputs):
    create_staff(app, "officer@example.org", "officer")
    client = app.test_client()
    first = client.get("/staff/links")
    assert first.headers["Location"] == "/staff/sign-in?next=/staff/links"
    token = csrf_from(client, "/staff/sign-in?next=/staff/links")
    response = client.post(
        "/staff/sign-in?next=/staff/links",
        data={"csrf_token": token, "email": "officer@example.org", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/staff/links"
    for target in bad_inputs["open_redirect_and_log_injection"]:
        other = app.test_client()
        token = csrf_from(other, "/staff/sign-in")
        response = other.post(
            "/staff/sign-in",
            query_string={"next": target},
            data={"csrf_token": token, "email": "officer@example.org", "password": PASSWORD},
        )
        assert response.headers["Location"] == "/staff", target


def test_sign_ins_and_failures_are_in_the_audit_log(app, db_session):
    create_staff(app, "officer@example.org", "officer")
    client = app.test_client()
    sign_in(client, "officer@example.org", "wrong password entirely")
    sign_in(client, "officer@example.org")
    actions = [(e.action, e.actor_email) for e in db_session.scalars(select(AuditEvent))]
    assert ("sign_in_failed", "officer@example.org") in actions
    assert ("sign_in", "officer@example.org") in actions


def test_the_users_command_creates_an_account_with_a_generated_password(app, runner, db_session):
    result = runner.invoke(
        args=["users", "create", "--role", "analyst", "--generate", "Analyst@Example.org"]
    )
    assert result.exit_code == 0, result.output
    password = result.output.split("Password: ")[1].strip()
    assert sign_in(app.test_client(), "analyst@example.org", password).status_code == 303
    refused = runner.invoke(
        args=["users", "create", "--role", "analyst", "--generate", "analyst@example.org"]
    )
    assert refused.exit_code != 0 and "already an account" in refused.output


def test_the_users_command_prompts_for_a_password(app, runner):
    result = runner.invoke(
        args=["users", "create", "--role", "officer", "p@example.org"],
        input="a long enough passphrase\na long enough passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert (
        sign_in(app.test_client(), "p@example.org", "a long enough passphrase").status_code == 303
    )


def test_the_demo_command_prints_working_staff_credentials(app, runner):
    result = runner.invoke(args=["demo"])
    lines = [line.split() for line in result.output.splitlines() if "@demo.example.org" in line]
    assert [line[0] for line in lines] == ["admin", "officer", "analyst"]
    for _role, email, password in lines:
        assert sign_in(app.test_client(), email, password).status_code == 303


def test_a_burst_of_failed_sign_ins_checks_no_more_passwords_than_the_limit_allows(
    app, make_app, monkeypatch
):
    """40 wrong passwords for one account at once, against a limit of 10: once the 10
    failures are counted, those still waiting for their turn to hash are refused without
    hashing. Only checks already under way when the limit is reached may add to it."""

    app = make_app(RATELIMIT_ENABLED=True, SIGN_IN_ACCOUNT_LIMIT="10 per minute")
    create_staff(app, "target@example.org", "admin")
    hashed = []

    class CountingHasher:
        """The suite's hasher, counting checks, each taking a while as argon2's does."""

        def __init__(self, inner) -> None:
            self.inner = inner

        def verify(self, *args):
            hashed.append(1)
            time.sleep(0.02)
            return self.inner.verify(*args)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    monkeypatch.setattr(staff_service, "_hasher", CountingHasher(staff_service._hasher))
    statuses: list[int] = []
    clients = [app.test_client() for _ in range(40)]
    tokens = [csrf_from(client, "/staff/sign-in") for client in clients]
    barrier = threading.Barrier(len(clients))

    def attempt(client, token, n):
        barrier.wait()
        response = client.post(
            "/staff/sign-in",
            data={"csrf_token": token, "email": "target@example.org", "password": f"guess {n:04d}"},
        )
        statuses.append(response.status_code)

    threads = [
        threading.Thread(target=attempt, args=(client, token, n))
        for n, (client, token) in enumerate(zip(clients, tokens, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(statuses)) == [400, 429]
    assert statuses.count(400) == len(hashed)
    assert len(hashed) <= 10 + staff_service.HASHING_AT_ONCE - 1, len(hashed)
