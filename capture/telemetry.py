"""Game telemetry over localhost UDP: one JSON object per datagram, newline-terminated.

Fields the screen environment understands: ``score`` (number), ``done`` (bool), ``episode`` (int, changes
when the game restarts); games add more (``speed``, ``lap``, ``progress``, ...), which are passed through as
``info``. Both ends live here so the format is defined once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import socket
from typing import Any, TypeGuard

from capture.errors import PixelpilotError

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
MAX_DATAGRAM = 65507


def is_number(value: Any) -> TypeGuard[int | float]:
    """Whether a telemetry field holds a usable number (JSON booleans are not numbers here)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class TelemetrySender:
    """The game's end: fire-and-forget datagrams (a game must never block on its telemetry)."""

    def __init__(self, port: int, host: str = HOST) -> None:
        check_port(port)
        self._addr = (host, port)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setblocking(False)

    def send(self, **fields: Any) -> None:
        data = (json.dumps(fields, separators=(",", ":")) + "\n").encode()
        # Nobody listening, or the buffer is full: telemetry is best-effort, a game must not stall on it.
        with contextlib.suppress(BlockingIOError, ConnectionRefusedError):
            self._sock.sendto(data, self._addr)

    def close(self) -> None:
        self._sock.close()


class TelemetryReceiver:
    """The agent's end: a non-blocking socket bound on localhost, drained on demand."""

    def __init__(self, port: int, host: str = HOST) -> None:
        check_port(port)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._sock.bind((host, port))
        except OSError as exc:
            self._sock.close()
            raise PixelpilotError(f"cannot listen for telemetry on {host}:{port}: {exc.strerror}") from exc
        self._sock.setblocking(False)
        self.port = self._sock.getsockname()[1]
        self.malformed = 0

    def drain(self) -> list[dict[str, Any]]:
        """Every message that arrived since the last call, oldest first."""
        messages: list[dict[str, Any]] = []
        while True:
            try:
                data = self._sock.recv(MAX_DATAGRAM)
            except BlockingIOError:
                return messages
            for line in data.splitlines():
                try:
                    msg = json.loads(line)
                except ValueError:
                    msg = None
                if isinstance(msg, dict):
                    messages.append(msg)
                else:
                    self.malformed += 1
                    if self.malformed == 1:
                        log.warning("ignoring malformed telemetry datagram %r", line[:80])

    def close(self) -> None:
        self._sock.close()


def check_port(port: int) -> None:
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise ValueError(f"telemetry port must be an integer in 0..65535, got {port!r}")
