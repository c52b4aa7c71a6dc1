"""Database tables.

Response-side tables (responses, answers, text_answers) hold nothing that could identify
a resident: no address, user agent, referrer, cookie or draft id, no time of day and no
staff id. Response ids are random so insertion order cannot be recovered.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID_LENGTH = 64  # characters in questionnaire and question ids
VALUE_LENGTH = 64  # characters in a closed answer's stored value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def random_response_id() -> str:
    """Return a random id, so ids say nothing about when a response arrived."""
    return secrets.token_hex(16)


def random_record_key() -> int:
    """Return a record key for cell-key perturbation: random, 0 to 255."""
    return secrets.randbelow(256)


class QuestionnaireVersion(Base):
    """One loaded version of a questionnaire file, kept verbatim and never changed."""

    __tablename__ = "questionnaire_versions"
    __table_args__ = (UniqueConstraint("questionnaire_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    questionnaire_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    content_sha256: Mapped[str] = mapped_column(String(64))
    # Read only when a process first meets this version: every resident page loads the row.
    source: Mapped[str] = mapped_column(Text, deferred=True)
    loaded_on: Mapped[dt.date] = mapped_column(Date)


class StaffUser(Base):
    """A member of staff: admin, officer or analyst. Never a resident."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # An authenticator app (TOTP, RFC 6238): the shared secret, when it was confirmed
    # (None while enrolment is unfinished) and the last time step used, so no code works twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enrolled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    # The administrator who was shown the link this account's password was chosen through
    # (no mail configured), so they could have chosen it: that administrator's releases may
    # not be approved under this account. None when the link went by email.
    password_link_seen_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)

    @property
    def has_second_factor(self) -> bool:
        return self.totp_enrolled_at is not None


class PasswordLink(Base):
    """A single-use link to choose a password, kept only as a hash of its token."""

    __tablename__ = "password_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    emailed: Mapped[bool] = mapped_column(Boolean, default=False)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[StaffUser] = relationship(foreign_keys=[user_id])


class RecoveryCode(Base):
    """One of an account's single-use recovery codes, kept only as a hash."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class StaffSession(Base):
    """A signed-in staff session, kept server-side so sign-out really revokes it."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # "full" once signed in; "code" while the authenticator code is still to come;
    # "enrol" while an account that must have a second factor sets one up.
    stage: Mapped[str] = mapped_column(String(8), default="full", server_default="full")
    # A short description of the browser, so the account page can tell sessions apart.
    browser: Mapped[str] = mapped_column(String(80), default="", server_default="")

    user: Mapped[StaffUser] = relationship()


class Job(Base):
    """Staff work too heavy for a web request (preparing or approving a release), done by a
    worker: what was asked, where it stands, and its result or why it failed."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="queued")  # running, done, failed
    progress: Mapped[str] = mapped_column(String(200), default="")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Written every few seconds while it runs: a job whose worker died stops beating.
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEvent(Base):
    """A staff action. Staff identities may be recorded here; residents' never are."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    actor_email: Mapped[str | None] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")


class PopulationSet(Base):
    """One uploaded version of the population figures used for coverage and weighting."""

    __tablename__ = "population_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    label: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    figures: Mapped[list[PopulationFigure]] = relationship(
        back_populates="population_set", cascade="all, delete-orphan"
    )


class PopulationFigure(Base):
    __tablename__ = "population_figures"

    set_id: Mapped[int] = mapped_column(ForeignKey("population_sets.id"), primary_key=True)
    variable: Mapped[str] = mapped_column(String(32), primary_key=True)
    category: Mapped[str] = mapped_column(String(VALUE_LENGTH * 2 + 1), primary_key=True)
    population: Mapped[int] = mapped_column(Integer)

    population_set: Mapped[PopulationSet] = relationship(back_populates="figures")


