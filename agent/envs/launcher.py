"""Starting a game from its profile and waiting for its window; stopping it with everything it started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence

from capture.errors import PixelpilotError, WindowNotFoundError
from capture.windows import WindowBackend, WindowInfo, default_backend, find_window


def free_port(kind: socket.SocketKind = socket.SOCK_DGRAM) -> int:
    """A local port free right now (UDP by default, as telemetry uses; ``SOCK_STREAM`` for TCP), for a program
    about to be started on it: a game's telemetry, TensorBoard."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GameProcess:
    """A game started in its own process group, so stopping it also stops anything it spawned. The control panel
    runs TensorBoard the same way (``what`` names the program in messages)."""

    def __init__(self, command: Sequence[str], env: dict[str, str] | None = None, what: str = "the game") -> None:
        if not command:
            raise PixelpilotError("no launch command: the profile has no 'launch' list")
        self.command = list(command)
        self.what = what
        # stderr goes to a file, not a pipe: nobody reads a pipe while the game runs, and a full one blocks it.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the game; stop() closes it
        try:
            self.proc = subprocess.Popen(
                self.command, env=env, stdout=subprocess.DEVNULL, stderr=self._stderr, start_new_session=True
            )
        except OSError as exc:
            self._stderr.close()
            raise PixelpilotError(f"cannot launch {what} {self.command[0]!r}: {exc.strerror}") from exc

    def exited(self) -> str | None:
        """None while running; else a description of how it ended, with the last line it wrote to stderr."""
        code = self.proc.poll()
        if code is None:
            return None
        self._stderr.seek(0)
        err = self._stderr.read().decode(errors="replace").strip().splitlines()
        return f"{self.what} exited with code {code}" + (f": {err[-1]}" if err else "")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the game's whole process group: SIGTERM, then SIGKILL after ``timeout`` seconds."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        self._stderr.close()


def wait_for_window(
    title: str, timeout: float, game: GameProcess | None = None, backend: WindowBackend | None = None
) -> WindowInfo:
    """Poll for the window until it appears; fails early if the game process dies first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return find_window(title, backend or default_backend())
        except WindowNotFoundError:
            if game is not None and (how := game.exited()):
                raise PixelpilotError(f"{how} before its window {title!r} appeared") from None
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.1)
