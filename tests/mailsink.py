"""A real SMTP server for the tests (aiosmtpd on a free loopback port) that keeps what it gets.

It can refuse the next messages with replies of choice (`refusals`, e.g. 451 or 421: "try
again later"; 554: "never"), or hold a message mid-DATA until told to let go, to cut a
sender off while it is sending.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from servers import free_port


class MailSink:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refusals: list[str] = []  # replies for the next messages, in order
        self.refused: list[str] = []  # the replies given
        self.hold = False
        self.holding = threading.Event()  # set while a message is held mid-DATA
        self._release = threading.Event()
        self._lock = threading.Lock()
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.hold:
            self.holding.set()
            while not self._release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 Held and dropped"
        with self._lock:
            if self.refusals:
                reply = self.refusals.pop(0)
                self.refused.append(reply)
                return reply
            message = message_from_bytes(envelope.content, policy=policy.default)
            assert isinstance(message, EmailMessage)
            message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
            self.messages.append(message)
        return "250 2.0.0 OK"

    def release(self) -> None:
        self.hold = False
        self._release.set()

    def wait_for(
        self, count: int, timeout: float = 30, what: Callable[[], str] | None = None
    ) -> list[EmailMessage]:
        """Wait until at least `count` messages arrived; fail with `what()` on timeout."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                detail = what() if what else ""
                raise AssertionError(
                    f"{len(self.messages)} of {count} mail(s) after {timeout}s\n{detail}"
                )
            time.sleep(0.05)
        return list(self.messages)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["X-Envelope-To"] == address]


@contextmanager
def mail_sink() -> Iterator[MailSink]:
    sink = MailSink()
    sink.port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        sink.release()
        controller.stop()