class Link(Base):
    """A distribution link residents open: where a response came from, nothing more."""

    __tablename__ = "links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    questionnaire_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    channel: Mapped[str] = mapped_column(String(32), default="other")
    # Where the link is distributed, for coverage by link. Never the resident's borough:
    # every resident is asked where they live.
    distribution_borough: Mapped[str | None] = mapped_column(String(9))
    opens_on: Mapped[dt.date | None] = mapped_column(Date)
    closes_on: Mapped[dt.date | None] = mapped_column(Date)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    cap: Mapped[int | None] = mapped_column(Integer)
    completed_count: Mapped[int] = mapped_column(Integer, default=0)
    one_per_browser: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    created_on: Mapped[dt.date | None] = mapped_column(Date)
    # Synthetic demo responses come through links marked here, so reports can say so.
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


class Draft(Base):
    """Answers in progress, keyed by a hash of a random cookie token; deleted on submit.

    Not a response table: it expires within a day and is gone once the resident submits,
    so its expiry time can never be joined to a stored response.
    """

    __tablename__ = "drafts"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    questionnaire_version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"))
    link_id: Mapped[int] = mapped_column(ForeignKey("links.id"))
    language: Mapped[str] = mapped_column(String(16))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    submit_token: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)

    questionnaire_version: Mapped[QuestionnaireVersion] = relationship()
    link: Mapped[Link] = relationship()


class SpentSubmissionToken(Base):
    """A used one-time submission token, so a repeated submit stores nothing twice.

    Holds only a hash of the token and a date; nothing joins it to a response.
    """

    __tablename__ = "spent_submission_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    spent_on: Mapped[dt.date] = mapped_column(Date)


class Response(Base):
    """One completed questionnaire."""

    __tablename__ = "responses"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_response_id)
    questionnaire_version_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaire_versions.id"), index=True
    )
    link_id: Mapped[int] = mapped_column(ForeignKey("links.id"), index=True)
    language: Mapped[str] = mapped_column(String(16))
    submitted_on: Mapped[dt.date] = mapped_column(Date, index=True)
    # True for responses stored before residents on fixed-borough links were asked where
    # they live: their borough answer is the link's, not the resident's.
    borough_from_link: Mapped[bool] = mapped_column(Boolean, default=False)
    # Random, 0 to 255: a cell's key for perturbing its published count is the sum of its
    # respondents' keys. Never exported, never derived from anything about the resident.
    record_key: Mapped[int] = mapped_column(SmallInteger, default=random_record_key)

    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )
    text_answers: Mapped[list[TextAnswer]] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )


class Answer(Base):
    """One closed answer: a chosen option, a scale point or a whole number.

    A multiple-choice question has one row per chosen option.
    """

    __tablename__ = "answers"

    response_id: Mapped[str] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    value: Mapped[str] = mapped_column(String(VALUE_LENGTH), primary_key=True)

    response: Mapped[Response] = relationship(back_populates="answers")


class TextAnswer(Base):
    """A free-text answer, scrubbed of contact details before it is stored."""

    __tablename__ = "text_answers"

    response_id: Mapped[str] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    text: Mapped[str] = mapped_column(Text)

    response: Mapped[Response] = relationship(back_populates="text_answers")


class Release(Base):
    """Published results for residents ("What London told us"): chosen figures for one
    period, frozen once approved. A correction is a new release pointing at the old one.

    Staff-side: it names who prepared and approved it. Its snapshot holds only what the
    public pages show, every count already through the public gate.
    """

    __tablename__ = "releases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    questionnaire_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    period: Mapped[str] = mapped_column(String(16))  # "2026-Q3" or "2026"
    indicators: Mapped[list[str]] = mapped_column(JSON)
    breakdowns: Mapped[list[str]] = mapped_column(JSON)
    commentary: Mapped[str] = mapped_column(Text, default="")
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("releases.id"))
    correction_note: Mapped[str] = mapped_column(Text, default="")  # what changed and why
    prepared_by: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    prepared_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # Everyone who prepared or revised it (staff ids): none of them may approve it.
    contributors: Mapped[list[int]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    publish_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    problems: Mapped[list[str]] = mapped_column(JSON)  # why it cannot be approved

    corrects: Mapped[Release | None] = relationship(remote_side=[id])
    preparer: Mapped[StaffUser] = relationship(foreign_keys=[prepared_by])
    approver: Mapped[StaffUser | None] = relationship(foreign_keys=[approved_by])


RESPONSE_TABLES = ("responses", "answers", "text_answers")
