"""Grabbing a window's client area with mss, following it when it moves or is resized.

mss keeps per-thread X resources, so a grabber opens its ``mss.MSS()`` in the first thread that grabs and
refuses to be used from another one. The window's rectangle is asked for on every grab (two X round trips,
a fraction of a millisecond), so a moved or resized window is captured correctly from the next frame on.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from capture.errors import WindowMinimizedError
from capture.windows import Rect, WindowBackend, default_backend


class WindowGrabber:
    """Grabs the BGRA pixels of one window. Parts outside the screen come back black."""

    def __init__(self, handle: int, backend: WindowBackend | None = None) -> None:
        self.handle = handle
        self._backend = backend or default_backend()
        self._sct: Any = None
        self._thread: int | None = None
        self._screen: Rect | None = None
        self.last_rect: Rect | None = None

    def _open(self) -> None:
        import mss

        self._sct = mss.MSS()
        self._thread = threading.get_ident()
        whole = self._sct.monitors[0]
        self._screen = Rect(whole["left"], whole["top"], whole["width"], whole["height"])

    def grab(self) -> np.ndarray:
        """The window's client area now, as an HxWx4 uint8 BGRA array.

        Raises WindowMinimizedError / WindowClosedError (both WindowError) when there is nothing to grab.
        """
        if self._sct is None:
            self._open()
        elif self._thread != threading.get_ident():
            raise RuntimeError("a WindowGrabber must be used from the thread that first grabbed with it")
        rect = self._backend.client_rect(self.handle)
        self.last_rect = rect
        screen = self._screen
        assert screen is not None
        left = max(rect.left, screen.left)
        top = max(rect.top, screen.top)
        right = min(rect.left + rect.width, screen.left + screen.width)
        bottom = min(rect.top + rect.height, screen.top + screen.height)
        if right <= left or bottom <= top:
            raise WindowMinimizedError(f"window 0x{self.handle:x} is entirely off the screen")
        shot = self._sct.grab({"left": left, "top": top, "width": right - left, "height": bottom - top})
        pixels = np.frombuffer(shot.raw, dtype=np.uint8).reshape(shot.height, shot.width, 4)
        if (right - left, bottom - top) == (rect.width, rect.height):
            return pixels
        frame = np.zeros((rect.height, rect.width, 4), dtype=np.uint8)
        y, x = top - rect.top, left - rect.left
        frame[y : y + pixels.shape[0], x : x + pixels.shape[1]] = pixels
        return frame

    def close(self) -> None:
        if self._sct is not None:
            self._sct.close()
            self._sct = None

    def __enter__(self) -> WindowGrabber:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
