"""A real local SMTP server (aiosmtpd) that records which order emails it accepted, and when.

Each accepted message is recorded with its ``X-Order-Number`` / ``X-Order-Email`` headers
and the wall-clock time the server accepted it. ``stall_rcpt`` makes the server hang in
the middle of a conversation (after RCPT TO, before the message data) until ``release``
is called: a delivery caught there has not handed its email over yet.
Used by the worker-kill test and by ``bench/delivery.py``.
"""

from __future__ import annotations

import asyncio
import email
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller


@dataclass
class Accepted:
    order_number: str
    kind: str
    to: list[str]
    at: float  # time.time() when the server accepted the message
    subject: str


@dataclass
class SmtpSink:
    host: str = "127.0.0.1"
    port: int = 0
    accepted: list[Accepted] = field(default_factory=list)
    stall_rcpt: bool = False
    stalled: threading.Event = field(default_factory=threading.Event)
    _released: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.stall_rcpt and not self._released.is_set():
            self.stalled.set()
            # wait for release() (an event, in a thread: the server's loop keeps running)
            await asyncio.to_thread(self._released.wait, 300)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    log_path: str = ""  # also append "order_number kind time" lines here (another process)
    # Called (in a thread of its own) while the sender waits for the server's answer to
    # DATA, before the message is accepted; what it raises is kept in ``during_errors``.
    during_data: Callable[[], None] | None = None
    during_errors: list[BaseException] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        if self.during_data is not None:
            try:
                await asyncio.to_thread(self.during_data)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                self.during_errors.append(exc)
        now = time.time()
        message = email.message_from_bytes(envelope.content)
        accepted = Accepted(
            order_number=message.get("X-Order-Number", ""),
            kind=message.get("X-Order-Email", ""),
            to=list(envelope.rcpt_tos),
            at=now,
            subject=str(message.get("Subject", "")),
        )
        with self._lock:
            self.accepted.append(accepted)
            if self.log_path:
                with open(self.log_path, "a", encoding="utf-8") as log:
                    log.write(f"{accepted.order_number}\t{accepted.kind}\t{now:.6f}\n")
        return "250 Message accepted for delivery"

    def release(self) -> None:
        self._released.set()

    def start(self) -> SmtpSink:
        if not self.port:
            import socket

            with socket.socket() as probe:
                probe.bind((self.host, 0))
                self.port = probe.getsockname()[1]
        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        self.release()
        self._controller.stop()

    def for_order(self, number: str, kind: str = "delivery") -> list[Accepted]:
        with self._lock:
            return [a for a in self.accepted if a.order_number == number and a.kind == kind]


def accepted_read(path: str) -> list[Accepted]:
    """The messages a sink running in another process logged to ``path``."""
    found = []
    with open(path, encoding="utf-8") as log:
        for line in log:
            number, kind, at = line.rstrip("\n").split("\t")
            found.append(Accepted(order_number=number, kind=kind, to=[], at=float(at), subject=""))
    return found


if __name__ == "__main__":  # python tests/orders/smtp_sink.py PORT LOGFILE
    import sys

    sink = SmtpSink(port=int(sys.argv[1]), log_path=sys.argv[2]).start()
    print(f"smtp on {sink.host}:{sink.port}", flush=True)
    threading.Event().wait()
