"""A real SMTP server on loopback (aiosmtpd) that keeps every message it is sent, for the
tests of set-password emails. Nothing here is a mock: the app talks SMTP to it."""

from __future__ import annotations

import email
import email.policy
import re
import socket
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class Mailbox:
    """Keeps each message the server accepts, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def link_for(self, address: str) -> str:
        """The path and query of the set-password link in the last email to an address."""
        body = self.to(address)[-1].get_content()
        found = re.search(r"https?://[^/\s]+(/staff/set-password\?token=\S+)", body)
        assert found, body
        return found[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MailServer:
    """An SMTP server on a free loopback port, and the settings that point the app at it."""

    def __init__(self) -> None:
        self.mailbox = Mailbox()
        self.port = free_port()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> MailServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    @property
    def settings(self) -> dict:
        return {
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": self.port,
            "MAIL_SECURITY": "none",
            "MAIL_FROM": "survey@example.org",
        }
