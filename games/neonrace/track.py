"""Procedural closed-loop tracks: a ring of road segments with curvature and height, from a seed.

A track is built from sections (a curve or a hill eases in, holds and eases out); every hill rises and
falls back, so the loop closes in height, and the last segments bring the road back to straight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEGMENT_LENGTH = 200.0  # world units along the road
ROAD_WIDTH = 2000.0  # half the road's width in world units: the road spans x in [-1, 1] road widths
RUMBLE_LENGTH = 3  # segments per colour band (rumble strips, lane dashes)
LANES = 3


@dataclass(frozen=True)
class Difficulty:
    """How hard a track is: its length, bends, hills and traffic."""

    segments: int
    max_curve: float
    max_hill: float
    rivals: int
    rival_speed: tuple[float, float]  # fraction of the player's top speed


DIFFICULTIES = {
    "easy": Difficulty(segments=900, max_curve=2.0, max_hill=20.0, rivals=8, rival_speed=(0.25, 0.45)),
    "normal": Difficulty(segments=1200, max_curve=4.0, max_hill=40.0, rivals=16, rival_speed=(0.3, 0.55)),
    "hard": Difficulty(segments=1500, max_curve=6.0, max_hill=60.0, rivals=28, rival_speed=(0.35, 0.65)),
}


def difficulty(name: str) -> Difficulty:
    if name not in DIFFICULTIES:
        raise ValueError(f"unknown difficulty {name!r}; choose one of {', '.join(DIFFICULTIES)}")
    return DIFFICULTIES[name]


def check_seed(seed: int) -> int:
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise ValueError(f"track seed must be an integer in 0..2**32-1, got {seed!r}")
    return int(seed)


@dataclass(frozen=True)
class Track:
    """Per-segment curvature and the road height at each segment's start (height[n] == height[0])."""

    seed: int
    difficulty: str
    curve: np.ndarray  # (n,)
    height: np.ndarray  # (n + 1,), world units

    @property
    def n(self) -> int:
        return len(self.curve)

    @property
    def length(self) -> float:
        return self.n * SEGMENT_LENGTH


def _ease_in(a: float, b: float, t: np.ndarray) -> np.ndarray:
    return a + (b - a) * t**2


def _ease_in_out(a: float, b: float, t: np.ndarray) -> np.ndarray:
    return a + (b - a) * (-np.cos(t * np.pi) / 2 + 0.5)


def generate(seed: int = 0, difficulty_name: str = "normal") -> Track:
    """A deterministic track for (seed, difficulty)."""
    seed = check_seed(seed)
    level = difficulty(difficulty_name)
    rng = np.random.default_rng(seed)
    curve: list[float] = []
    height: list[float] = []
    y = 0.0

    def section(enter: int, hold: int, leave: int, bend: float, hill: float) -> None:
        nonlocal y
        start = y
        total = enter + hold + leave
        t = np.arange(total) / max(total - 1, 1)
        heights = _ease_in_out(start, start + hill, t)
        bends = np.concatenate(
            [
                _ease_in(0.0, bend, np.arange(enter) / enter),
                np.full(hold, bend),
                _ease_in_out(bend, 0.0, np.arange(leave) / leave),
            ]
        )
        curve.extend(bends.tolist())
        height.extend(heights.tolist())
        y = float(heights[-1])

    section(10, 40, 10, 0.0, 0.0)  # the start straight
    while len(curve) < level.segments - 100:
        kind = rng.integers(0, 4)
        length = int(rng.integers(25, 75))
        bend = float(rng.uniform(0.35, 1.0) * level.max_curve * rng.choice([-1, 1]))
        hill = float(rng.uniform(0.3, 1.0) * level.max_hill * ROAD_WIDTH / 100)
        if kind == 0:  # straight
            section(length // 4, length // 2, length // 4, 0.0, 0.0)
        elif kind == 1:  # bend
            section(length // 4, length // 2, length // 4, bend, 0.0)
        elif kind == 2:  # hill up and down
            section(length // 4, length // 4, length // 4, 0.0, hill)
            section(length // 4, length // 4, length // 4, 0.0, -hill)
        else:  # bend over a crest
            section(length // 4, length // 2, length // 4, bend, hill)
            section(length // 4, length // 2, length // 4, -bend / 2, -hill)
    section(20, 40, 20, 0.0, -y)  # back to the start's height and straight
    return Track(seed, difficulty_name, np.asarray(curve), np.asarray([*height, height[0]]))
