"""The live preview: a window's pixels with the profile's crop drawn on them, and the model's 128x200 frame.

Runs as a :class:`~gui.worker.Task`: the grabber's mss connection is opened by the first grab, so it lives on
the task's thread as mss requires. The observation comes from ``capture.preprocess.to_uint8``, the function
recording and training use, so the panel shows exactly what the model would get.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PyQt5.QtGui import QImage

from capture.errors import WindowMinimizedError
from capture.grabber import WindowGrabber
from capture.preprocess import Crop, Grey, to_uint8
from capture.timing import Ticker, TimingStats
from gui.images import bgra_image, gray_image, scaled_with_crop
from gui.worker import Task

PREVIEW_BOX = (400, 250)
"""The largest size of the window preview; the processed frame is shown at twice its size, 400x256."""


@dataclass(frozen=True)
class PreviewFrame:
    window: QImage | None
    """the window, shrunk, with the crop rectangle (None while it is minimised)"""
    obs: QImage | None
    """the processed frame, 2x (None when the crop does not fit the window)"""
    fps: float
    window_size: tuple[int, int] = (0, 0)
    note: str = ""
    """why a part is missing"""


def run_preview(task: Task, handle: int, crop: Crop | None, fps: float, grey: Grey | None = None) -> None:
    """Grab ``handle`` at ``fps`` and offer a :class:`PreviewFrame` per grab until the task is asked to stop.
    A closed window ends it with WindowClosedError; a minimised one is waited for."""
    stats = TimingStats(window=2 * math.ceil(fps))
    ticker = Ticker(fps, stats, warn_every=math.inf)  # a late preview frame is not worth a log line
    grabber = WindowGrabber(handle)
    try:
        while not task.stop_event.is_set():
            ticker.wait()
            try:
                raw = grabber.grab()
            except WindowMinimizedError as exc:
                task.offer(PreviewFrame(None, None, 0.0, note=str(exc)))
                task.stop_event.wait(0.25)
                ticker.restart()
                continue
            height, width = raw.shape[:2]
            note, obs = "", None
            try:
                obs = gray_image(to_uint8(raw, crop, grey), scale=2)
            except ValueError as exc:  # the crop reaches outside this window
                note = str(exc)
            window = bgra_image(scaled_with_crop(raw, crop, *PREVIEW_BOX))
            task.offer(PreviewFrame(window, obs, stats.rate("interval_ms"), (width, height), note))
    finally:
        grabber.close()
