"""A fixed-rate source of processed frames from a window, with timing statistics."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from capture.grabber import WindowGrabber
from capture.preprocess import Crop, Grey, gray_small, gray_to_obs, gray_to_uint8
from capture.timing import Ticker, TimingStats


@dataclass
class Frame:
    """One captured frame: the raw BGRA pixels and the observation derived from them."""

    index: int
    time: float
    raw: np.ndarray
    gray: np.ndarray = field(repr=False)

    @cached_property
    def obs(self) -> np.ndarray:
        """Model input, float32 (128, 200, 1)."""
        return gray_to_obs(self.gray)

    @cached_property
    def obs_u8(self) -> np.ndarray:
        """Storage form, uint8 (128, 200)."""
        return gray_to_uint8(self.gray)


class FrameSource:
    """Grabs and preprocesses a frame on every tick of a fixed-rate clock.

    Statistics (``stats``): ``grab_ms``, ``preprocess_ms`` and ``interval_ms`` samples; counters ``frames``,
    ``dropped`` (ticks missed because the caller was late), ``overruns`` and ``duplicates`` (the window
    showed the same picture as on the previous tick: the game did not redraw in time).
    """

    def __init__(
        self,
        grabber: WindowGrabber,
        crop: Crop | None = None,
        fps: float | None = 15.0,
        stats_window: int = 1000,
        grey: Grey | None = None,
    ) -> None:
        self.grabber = grabber
        self.crop = crop
        self.grey = grey
        self.stats = TimingStats(stats_window)
        self.ticker = Ticker(fps, self.stats)
        self._previous: np.ndarray | None = None
        self._index = 0

    def read(self) -> Frame:
        """Wait for the next tick, then grab and preprocess. Window errors propagate to the caller."""
        tick = self.ticker.wait()
        t0 = time.perf_counter()
        raw = self.grabber.grab()
        t1 = time.perf_counter()
        gray = gray_small(raw, self.crop, self.grey)
        t2 = time.perf_counter()
        self.stats.add("grab_ms", (t1 - t0) * 1000.0)
        self.stats.add("preprocess_ms", (t2 - t1) * 1000.0)
        self.stats.count("frames")
        if self._previous is not None and np.array_equal(gray, self._previous):
            self.stats.count("duplicates")
        self._previous = gray
        self._index += 1
        return Frame(self._index, tick, raw, gray)

    def fps(self) -> float:
        """Achieved frames per second over the statistics window."""
        return self.stats.rate("interval_ms")

    def restart(self) -> None:
        """Start the schedule afresh (after a pause), so the gap is not counted as dropped frames."""
        self.ticker.restart()
        self._previous = None
