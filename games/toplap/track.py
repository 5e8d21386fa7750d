"""TopLap's tracks: a closed loop drawn from a seed, as a centreline of evenly spaced points.

The loop is a wobbled ellipse (a few random harmonics on the radius), resampled to equal spacing so that an
index counts distance. A seed whose loop bends tighter than the car can follow at road speed is redrawn with
the next sub-seed, so every track can be driven flat out on the ordinary throttle.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

WORLD_W, WORLD_H = 1800, 1400
ROAD_HALF_WIDTH = 34.0
SPACING = 5.0  # px between centreline points
MIN_RADIUS = 110.0  # tightest bend: the car turns on a 100 px radius at road speed (sim.MAX_SPEED / sim.STEER)


@dataclass(frozen=True)
class Track:
    seed: int
    points: np.ndarray  # (N, 2) float64 centreline, evenly spaced, counter-clockwise on screen
    """x, y in world pixels (y down); index 0 is the start line"""

    @property
    def n(self) -> int:
        return len(self.points)

    @cached_property
    def headings(self) -> np.ndarray:
        """Direction of travel at each point, in radians (screen coordinates: y down)."""
        ahead = np.roll(self.points, -1, axis=0) - self.points
        return np.arctan2(ahead[:, 1], ahead[:, 0])

    @cached_property
    def radii(self) -> np.ndarray:
        """Radius of the bend at each point (px), from the turn between neighbours three points apart."""
        turn = np.roll(self.headings, -3) - np.roll(self.headings, 3)
        turn = (turn + np.pi) % (2 * np.pi) - np.pi
        return 6 * SPACING / np.maximum(np.abs(turn), 1e-6)

    def nearest(self, x: float, y: float, hint: int, window: int = 40) -> tuple[int, float]:
        """(index of the nearest centreline point within ``window`` points of ``hint``, distance to it).

        Searching near the last known point keeps the car on its own stretch where two stretches pass close.
        """
        idx = (hint + np.arange(-window, window + 1)) % self.n
        d = np.hypot(self.points[idx, 0] - x, self.points[idx, 1] - y)
        best = int(np.argmin(d))
        return int(idx[best]), float(d[best])


def _loop(rng: np.random.Generator) -> np.ndarray:
    theta = np.linspace(0, 2 * np.pi, 2000, endpoint=False)
    radius = np.ones_like(theta)
    for k in (2, 3, 4, 5):
        radius += rng.uniform(0.04, 0.26 / (k - 1)) * np.sin(k * theta + rng.uniform(0, 2 * np.pi))
    cx, cy, rx, ry = WORLD_W / 2, WORLD_H / 2, WORLD_W * 0.36, WORLD_H * 0.34
    # minus sin: counter-clockwise on a y-down screen, so the car starts heading up the right side
    return np.stack([cx + rx * radius * np.cos(theta), cy - ry * radius * np.sin(theta)], axis=1)


def _resample(loop: np.ndarray, spacing: float) -> np.ndarray:
    closed = np.vstack([loop, loop[:1]])
    seg = np.hypot(*np.diff(closed, axis=0).T)
    along = np.concatenate([[0.0], np.cumsum(seg)])
    n = int(along[-1] // spacing)
    at = np.linspace(0, along[-1], n, endpoint=False)
    return np.stack([np.interp(at, along, closed[:, 0]), np.interp(at, along, closed[:, 1])], axis=1)


def generate(seed: int) -> Track:
    """The track of ``seed`` (the same points on every machine)."""
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    for attempt in range(100):
        rng = np.random.default_rng([seed, attempt])
        track = Track(seed, _resample(_loop(rng), SPACING))
        if track.radii.min() >= MIN_RADIUS:
            return track
    raise RuntimeError(f"no drivable track for seed {seed} in 100 draws")  # never seen; a clear stop if it were
