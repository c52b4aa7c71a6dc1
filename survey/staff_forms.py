"""Forms on staff pages (Flask-WTF: CSRF token and server-side validation)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import Field
from wtforms.fields.choices import SelectChoice
from wtforms.utils import unset_value
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from survey.clock import london_moment
from survey.digits import DATE_PART_KEPT, date_from_parts
from survey.geography import LONDON_AUTHORITIES
from survey.services.links import CHANNELS, MAX_CAP
from survey.services.staff import MAX_PASSWORD, ROLES

NO_BOROUGH = "none"


def plain_text(form, field) -> None:
    """Refuse control characters and keep text NFC-normalised, as for residents."""
    if field.data is None:
        return
    value = unicodedata.normalize("NFC", field.data).strip()
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValidationError("Remove hidden control characters such as line breaks")
    field.data = value


DATE_PARTS = ("day", "month", "year")


class DateInputField(Field):
    """A date as the GOV.UK date input asks for it: day, month and year boxes named
    `<name>-day`, `<name>-month` and `<name>-year`. Empty is None; a part that is not a
    number, or a date that does not exist, is an error that keeps what was typed."""

    def process(self, formdata, data=unset_value, extra_filters=None) -> None:
        self.process_errors = []
        self.raw_data = []
        if data is unset_value:
            data = self.default() if callable(self.default) else self.default
        self.object_data = self.data = data
        self.parts = dict.fromkeys(DATE_PARTS, "")
        if data:
            self.parts = {"day": str(data.day), "month": str(data.month), "year": str(data.year)}
        if formdata is None:
            return
        self.parts = {
            p: (formdata.get(f"{self.name}-{p}") or "").strip()[:DATE_PART_KEPT] for p in DATE_PARTS
        }
        self.data = None
        if not any(self.parts.values()):
            return
        self.raw_data = [" ".join(self.parts.values())]
        self.data = date_from_parts(self.parts["day"], self.parts["month"], self.parts["year"])
        if self.data is None:
            self.process_errors.append(f"{self.label.text} must be a real date, like 27 3 2026")

    def _value(self) -> str:
        return self.raw_data[0] if self.raw_data else ""


class SignInForm(FlaskForm):
    email = StringField(
        "Email address",
        validators=[DataRequired("Enter your email address"), Length(max=254), plain_text],
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password"), Length(max=MAX_PASSWORD)]
    )


class CodeForm(FlaskForm):
    code = StringField(
        "Code",
        validators=[
            DataRequired("Enter the code from your authenticator app, or a recovery code"),
            Length(max=32),
            plain_text,
        ],
    )


def _new_password_fields():
    return (
        PasswordField(
            "New password",
            validators=[DataRequired("Enter a new password"), Length(max=MAX_PASSWORD)],
        ),
        PasswordField(
            "Type the new password again",
            validators=[DataRequired("Type the new password again"), Length(max=MAX_PASSWORD)],
        ),
    )


def _matching(form, field) -> None:
    if form.password.data and field.data != form.password.data:
        raise ValidationError("The passwords do not match")


class NewPasswordForm(FlaskForm):
    """Choosing a password through a set-password link."""

    password, confirm = _new_password_fields()
    validate_confirm = _matching


class ChangePasswordForm(FlaskForm):
    """Changing one's own password."""

    current = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password"), Length(max=MAX_PASSWORD)],
    )
    password, confirm = _new_password_fields()
    validate_confirm = _matching


