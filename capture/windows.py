"""Finding game windows by title, and asking the window system about them.

The window system is reached through a :class:`WindowBackend`. X11 is implemented with ``pywinctl``; other
platforms raise :class:`UnsupportedPlatformError` naming the platform, never a silent no-op.

Matching rule for ``find_window(title)``: a window whose title equals ``title`` wins; otherwise exactly one
title must contain ``title`` (case-sensitive). Several partial matches and no exact one is an error that
lists them, so the agent never guesses which window gets its keys.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from capture.errors import (
    AmbiguousWindowError,
    DisplayError,
    UnsupportedPlatformError,
    WindowClosedError,
    WindowMinimizedError,
    WindowNotFoundError,
)


@dataclass(frozen=True)
class Rect:
    """A screen rectangle in absolute pixels."""

    left: int
    top: int
    width: int
    height: int


@dataclass(frozen=True)
class WindowInfo:
    """A top-level window: its handle (the X window id on X11), title and client-area rectangle."""

    handle: int
    title: str
    rect: Rect


class WindowBackend(Protocol):
    """What pixelpilot needs from a window system."""

    def list_windows(self) -> list[WindowInfo]:
        """Visible top-level windows, in stacking order."""
        ...

    def client_rect(self, handle: int) -> Rect:
        """The window's client area; raises WindowClosedError or WindowMinimizedError."""
        ...

    def active_handle(self) -> int | None:
        """The window that has keyboard focus, if any."""
        ...

    def activate(self, handle: int) -> None:
        """Raise the window and give it keyboard focus."""
        ...

    def move(self, handle: int, left: int, top: int) -> None:
        """Put the window's top-left corner at (``left``, ``top``) on the screen."""
        ...


class X11Backend:
    """X11 through pywinctl.

    pywinctl connects to ``$DISPLAY`` when it is first imported, so one process talks to one X display. The
    import happens here, not at module import, so a process can set ``DISPLAY`` (a worker on its own Xvfb)
    before the first window query.

    That one connection is shared by every thread of the process (the control panel grabs, lists windows and
    records on threads of their own), and python-xlib garbles replies when two threads ask at once: every
    query holds the backend's lock.
    """

    def __init__(self) -> None:
        display = os.environ.get("DISPLAY")
        if not display:
            raise DisplayError(
                "no X display: DISPLAY is not set (run inside a desktop session, or under Xvfb with a window manager)"
            )
        try:
            import ewmhlib
            import pywinctl
            import Xlib.error
        except Exception as exc:  # Xlib raises its own error types when the server is unreachable
            raise DisplayError(f"cannot open X display {display!r}: {exc}") from exc
        bound = ewmhlib.defaultDisplay.get_display_name()
        if bound != display:
            raise DisplayError(
                f"this process already talks to X display {bound!r}; it cannot switch to {display!r} "
                "(use one process per display)"
            )
        self._pywinctl: Any = pywinctl
        self._root: Any = ewmhlib.defaultEwmhRoot
        self._xerrors = (Xlib.error.XError, Xlib.error.ConnectionClosedError)
        self._windows: dict[int, Any] = {}
        self._titles: dict[int, str] = {}
        """the last title seen of each window: a closed window can no longer be asked for it"""
        self._lock = threading.RLock()

    def _name(self, handle: int) -> str:
        """How messages name a window: its title as last seen, with the id that tells same-titled ones apart."""
        title = self._titles.get(handle)
        return f"window {title!r} (0x{handle:x})" if title is not None else f"window 0x{handle:x}"

    def _window(self, handle: int) -> Any:
        win = self._windows.get(handle)
        if win is None:
            try:
                win = self._pywinctl.Window(handle)
            except self._xerrors as exc:
                raise WindowClosedError(f"{self._name(handle)} is gone") from exc
            self._windows[handle] = win
        return win

    def list_windows(self) -> list[WindowInfo]:
        with self._lock:
            return self._list_windows()

    def _list_windows(self) -> list[WindowInfo]:
        infos = []
        for win in self._pywinctl.getAllWindows():
            try:
                title = win.title
                box = win.box
            except self._xerrors:
                continue  # closed between listing and asking: not a visible window any more
            handle = int(win.getHandle())
            self._windows[handle] = win
            self._titles[handle] = title
            infos.append(WindowInfo(handle, title, Rect(box.left, box.top, box.width, box.height)))
        return infos

    def client_rect(self, handle: int) -> Rect:
        with self._lock:
            return self._client_rect(handle)

    def _client_rect(self, handle: int) -> Rect:
        win = self._window(handle)
        try:  # a closed window makes these raise BadWindow/BadDrawable
            if win.isMinimized:
                raise WindowMinimizedError(f"window {win.title!r} is minimised")
            box = win.box
        except self._xerrors as exc:
            self._windows.pop(handle, None)
            raise WindowClosedError(f"{self._name(handle)} was closed") from exc
        if box.width <= 0 or box.height <= 0:
            raise WindowMinimizedError(f"{self._name(handle)} has no visible area")
        return Rect(box.left, box.top, box.width, box.height)

    def active_handle(self) -> int | None:
        try:
            with self._lock:
                active = self._root.getActiveWindow()
        except self._xerrors:
            return None
        return int(active) if active else None

    def activate(self, handle: int) -> None:
        try:
            with self._lock:
                self._window(handle).activate(wait=True)
        except self._xerrors as exc:
            raise WindowClosedError(f"{self._name(handle)} was closed") from exc

    def move(self, handle: int, left: int, top: int) -> None:
        try:
            with self._lock:
                self._window(handle).moveTo(left, top, wait=True)
        except self._xerrors as exc:
            raise WindowClosedError(f"{self._name(handle)} was closed") from exc


_backend: WindowBackend | None = None


def default_backend() -> WindowBackend:
    """The window backend for this platform, created once per process."""
    global _backend
    if _backend is None:
        if sys.platform.startswith("linux"):
            if not os.environ.get("DISPLAY") and os.environ.get("WAYLAND_DISPLAY"):
                raise UnsupportedPlatformError(
                    "Wayland without XWayland is not supported: windows cannot be captured or given keys; "
                    "log in to an X11 session"
                )
            _backend = X11Backend()
        else:
            raise UnsupportedPlatformError(
                f"no window backend for platform {sys.platform!r} yet; pixelpilot drives X11 windows on Linux"
            )
    return _backend


def find_window(title: str, backend: WindowBackend | None = None) -> WindowInfo:
    """The window matching ``title`` by the rule in the module docstring."""
    if not title:
        raise WindowNotFoundError("empty window title: give a title or a part of one")
    windows = (backend or default_backend()).list_windows()
    exact = [w for w in windows if w.title == title]
    if len(exact) == 1:
        return exact[0]
    matches = exact or [w for w in windows if title in w.title]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        titles = ", ".join(repr(w.title) for w in windows if w.title) or "none"
        raise WindowNotFoundError(f"no window title contains {title!r}; visible windows: {titles}")
    listed = ", ".join(f"{w.title!r} (0x{w.handle:x})" for w in matches)
    raise AmbiguousWindowError(f"{len(matches)} windows match {title!r}: {listed}; give a title that matches only one")
