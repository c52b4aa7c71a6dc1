"""Forms on staff pages (Flask-WTF: CSRF token and server-side validation)."""

from __future__ import annotations

import unicodedata

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, IntegerField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

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


class SignInForm(FlaskForm):
    email = StringField(
        "Email address",
        validators=[DataRequired("Enter your email address"), Length(max=254), plain_text],
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password"), Length(max=MAX_PASSWORD)]
    )


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
    opens_on = DateField("Open from (optional)", validators=[Optional()])
    closes_on = DateField("Close after (optional)", validators=[Optional()])
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
