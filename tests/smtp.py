"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import email
import time
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10.0, to: str | None = None) -> list[Message]:
        """The messages (to one address, when given: the outbox is shared by every test of a
        run, so other tests' leftovers may arrive too), once there are `count` of them."""
        deadline = time.monotonic() + timeout
        while len(self._to(to)) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self._to(to)

    def _to(self, address: str | None) -> list[Message]:
        if address is None:
            return list(self.messages)
        return [m for m in self.messages if str(m["To"]).casefold() == address.casefold()]


def smtp_server(inbox: Inbox, port: int) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


def text_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text part")


def smtp_mail(port: int) -> dict[str, object]:
    """The `[mail]` settings that send to the loopback SMTP server on `port`, quickly."""
    return {
        "transport": "smtp",
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "poll_seconds": 0.2,
        "retry_base_seconds": 1,
    }
