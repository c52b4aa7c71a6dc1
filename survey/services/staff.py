"""Staff accounts, passwords and server-side sessions."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from typing import Protocol

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from survey import clock
from survey.models import PasswordLink, RecoveryCode, StaffSession, StaffUser

ROLES = ("admin", "officer", "analyst")
MIN_PASSWORD = 12  # characters
MAX_PASSWORD = 1024  # characters; long passphrases and password managers are welcome
TOUCH_EVERY = dt.timedelta(seconds=60)  # how stale last_seen may get before it is written

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Password checks running at once in this process. Each costs about 64 MB and a core for a
# third of a second, so a burst of sign-ins (most of them failures) waits here instead of
# taking the memory and CPU residents' pages need.
HASHING_AT_ONCE = 2
HASHING_WAIT = 10  # seconds a sign-in waits for its turn before it is told to try later
_hashing = threading.BoundedSemaphore(HASHING_AT_ONCE)
_DUMMY_HASH = ""  # hashed at the first sign-in, so importing the app costs no hashing memory


def configure_hashing(*, time_cost: int, memory_cost: int, parallelism: int) -> None:
    """Set the argon2id cost (the test suite lowers it; production keeps the defaults)."""
    global _hasher, _DUMMY_HASH
    if (_hasher.time_cost, _hasher.memory_cost, _hasher.parallelism) != (
        time_cost,
        memory_cost,
        parallelism,
    ):
        _hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism
        )
        _DUMMY_HASH = ""


class AccountError(ValueError):
    """The request cannot be done; the message is shown on the form."""


def normalise_email(email: str) -> str:
    """The form accounts are kept and looked up in: the standard form where the address is
    valid (so a domain typed in punycode finds its account), else trimmed and lower-cased."""
    with contextlib.suppress(EmailNotValidError):
        email = validate_email(email.strip(), check_deliverability=False).normalized
    return email.strip().lower()


def checked_email(email: str) -> str:
    """Return the address in the form accounts keep it, or say why it is not an address.

    email-validator applies the standards (RFC 5321 and 5322, internationalised names)
    without looking the domain up: this machine may have no DNS."""
    try:
        valid = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise AccountError(
            f"Enter an email address in the correct format, like name@example.org ({error})"
        ) from None
    return valid.normalized.lower()


def password_problem(password: str, email: str = "") -> str | None:
    """Say what is wrong with a new password, or None if it is acceptable."""
    if len(password) < MIN_PASSWORD:
        return f"Password must be {MIN_PASSWORD} characters or more"
    if len(password) > MAX_PASSWORD:
        return f"Password must be {MAX_PASSWORD} characters or fewer"
    lowered = password.lower()
    common = common_passwords()
    if lowered in common or lowered.strip("0123456789!") in common:
        return "This password is too common. Choose a less predictable one"
    local = email.split("@")[0].lower()
    if len(local) >= 4 and local in lowered:
        return "Password must not contain your email address"
    return None


def generate_password() -> str:
    """Return a strong random password (the demo accounts' and `flask users create
    --generate`'s; staff made in the browser choose their own through a link)."""
    return secrets.token_urlsafe(18)


def create_user(session: Session, email: str, role: str, password: str | None = None) -> StaffUser:
    """Create a staff account, checking the email, role and password. Without a password
    nobody can sign in to it until its owner chooses one through a set-password link."""
    email = checked_email(email)
    if role not in ROLES:
        raise AccountError(f"Role must be one of {', '.join(ROLES)}")
    if session.scalar(select(StaffUser).where(StaffUser.email == email)) is not None:
        raise AccountError("There is already an account with this email address")
    user = StaffUser(email=email, role=role, password_hash="", active=True, created_at=clock.now())
    if password is not None:
        set_password(user, password)
    session.add(user)
    session.flush()
    return user


def set_password(user: StaffUser, password: str) -> None:
    """Give an account a new password (checked against the policy)."""
    problem = password_problem(password, user.email)
    if problem:
        raise AccountError(problem)
    user.password_hash = _hasher.hash(password)


def change_password(session: Session, user: StaffUser, current: str, new: str) -> None:
    """Change one's own password: the current one must be right; every session of the
    account ends (the caller starts a fresh one for the browser that asked)."""
    if not verify_password(user, current):
        raise WrongPassword("Your current password is not right")
    if hmac.compare_digest(current.encode(), new.encode()):
        raise AccountError("Choose a password different from your current one")
    set_password(user, new)
    revoke_all_sessions(session, user)


def verify_password(user: StaffUser, password: str) -> bool:
    with _hashing_turn():
        try:
            return _hasher.verify(user.password_hash, password[:MAX_PASSWORD])
        except (VerificationError, InvalidHashError):
            return False


class WrongPassword(AccountError):
    """The current password given to change it is not the account's."""


class TooManyFailures(RuntimeError):
    """The sign-in's failure limits were reached while it waited to be checked."""


class Busy(RuntimeError):
    """Too many password checks are waiting: the sign-in should be tried again shortly."""


@contextlib.contextmanager
def _hashing_turn():
    if not _hashing.acquire(timeout=HASHING_WAIT):
        raise Busy("Too many sign-ins at once")
    try:
        yield
    finally:
        _hashing.release()


@functools.cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords (zxcvbn's list), loaded at the first check."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def _dummy_hash() -> str:
    """A hash of a random password, so an unknown email costs a real verification."""
    global _DUMMY_HASH
    if not _DUMMY_HASH:
        _DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
    return _DUMMY_HASH


class FailureLimits(Protocol):
    """A sign-in's failure limits, asked and counted inside its turn to hash, so sign-ins
    that arrive together cannot all slip past them."""

    def may_try(self) -> bool: ...

    def failed(self) -> None: ...


def authenticate(
    session: Session, email: str, password: str, limits: FailureLimits | None = None
) -> StaffUser | None:
    """Return the active account for these credentials, or None.

    An unknown email costs the same hashing work as a wrong password. With `limits`, once
    this request's turn to hash comes (it may have waited for it), TooManyFailures is raised
    without hashing when they are used up, and a failure is counted before the turn ends.
    """
    user = session.scalar(select(StaffUser).where(StaffUser.email == normalise_email(email)))
    candidate = user.password_hash if user is not None and user.has_password else _dummy_hash()
    with _hashing_turn():
        if limits is not None and not limits.may_try():
            raise TooManyFailures("Too many failed sign-ins")
        try:
            right = _hasher.verify(candidate, password[:MAX_PASSWORD])
        except (VerificationError, InvalidHashError):
            right = False
        signed_in = right and user is not None and user.active and user.has_password
        if not signed_in and limits is not None:
            limits.failed()
    if not signed_in:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


STAGES = ("full", "code", "enrol")


def start_session(
    session: Session, user: StaffUser, *, stage: str = "full", browser: str = ""
) -> str:
    """Open a new staff session and return the token for the cookie. A session at the
    "code" or "enrol" stage opens no staff page: only the second-factor steps."""
    assert stage in STAGES
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(
        StaffSession(
            token_hash=_hash_token(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            stage=stage,
            browser=browser[:80],
        )
    )
    session.flush()
    return token


def promote_session(session: Session, token: str, user: StaffUser, browser: str = "") -> str:
    """Swap a session for a fully signed-in one with a new token (the privilege changed)."""
    revoke_session(session, token)
    return start_session(session, user, browser=browser)


@dataclass(frozen=True)
class SessionLimits:
    idle: dt.timedelta
    lifetime: dt.timedelta

    @classmethod
    def from_config(cls, config) -> SessionLimits:
        return cls(
            idle=dt.timedelta(minutes=config["STAFF_IDLE_MINUTES"]),
            lifetime=dt.timedelta(hours=config["STAFF_SESSION_HOURS"]),
        )


@dataclass(frozen=True)
class CurrentStaff:
    user: StaffUser
    token_hash: str
    needs_touch: bool
    stage: str


def find_session(session: Session, token: str | None, limits: SessionLimits) -> CurrentStaff | None:
    """Return the staff member a token belongs to, or None if expired or revoked."""
    if not token:
        return None
    record = session.get(StaffSession, _hash_token(token))
    if record is None or record.revoked_at is not None or not record.user.active:
        return None
    now = clock.now()
    created, seen = clock.stored(record.created_at), clock.stored(record.last_seen_at)
    if now - seen > limits.idle or now - created > limits.lifetime:
        return None
    return CurrentStaff(record.user, record.token_hash, now - seen > TOUCH_EVERY, record.stage)


def open_sessions(session: Session, user: StaffUser, limits: SessionLimits) -> list[StaffSession]:
    """An account's signed-in sessions that have not ended, most recently used first."""
    now = clock.now()
    records = session.scalars(
        select(StaffSession)
        .where(
            StaffSession.user_id == user.id,
            StaffSession.revoked_at.is_(None),
            StaffSession.stage == "full",
        )
        .order_by(StaffSession.last_seen_at.desc())
    )
    return [
        record
        for record in records
        if now - clock.stored(record.last_seen_at) <= limits.idle
        and now - clock.stored(record.created_at) <= limits.lifetime
    ]


def token_hash(token: str | None) -> str:
    return _hash_token(token or "")


def touch_session(session: Session, token_hash: str) -> None:
    """Record activity, which keeps an idle session alive."""
    session.execute(
        update(StaffSession)
        .where(StaffSession.token_hash == token_hash)
        .values(last_seen_at=clock.now())
    )


def revoke_session(session: Session, token: str | None) -> None:
    """End a session for good: its cookie no longer works anywhere."""
    if token:
        session.execute(
            update(StaffSession)
            .where(StaffSession.token_hash == _hash_token(token))
            .values(revoked_at=clock.now())
        )


def revoke_all_sessions(session: Session, user: StaffUser) -> None:
    """End every session of an account (after a disable or a password reset)."""
    session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user.id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )


def list_users(session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.email)))


# --- Set-password links -----------------------------------------------------------------


def issue_password_link(
    session: Session, user: StaffUser, *, by: StaffUser | None, hours: int, emailed: bool
) -> str:
    """Make a single-use link for the account's owner to choose a password, and return its
    token (kept only as a hash). Any earlier link for the account stops working."""
    now = clock.now()
    session.execute(
        delete(PasswordLink).where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None))
    )
    token = secrets.token_urlsafe(32)
    session.add(
        PasswordLink(
            token_hash=_hash_token(token),
            user_id=user.id,
            created_by=by.id if by is not None else None,
            created_at=now,
            expires_at=now + dt.timedelta(hours=hours),
            emailed=emailed,
        )
    )
    session.flush()
    return token


def password_link(session: Session, hashed: str | None) -> tuple[PasswordLink | None, str | None]:
    """The link a token (by its hash) opens, and None; or None and why it opens nothing:
    "used", "expired" or "unknown" (never made, replaced, or its account disabled)."""
    link = None
    if hashed:
        link = session.scalar(select(PasswordLink).where(PasswordLink.token_hash == hashed))
    if link is None or not link.user.active:
        return None, "unknown"
    if link.used_at is not None:
        return None, "used"
    if clock.stored(link.expires_at) <= clock.now():
        return None, "expired"
    return link, None


def use_password_link(session: Session, link: PasswordLink, password: str) -> StaffUser:
    """Set the password the link's owner chose, spend the link and end the account's
    sessions. An administrator who was shown the link (no mail) is remembered, since they
    could have chosen the password themselves."""
    user = link.user
    set_password(user, password)
    spent = session.execute(
        update(PasswordLink)
        .where(PasswordLink.id == link.id, PasswordLink.used_at.is_(None))
        .values(used_at=clock.now())
    )
    if spent.rowcount != 1:  # the same link used twice at once: only one wins
        raise AccountError("This link has already been used")
    user.password_link_seen_by = None if link.emailed else link.created_by
    revoke_all_sessions(session, user)
    return user


# --- Second factor: an authenticator app (TOTP, RFC 6238) and recovery codes -------------

TOTP_STEP = 30  # seconds each code lasts
TOTP_DRIFT = 1  # steps either side accepted, for a phone's clock a little out
RECOVERY_CODES = 10


def begin_enrolment(user: StaffUser) -> str:
    """Give the account a new, unconfirmed authenticator secret and return it."""
    user.totp_secret = pyotp.random_base32()
    user.totp_enrolled_at = None
    user.totp_last_step = None
    return user.totp_secret


def provisioning_uri(user: StaffUser, issuer: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=issuer)


def check_code(session: Session, user: StaffUser, code: str) -> bool:
    """Whether a 6-digit code from the account's authenticator is right now. Each code
    works once (RFC 6238, 5.2): a code for a step at or before the last one used is
    refused, and of two requests sending the same code at once only one succeeds."""
    code = "".join(code.split())
    if not user.totp_secret or len(code) != 6 or not code.isascii() or not code.isdigit():
        return False
    totp = pyotp.TOTP(user.totp_secret, interval=TOTP_STEP)
    current = int(clock.now().timestamp()) // TOTP_STEP
    for step in range(current - TOTP_DRIFT, current + TOTP_DRIFT + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue
        if hmac.compare_digest(totp.at(step * TOTP_STEP), code):
            claimed = session.execute(
                update(StaffUser)
                .where(
                    StaffUser.id == user.id,
                    (StaffUser.totp_last_step.is_(None)) | (StaffUser.totp_last_step < step),
                )
                .values(totp_last_step=step)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:
                return False
            set_committed_value(user, "totp_last_step", step)
            return True
    return False


def current_code(user: StaffUser) -> str:
    """The code the account's authenticator shows now (the demo's `flask users code`)."""
    return pyotp.TOTP(user.totp_secret, interval=TOTP_STEP).at(clock.now().timestamp())


def confirm_enrolment(session: Session, user: StaffUser, code: str) -> list[str]:
    """Finish setting up the authenticator with a code from it; return new recovery codes
    (shown once)."""
    if not check_code(session, user, code):
        raise AccountError("Enter the 6-digit code your authenticator app shows now")
    user.totp_enrolled_at = clock.now()
    return new_recovery_codes(session, user)


def reset_second_factor(session: Session, user: StaffUser) -> None:
    """Remove an account's authenticator and recovery codes, and end its sessions: its
    owner sets up a new one at their next sign-in."""
    user.totp_secret = None
    user.totp_enrolled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    revoke_all_sessions(session, user)


def _normal_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def new_recovery_codes(session: Session, user: StaffUser) -> list[str]:
    """Replace the account's recovery codes with ten new ones, returned to show once."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()[:10]  # 50 bits
        codes.append(f"{raw[:5]}-{raw[5:]}")
        session.add(RecoveryCode(user_id=user.id, code_hash=_hash_token(_normal_code(raw))))
    session.flush()
    return codes


def use_recovery_code(session: Session, user: StaffUser, code: str) -> bool:
    """Spend one recovery code in place of an authenticator code; False if it is not one
    of the account's unused codes."""
    normal = _normal_code(code)
    if len(normal) != 10:
        return False
    spent = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash_token(normal),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=clock.now())
    )
    return spent.rowcount == 1


def recovery_codes_left(session: Session, user: StaffUser) -> int:
    return len(
        session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )
