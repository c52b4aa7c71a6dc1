"""Staff accounts, passwords and server-side sessions."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from survey import clock
from survey.models import StaffSession, StaffUser

ROLES = ("admin", "officer", "analyst")
MIN_PASSWORD = 12  # characters
MAX_PASSWORD = 1024  # characters; long passphrases and password managers are welcome
IDLE_LIMIT = dt.timedelta(minutes=30)
ABSOLUTE_LIMIT = dt.timedelta(hours=12)
TOUCH_EVERY = dt.timedelta(seconds=60)  # how stale last_seen may get before it is written

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
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
    """Return a strong random password to give to a new member of staff."""
    return secrets.token_urlsafe(18)


def create_user(session: Session, email: str, role: str, password: str) -> StaffUser:
    """Create a staff account, checking the email, role and password."""
    email = checked_email(email)
    if role not in ROLES:
        raise AccountError(f"Role must be one of {', '.join(ROLES)}")
    if session.scalar(select(StaffUser).where(StaffUser.email == email)) is not None:
        raise AccountError("There is already an account with this email address")
    problem = password_problem(password, email)
    if problem:
        raise AccountError(problem)
    user = StaffUser(
        email=email,
        role=role,
        password_hash=_hasher.hash(password),
        active=True,
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    return user


def set_password(user: StaffUser, password: str) -> None:
    """Give an account a new password (checked against the policy)."""
    problem = password_problem(password, user.email)
    if problem:
        raise AccountError(problem)
    user.password_hash = _hasher.hash(password)


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


def authenticate(session: Session, email: str, password: str) -> StaffUser | None:
    """Return the active account for these credentials, or None.

    An unknown email costs the same hashing work as a wrong password.
    """
    user = session.scalar(select(StaffUser).where(StaffUser.email == normalise_email(email)))
    candidate = user.password_hash if user is not None else _dummy_hash()
    try:
        _hasher.verify(candidate, password[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user: StaffUser) -> str:
    """Open a new staff session and return the token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(
        StaffSession(
            token_hash=_hash_token(token), user_id=user.id, created_at=now, last_seen_at=now
        )
    )
    session.flush()
    return token


@dataclass(frozen=True)
class CurrentStaff:
    user: StaffUser
    token_hash: str
    needs_touch: bool


def find_session(session: Session, token: str | None) -> CurrentStaff | None:
    """Return the signed-in staff member for a token, or None if expired or revoked."""
    if not token:
        return None
    record = session.get(StaffSession, _hash_token(token))
    if record is None or record.revoked_at is not None or not record.user.active:
        return None
    now = clock.now()
    created, seen = _aware(record.created_at), _aware(record.last_seen_at)
    if now - seen > IDLE_LIMIT or now - created > ABSOLUTE_LIMIT:
        return None
    return CurrentStaff(record.user, record.token_hash, now - seen > TOUCH_EVERY)


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


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
