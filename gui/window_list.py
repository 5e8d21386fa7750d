"""The live list of windows to pick a game from, each with a thumbnail.

Listing asks the window system (``capture.windows``) and thumbnails are grabbed with ``WindowGrabber``, on a
task's thread every couple of seconds; the GUI thread only shows the result.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import cv2
from PyQt5.QtGui import QImage

from capture.errors import WindowError
from capture.grabber import WindowGrabber
from capture.windows import WindowInfo, default_backend, find_window
from gui.images import bgra_image, fit
from gui.worker import Task

THUMBNAIL = (160, 100)


@dataclass(frozen=True)
class ListedWindow:
    info: WindowInfo
    thumbnail: QImage | None


class _Listed:
    """A window backend that knows only a list already fetched: ``find_window``'s matching rule without a trip
    to the X server (the GUI thread uses it)."""

    def __init__(self, windows: list[WindowInfo]) -> None:
        self._windows = windows

    def list_windows(self) -> list[WindowInfo]:
        return self._windows


def match_window(title: str, windows: list[WindowInfo]) -> WindowInfo | None:
    """The window ``find_window(title)`` would pick among ``windows``, or None when it would fail."""
    try:
        return find_window(title, _Listed(windows))  # type: ignore[arg-type]
    except WindowError:
        return None


def run_window_list(task: Task, exclude: Collection[int], every: float = 2.0) -> None:
    """Offer the visible windows (but ``exclude``: the panel's own) with thumbnails every ``every`` seconds."""
    backend = default_backend()
    grabbers: dict[int, WindowGrabber] = {}
    try:
        while not task.stop_event.is_set():
            listed = []
            for info in backend.list_windows():
                if info.handle in exclude or not info.title:
                    continue
                grabber = grabbers.get(info.handle)
                if grabber is None:
                    grabber = grabbers[info.handle] = WindowGrabber(info.handle, backend)
                try:
                    raw = grabber.grab()
                except WindowError:  # minimised, off screen or closed since the listing
                    listed.append(ListedWindow(info, None))
                    continue
                size = fit(raw.shape[1], raw.shape[0], *THUMBNAIL)
                listed.append(ListedWindow(info, bgra_image(cv2.resize(raw, size, interpolation=cv2.INTER_AREA))))
            for handle in set(grabbers) - {w.info.handle for w in listed}:
                grabbers.pop(handle).close()
            task.offer(listed)
            task.nap(every)
    finally:
        for grabber in grabbers.values():
            grabber.close()
