"""Email, for set-password links only: sent over SMTP when a server is configured.

Nothing is queued or retried behind anyone's back: a message that cannot be sent is an
error the administrator sees at once, and no link is left working that nobody received.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

SEND_TIMEOUT = 15  # seconds to reach and talk to the mail server


class MailError(RuntimeError):
    """The message could not be handed to the mail server; the text says why."""


def configured(config: Mapping[str, Any]) -> bool:
    return bool(config.get("MAIL_SERVER"))


def send(config: Mapping[str, Any], *, to: str, subject: str, body: str) -> None:
    """Hand one plain-text message to the configured SMTP server."""
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    host, port, security = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_SECURITY"]
    try:
        if security == "tls":
            client = smtplib.SMTP_SSL(
                host, port, timeout=SEND_TIMEOUT, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(host, port, timeout=SEND_TIMEOUT)
        with client:
            if security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):
                client.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise MailError(f"{type(error).__name__}: {error}") from None


def set_password_message(
    *, service: str, organisation: str, address: str, hours: int, new_account: bool
) -> tuple[str, str]:
    """The subject and body of a set-password email."""
    if new_account:
        subject = f"{service}: choose a password for your staff account"
        opening = f"An administrator at {organisation} has made you a staff account for {service}."
    else:
        subject = f"{service}: choose a new password"
        opening = (
            f"An administrator at {organisation} has reset the password of your staff "
            f"account for {service}."
        )
    body = (
        f"{opening}\n\n"
        f"Choose your password here:\n\n{address}\n\n"
        f"The link works once, for {hours} hours. If it has run out, ask an administrator "
        "for a new one.\n\n"
        "If you were not expecting this email, do not open the link and tell the survey's "
        "administrators.\n"
    )
    return subject, body
