"""Staff accounts nobody else knows the password of: set-password links (emailed through a
real SMTP server, or shown to pass on), changing one's own password, an authenticator app
with recovery codes, confirmation before what cannot be undone lightly, and sessions."""

from __future__ import annotations

import datetime as dt
import logging
import threading

import pytest
from sqlalchemy import select

from survey import clock
from survey.models import AuditEvent, StaffSession, StaffUser
from survey.services import staff as staff_service
from tests.mail import MailServer
from tests.resident import page
from tests.staff import (
    PASSWORD,
    create_staff,
    csrf_from,
    enter_code,
    set_up_authenticator,
    sign_in,
    signed_in_client,
)

NEW_PASSWORD = "a kettle of quiet herons 7"
TWO_FACTOR = {"TWO_FACTOR_ROLES": ("admin", "analyst")}


@pytest.fixture
def mail():
    with MailServer() as server:
        yield server


def create_account(admin, email: str, role: str = "officer"):
    token = csrf_from(admin, "/staff/admin/users/new")
    return admin.post(
        "/staff/admin/users/new", data={"csrf_token": token, "email": email, "role": role}
    )


def choose_password(client, path: str, password: str = NEW_PASSWORD):
    opened = client.get(path)
    assert opened.status_code == 303 and opened.headers["Location"] == "/staff/set-password"
    form = client.get("/staff/set-password")
    assert form.status_code == 200
    token = csrf_from(client, "/staff/set-password")
    return client.post(
        "/staff/set-password",
        data={"csrf_token": token, "password": password, "confirm": password},
    )


def words(response) -> str:
    """The page's text as a reader hears it: one space between words."""
    return " ".join(page(response).get_text(" ").split())


def audit_text(db_session) -> str:
    return " ".join(
        f"{e.actor_email} {e.action} {e.detail}" for e in db_session.scalars(select(AuditEvent))
    )


def test_a_new_account_gets_an_emailed_link_and_the_administrator_never_sees_a_password(
    make_app, mail, demo, db_session
):
    app = make_app(**mail.settings)
    admin = signed_in_client(app, "admin")
    created = create_account(admin, "New.Officer@example.org")
    shown = words(created)
    assert created.status_code == 200
    assert "We have emailed new.officer@example.org a link" in shown
    assert page(created).select_one("#password-link") is None
    [message] = mail.mailbox.to("new.officer@example.org")
    assert message["From"] == "survey@example.org"
    assert "choose a password" in message["Subject"]
    path = mail.mailbox.link_for("new.officer@example.org")
    assert path.split("token=")[1] not in shown

    officer = app.test_client()
    done = choose_password(officer, path)
    assert done.status_code == 303 and done.headers["Location"] == "/staff/sign-in"
    assert "Your password is set" in words(officer.get("/staff/sign-in"))
    assert sign_in(app.test_client(), "new.officer@example.org", NEW_PASSWORD).status_code == 303
    user = db_session.scalar(select(StaffUser).where(StaffUser.email == "new.officer@example.org"))
    assert user.password_link_seen_by is None  # emailed: no administrator saw it

    again = app.test_client().get(path, follow_redirects=True)
    assert again.status_code == 410
    assert "This link has already been used" in words(again)
    assert "password_link_sent" in audit_text(db_session)


def test_without_mail_the_link_is_shown_once_and_remembered_against_that_administrator(
    app, demo, db_session
):
    admin = signed_in_client(app, "admin")
    created = create_account(admin, "colleague@example.org", role="admin")
    link = page(created).select_one("#password-link").get_text(strip=True)
    assert "/staff/set-password?token=" in link
    assert "releases you worked on cannot be approved under this account" in page(created).get_text(
        " "
    )
    path = link[link.index("/staff/") :]
    assert choose_password(app.test_client(), path).status_code == 303
    user = db_session.scalar(select(StaffUser).where(StaffUser.email == "colleague@example.org"))
    creator = db_session.scalar(select(StaffUser).where(StaffUser.email == "admin@example.org"))
    assert user.password_link_seen_by == creator.id
    # The page that showed it once does not show it again.
    assert link not in admin.get("/staff/admin/users").get_data(as_text=True)