class LinkForm(FlaskForm):
    label = StringField(
        "Name of the event, place or campaign",
        validators=[
            DataRequired("Enter a name for the link"),
            Length(max=120, message="Name must be 120 characters or fewer"),
            plain_text,
        ],
    )
    channel = SelectField(
        "Channel", choices=[SelectChoice(value, label) for value, label in CHANNELS.items()]
    )
    borough = SelectField(
        "Borough where the link is used",
        choices=[
            SelectChoice(NO_BOROUGH, "Not one borough (online, or across London)"),
            *(SelectChoice(code, name) for code, name in LONDON_AUTHORITIES),
        ],
    )
    opens_on = DateInputField("Open from (optional)")
    closes_on = DateInputField("Close after (optional)")
    cap = IntegerField(
        "Most responses to accept (optional)",
        validators=[
            Optional(),
            NumberRange(min=1, max=MAX_CAP, message=f"Enter a whole number from 1 to {MAX_CAP:,}"),
        ],
    )
    slug = StringField(
        "Custom address (optional)", validators=[Optional(), Length(max=40), plain_text]
    )
    one_per_browser = BooleanField("Remember on each device that the survey was completed")


class NewUserForm(FlaskForm):
    email = StringField(
        "Email address",
        validators=[DataRequired("Enter an email address"), Length(max=254), plain_text],
    )
    role = SelectField("Role", choices=[SelectChoice(r, r.capitalize()) for r in ROLES])


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class PopulationForm(FlaskForm):
    label = StringField(
        "Description of the figures",
        validators=[
            DataRequired("Describe where the figures come from"),
            Length(max=200),
            plain_text,
        ],
    )
    figures = FileField("Population figures (CSV)")


def plain_paragraphs(form, field) -> None:
    """As plain_text, but line breaks between paragraphs are kept (as \\n)."""
    if field.data is None:
        return
    value = unicodedata.normalize("NFC", field.data).replace("\r\n", "\n").replace("\r", "\n")
    if any(unicodedata.category(ch) == "Cc" and ch != "\n" for ch in value):
        raise ValidationError("Remove hidden control characters such as tabs")
    field.data = value.strip()


class ReleaseForm(FlaskForm):
    period = SelectField("Period", validate_choice=True)
    indicators = SelectMultipleField(
        "Indicators to publish", validators=[DataRequired("Choose at least one indicator")]
    )
    breakdowns = SelectMultipleField(
        "Groups to publish figures for",
        validators=[DataRequired("Choose at least one breakdown")],
    )
    commentary = TextAreaField(
        "Commentary",
        validators=[
            Length(max=2000, message="The commentary must be 2,000 characters or fewer"),
            plain_paragraphs,
        ],
    )
    correction_note = TextAreaField(
        "What this correction changes, and why",
        validators=[Length(max=1000), plain_paragraphs],
    )


class ApproveForm(FlaskForm):
    """When to publish: now, or a London date (GOV.UK date input) and time."""

    when = RadioField(
        "When should it be published?",
        choices=[SelectChoice("now", "Now"), SelectChoice("later", "At a date and time")],
        validators=[DataRequired("Choose when to publish")],
    )
    publish_on = DateInputField("The date")
    time = StringField("Time", validators=[Optional(), Length(max=5)])
    # The release's digest when the approver opened it (releases.digest).
    seen = HiddenField()

    def publish_at(self, now: dt.datetime) -> dt.datetime | None:
        """The time chosen, in UTC; None with an error on the form if it is not one."""
        if self.when.data == "now":
            return now
        if self.publish_on.data is None:
            if not self.publish_on.errors:
                self.publish_on.errors = ["Enter the date to publish, as day, month and year"]
            return None
        match = re.fullmatch(r"([01]?[0-9]|2[0-3])[:.]([0-5][0-9])", (self.time.data or "").strip())
        if match is None:
            self.time.errors = [
                "Enter the time as hours and minutes on the 24-hour clock, like 09:30"
            ]
            return None
        moment, problem = london_moment(self.publish_on.data, dt.time(int(match[1]), int(match[2])))
        if problem:
            self.time.errors = [problem]
            return None
        if moment.astimezone(dt.UTC) < now - dt.timedelta(minutes=1):
            self.publish_on.errors = ["Choose a date and time from now on, or publish now"]
            return None
        return moment.astimezone(dt.UTC)
