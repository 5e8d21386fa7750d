"""When things happen: a fixed-rate ticker and rolling timing statistics.

Kept apart from what the game is (capture, keys, reward), as rtgym does: the same ticker paces the frame
source, the screen environment and the benchmarks, and reports the same numbers everywhere.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable

import numpy as np

log = logging.getLogger(__name__)


class TimingStats:
    """Rolling samples (milliseconds) per named measure, plus event counters."""

    def __init__(self, window: int = 1000) -> None:
        if window <= 0:
            raise ValueError(f"window must be > 0, got {window}")
        self._window = window
        self._samples: dict[str, deque[float]] = {}
        self.counters: dict[str, int] = {}

    def add(self, name: str, ms: float) -> None:
        samples = self._samples.get(name)
        if samples is None:
            samples = self._samples[name] = deque(maxlen=self._window)
        samples.append(ms)

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n

    def summary(self) -> dict[str, dict[str, float]]:
        """Per measure: mean, p50, p99, max (ms) and the number of samples in the window."""
        out = {}
        for name, samples in self._samples.items():
            if samples:
                arr = np.fromiter(samples, dtype=np.float64)
                p50, p99 = np.percentile(arr, [50, 99])
                out[name] = {
                    "mean": float(arr.mean()),
                    "p50": float(p50),
                    "p99": float(p99),
                    "max": float(arr.max()),
                    "n": float(arr.size),
                }
        return out

    def rate(self, interval_name: str) -> float:
        """Events per second implied by the mean of an interval measure (0 when there is none)."""
        samples = self._samples.get(interval_name)
        if not samples:
            return 0.0
        mean = sum(samples) / len(samples)
        return 1000.0 / mean if mean > 0 else 0.0


class Ticker:
    """Paces a loop at ``fps`` ticks per second on a fixed schedule.

    A tick that comes later than its deadline is an *overrun* (the work took longer than one period); a
    warning says so at most every ``warn_every`` seconds. When whole periods were missed they are counted as
    *dropped* and the schedule restarts from now instead of rushing to catch up. ``fps=None`` never waits.
    """

    def __init__(
        self,
        fps: float | None,
        stats: TimingStats | None = None,
        warn_every: float = 5.0,
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if fps is not None and not (math.isfinite(fps) and 0 < fps <= 1000):
            raise ValueError(f"fps must be in (0, 1000], got {fps!r}")
        self.period = None if fps is None else 1.0 / fps
        self.stats = stats or TimingStats()
        self._clock = clock
        self._sleep = sleep
        self._warn_every = warn_every
        self._next: float | None = None
        self._last_tick: float | None = None
        self._last_warn = -math.inf
        self._tolerance = 0.0 if self.period is None else min(0.002, 0.1 * self.period)

    def restart(self) -> None:
        """Start a new schedule at the next tick (after a pause or a reset)."""
        self._next = None
        self._last_tick = None

    def wait(self) -> float:
        """Block until the next tick; returns the time of the tick."""
        now = self._clock()
        if self.period is not None:
            if self._next is None:
                self._next = now
            late = now - self._next
            if late < 0:
                self._sleep(-late)
                now = self._clock()
            elif late > self._tolerance:
                self._overrun(late, now)
            if now - self._next >= self.period:
                missed = int((now - self._next) // self.period)
                self.stats.count("dropped", missed)
                self._next = now
            self._next += self.period
        if self._last_tick is not None:
            self.stats.add("interval_ms", (now - self._last_tick) * 1000.0)
        self._last_tick = now
        return now

    def _overrun(self, late: float, now: float) -> None:
        self.stats.count("overruns")
        if now - self._last_warn >= self._warn_every:
            self._last_warn = now
            assert self.period is not None
            log.warning(
                "step overran its %.1f ms period by %.1f ms (%d overruns so far)",
                self.period * 1000.0,
                late * 1000.0,
                self.stats.counters["overruns"],
            )