def test_an_expired_link_and_a_replaced_link_are_refused_with_a_clear_page(app, demo, monkeypatch):
    admin = signed_in_client(app, "admin")
    first = create_account(admin, "slow@example.org")
    first_path = page(first).select_one("#password-link").get_text(strip=True)
    first_path = first_path[first_path.index("/staff/") :]
    later = clock.now() + dt.timedelta(hours=24, minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    expired = app.test_client().get(first_path, follow_redirects=True)
    assert expired.status_code == 410
    assert "This link has expired" in words(expired)
    assert "Ask an administrator to send you a new link" in words(expired)

    monkeypatch.undo()
    admin = signed_in_client(app, "admin", "admin2@example.org")
    user_id = _user_id(app, "slow@example.org")
    second = _confirmed_post(admin, f"/staff/admin/users/{user_id}/reset-password")
    second_path = page(second).select_one("#password-link").get_text(strip=True)
    assert second_path != first_path
    replaced = app.test_client().get(first_path, follow_redirects=True)
    assert replaced.status_code == 410
    assert "This link does not work" in words(replaced)
    assert (
        choose_password(app.test_client(), second_path[second_path.index("/staff/") :]).status_code
        == 303
    )


def test_a_link_cannot_set_a_weak_password_or_one_typed_differently(app, demo):
    admin = signed_in_client(app, "admin")
    created = create_account(admin, "careful@example.org")
    link = page(created).select_one("#password-link").get_text(strip=True)
    client = app.test_client()
    client.get(link[link.index("/staff/") :])
    token = csrf_from(client, "/staff/set-password")
    weak = client.post(
        "/staff/set-password",
        data={"csrf_token": token, "password": "password1234", "confirm": "password1234"},
    )
    assert weak.status_code == 400 and "too common" in words(weak)
    typo = client.post(
        "/staff/set-password",
        data={"csrf_token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "!"},
    )
    assert typo.status_code == 400 and "The passwords do not match" in words(typo)
    # Neither spent the link.
    assert choose_password_here(client, token).status_code == 303


def choose_password_here(client, token: str):
    return client.post(
        "/staff/set-password",
        data={"csrf_token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )


def test_a_link_used_twice_at_once_sets_one_password(app, demo):
    admin = signed_in_client(app, "admin")
    created = create_account(admin, "racer@example.org")
    link = page(created).select_one("#password-link").get_text(strip=True)
    path = link[link.index("/staff/") :]
    clients = [app.test_client() for _ in range(2)]
    tokens = []
    for client in clients:
        client.get(path)
        tokens.append(csrf_from(client, "/staff/set-password"))
    results = []
    barrier = threading.Barrier(2)

    def send(client, token, password):
        barrier.wait()
        results.append(
            client.post(
                "/staff/set-password",
                data={"csrf_token": token, "password": password, "confirm": password},
            ).status_code
        )

    threads = [
        threading.Thread(target=send, args=(c, t, p))
        for c, t, p in zip(
            clients, tokens, [NEW_PASSWORD, "another long passphrase 99"], strict=True
        )
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results)[0] == 303 and results.count(303) == 1, results


def test_when_mail_fails_the_administrator_is_told_and_no_link_works(make_app, demo, db_session):
    app = make_app(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_SECURITY="none", MAIL_FROM="s@example.org"
    )
    admin = signed_in_client(app, "admin")
    created = create_account(admin, "unlucky@example.org")
    assert created.status_code == 502
    text = words(created)
    assert "The email could not be sent" in text and "ConnectionRefusedError" in text
    from survey.models import PasswordLink

    assert db_session.scalars(select(PasswordLink)).all() == []
    # The account exists, waiting for a link.
    assert "Waiting for them to choose a password" in words(admin.get("/staff/admin/users"))


def _user_id(app, email: str) -> int:
    with app.app_context():
        from survey.extensions import db

        return db.session.scalar(select(StaffUser.id).where(StaffUser.email == email))


def _confirmed_post(client, path: str):
    """Open an action's confirmation page, then press its button."""
    question = client.get(path)
    assert question.status_code == 200
    assert "Are you sure" in words(question)
    return client.post(path, data={"csrf_token": csrf_from(client, path)})


@pytest.mark.parametrize("action", ["disable", "reset-password", "reset-second-factor"])
def test_account_actions_ask_first_and_say_what_happened(app, demo, db_session, action):
    admin = signed_in_client(app, "admin")
    user_id = create_staff(app, "colleague@example.org", "analyst")
    if action == "reset-second-factor":
        colleague = app.test_client()
        sign_in(colleague, "colleague@example.org")
        set_up_authenticator(colleague)
    path = f"/staff/admin/users/{user_id}/{action}"
    question = admin.get(path)
    assert "Are you sure" in words(question)
    assert page(question).select_one(".govuk-warning-text")
    db_session.expire_all()
    user = db_session.get(StaffUser, user_id)
    assert user.active and user.has_password  # asking changed nothing
    assert (user.totp_enrolled_at is not None) == (action == "reset-second-factor")
    done = _confirmed_post(admin, path)
    db_session.expire_all()
    user = db_session.get(StaffUser, user_id)
    if action == "disable":
        assert not user.active
        assert "is disabled and signed out everywhere" in words(admin.get(done.headers["Location"]))
    elif action == "reset-password":
        assert not user.has_password
        assert "Password reset" in words(done)
    else:
        assert user.totp_secret is None and user.totp_enrolled_at is None
        assert "authenticator app is removed" in page(admin.get(done.headers["Location"])).get_text(
            " "
        )


def test_an_administrator_cannot_reset_or_disable_their_own_account(app, demo):
    admin = signed_in_client(app, "admin")
    own = _user_id(app, "admin@example.org")
    for action in ("disable", "reset-password", "reset-second-factor"):
        assert admin.get(f"/staff/admin/users/{own}/{action}").status_code == 403


def test_changing_your_password_needs_the_current_one_and_ends_other_sessions(app, db_session):
    create_staff(app, "officer@example.org", "officer")
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, "officer@example.org")
    sign_in(phone, "officer@example.org")
    token = csrf_from(laptop, "/staff/account/password")
    wrong = laptop.post(
        "/staff/account/password",
        data={
            "csrf_token": token,
            "current": "not my password at all",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert wrong.status_code == 400
    assert "Your current password is not right" in words(wrong)
    common = laptop.post(
        "/staff/account/password",
        data={
            "csrf_token": token,
            "current": PASSWORD,
            "password": "iloveyou1234",
            "confirm": "iloveyou1234",
        },
    )
    assert common.status_code == 400 and "too common" in words(common)
    changed = laptop.post(
        "/staff/account/password",
        data={
            "csrf_token": token,
            "current": PASSWORD,
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 303
    assert "Your password has been changed" in words(laptop.get("/staff/account"))
    assert phone.get("/staff").status_code == 302  # signed out
    assert sign_in(app.test_client(), "officer@example.org", PASSWORD).status_code == 400
    assert sign_in(app.test_client(), "officer@example.org", NEW_PASSWORD).status_code == 303


def test_an_authenticator_is_required_where_the_setting_says_and_each_code_works_once(
    make_app, db_session
):
    app = make_app(**TWO_FACTOR)
    create_staff(app, "analyst@example.org", "analyst")
    client = app.test_client()
    first = sign_in(client, "analyst@example.org")
    assert first.headers["Location"] == "/staff/two-factor"
    # Until it is set up, the password alone opens no staff page.
    assert client.get("/staff").status_code == 302
    assert client.get("/staff/analysis").status_code == 302
    phone, codes = set_up_authenticator(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/staff").status_code == 200
    user = db_session.scalar(select(StaffUser).where(StaffUser.email == "analyst@example.org"))
    assert user.has_second_factor

    other = app.test_client()
    assert sign_in(other, "analyst@example.org").headers["Location"] == "/staff/sign-in/code"
    assert other.get("/staff").status_code == 302
    assert enter_code(other, "000000").status_code == 400
    code = phone.code()
    assert enter_code(other, code).status_code == 303
    assert other.get("/staff").status_code == 200
    # The same code again, from someone who watched it typed, is refused.
    thief = app.test_client()
    sign_in(thief, "analyst@example.org")
    assert enter_code(thief, code).status_code == 400
    assert thief.get("/staff").status_code == 302


def test_a_recovery_code_works_once_in_place_of_the_app(make_app, db_session):
    app = make_app(**TWO_FACTOR)
    create_staff(app, "admin@example.org", "admin")
    client = app.test_client()
    sign_in(client, "admin@example.org")
    _phone, codes = set_up_authenticator(client)
    lost_phone = app.test_client()
    sign_in(lost_phone, "admin@example.org")
    assert enter_code(lost_phone, codes[3].upper().replace("-", " ")).status_code == 303
    assert "9 unused recovery codes" in words(lost_phone.get("/staff/account"))
    again = app.test_client()
    sign_in(again, "admin@example.org")
    assert enter_code(again, codes[3]).status_code == 400
    assert enter_code(again, codes[4]).status_code == 303
    events = audit_text(db_session)
    assert "with a recovery code (8 left)" in events
    assert not any(code in events for code in codes)


def test_an_officer_may_add_an_authenticator_and_an_administrator_can_remove_it(
    app, demo, db_session
):
    create_staff(app, "officer@example.org", "officer")
    officer = app.test_client()
    assert sign_in(officer, "officer@example.org").headers["Location"] == "/staff"
    assert "optional for your role" in words(officer.get("/staff/account"))
    phone, _codes = set_up_authenticator(officer)
    again = app.test_client()
    assert sign_in(again, "officer@example.org").headers["Location"] == "/staff/sign-in/code"
    assert enter_code(again, phone.code()).status_code == 303

    admin = signed_in_client(app, "admin")
    _confirmed_post(
        admin, f"/staff/admin/users/{_user_id(app, 'officer@example.org')}/reset-second-factor"
    )
    assert again.get("/staff").status_code == 302  # signed out
    # Officers need none, so the next sign-in goes straight in.
    assert sign_in(app.test_client(), "officer@example.org").headers["Location"] == "/staff"
    assert "second_factor_reset" in audit_text(db_session)


def test_sessions_are_listed_and_signing_out_everywhere_ends_them_all(app, db_session):
    create_staff(app, "officer@example.org", "officer")
    laptop, phone = app.test_client(), app.test_client()
    laptop.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (Windows NT 10.0) Firefox/133.0"
    phone.environ_base["HTTP_USER_AGENT"] = (
        "Mozilla/5.0 (Linux; Android 14) Chrome/131.0 Mobile Safari/537.36"
    )
    sign_in(laptop, "officer@example.org")
    sign_in(phone, "officer@example.org")
    rows = page(laptop.get("/staff/account")).select("#sessions li")
    described = sorted(" ".join(row.get_text(" ").split()).split(":")[0].strip() for row in rows)
    assert described == ["Chrome on Android", "Firefox on Windows (this session)"]
    token = csrf_from(laptop, "/staff/account")
    out = laptop.post("/staff/account/sign-out-everywhere", data={"csrf_token": token})
    assert out.status_code == 303
    assert phone.get("/staff").status_code == 302
    assert laptop.get("/staff").status_code == 302
    assert (
        db_session.scalars(select(StaffSession).where(StaffSession.revoked_at.is_(None))).all()
        == []
    )


@pytest.mark.usefixtures("app")  # empties the tables afterwards
@pytest.mark.parametrize(("setting", "minutes", "signed_in"), [(5, 4, True), (5, 6, False)])
def test_the_idle_limit_is_a_setting(make_app, monkeypatch, setting, minutes, signed_in):

    app = make_app(STAFF_IDLE_MINUTES=setting)
    create_staff(app, "officer@example.org", "officer")
    client = app.test_client()
    sign_in(client, "officer@example.org")
    later = clock.now() + dt.timedelta(minutes=minutes)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert (client.get("/staff").status_code == 200) is signed_in


def test_exit_this_page_leaves_a_member_of_staff_signed_in(app):
    create_staff(app, "officer@example.org", "officer")
    client = app.test_client()
    sign_in(client, "officer@example.org")
    assert client.get("/leave").status_code == 303
    assert client.get("/staff").status_code == 200


def test_sign_ins_wait_their_turn_to_check_a_password_and_are_told_when_it_is_busy(
    app, monkeypatch
):
    create_staff(app, "officer@example.org", "officer")
    monkeypatch.setattr(staff_service, "HASHING_WAIT", 0.05)
    held = [staff_service._hashing.acquire() for _ in range(staff_service.HASHING_AT_ONCE)]
    try:
        busy = sign_in(app.test_client(), "officer@example.org")
    finally:
        for _ in held:
            staff_service._hashing.release()
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "30"
    assert "Too many people are signing in at once" in words(busy)
    assert sign_in(app.test_client(), "officer@example.org").status_code == 303


def test_no_password_key_or_token_reaches_the_logs_the_audit_log_or_later_pages(
    make_app, mail, demo, db_session, caplog
):
    caplog.set_level(logging.DEBUG)
    app = make_app(**mail.settings, **TWO_FACTOR)
    create_staff(app, "admin@example.org", "admin")
    admin = app.test_client()
    sign_in(admin, "admin@example.org")
    set_up_authenticator(admin)
    create_account(admin, "analyst@example.org", role="analyst")
    path = mail.mailbox.link_for("analyst@example.org")
    token = path.split("token=")[1]
    analyst = app.test_client()
    choose_password(analyst, path)
    sign_in(analyst, "analyst@example.org", NEW_PASSWORD)
    key_page = analyst.get("/staff/two-factor")
    key = page(key_page).select_one("#totp-key").get_text(strip=True)
    phone, codes = set_up_authenticator(analyst)
    pages = " ".join(
        analyst.get(p).get_data(as_text=True)
        for p in ("/staff", "/staff/account", "/staff/two-factor")
    ) + admin.get("/staff/admin/audit").get_data(as_text=True)
    secrets = [NEW_PASSWORD, PASSWORD, token, key.replace(" ", ""), key, *codes]
    logged = caplog.text
    stored = audit_text(db_session)
    mailed = " ".join(m.get_content() for m in mail.mailbox.messages)
    for secret in secrets:
        assert secret not in logged
        assert secret not in stored
        assert secret not in pages
        if secret != token:  # the email carries the link itself, and nothing else secret
            assert secret not in mailed
