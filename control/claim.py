"""One driver per window: a process claims a window before sending it keys, so two agents (a play session and
a training run, say) never fight over the same game.

The claim is an exclusive ``flock`` on a file named for the X display and the window; the kernel drops it when
the process ends, however it ends, so a crash never leaves a window claimed.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
from pathlib import Path

from capture.errors import WindowBusyError


class WindowClaim:
    """Held while a process sends keys to one window; ``release()`` (or the process ending) gives it up."""

    def __init__(self, display: str, handle: int, title: str) -> None:
        folder = Path(tempfile.gettempdir()) / f"pixelpilot-{os.getuid()}"
        folder.mkdir(mode=0o700, exist_ok=True)
        self.path = folder / f"{re.sub(r'[^A-Za-z0-9.]', '_', display)}-{handle:x}.lock"
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(self._fd, 64).decode(errors="replace").strip() or "?"
            os.close(self._fd)
            self._fd = None
            raise WindowBusyError(
                f"window {title!r} on display {display} is driven by another pixelpilot process (pid {holder}); "
                "stop that one first"
            ) from None
        os.ftruncate(self._fd, 0)
        os.write(self._fd, str(os.getpid()).encode())

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None

    def __enter__(self) -> WindowClaim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
