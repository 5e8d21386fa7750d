"""TopLap's scripted driver: the demonstrator of the test bed, choosing among pixelpilot's seven actions.

It reads the car's pose from the game (in-process, or the window's telemetry) and steers for a point on the
centreline ahead (pure pursuit); its speed target comes from the tightest bend in the next stretch, so it
takes turbo on straights and lifts or brakes before bends. It only picks actions of the table (never "no
keys"), so everything it does can be recorded and cloned.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from control.actions import ACTION_NAMES
from games.toplap.sim import MAX_SPEED, STEER, TURBO_SPEED, CarState
from games.toplap.track import SPACING, Track, generate

LEFT, RIGHT, UP, LEFT_UP, RIGHT_UP, DOWN, TURBO = (
    ACTION_NAMES.index(n) for n in ("left", "right", "up", "left+up", "right+up", "down", "up+x")
)
DEADBAND = 0.06  # radians of heading error left uncorrected
GRIP = 0.9  # share of the turning radius the speed target leaves for corrections


def target_speed(track: Track, index: int, speed: float) -> float:
    """The fastest speed the car can hold through the bends of the next stretch (braking distance included)."""
    reach = int((20 + 12 * max(speed, 0.0)) * 4 / SPACING)
    radii = track.radii[(index + np.arange(reach)) % track.n]
    return float(min(TURBO_SPEED, GRIP * radii.min() * STEER))


def action(track: Track, car: CarState) -> int:
    """The action for ``car`` (the game's state, or one made from the window's telemetry)."""
    ahead = track.points[(car.index + 6 + int(2.5 * max(car.speed, 0.0))) % track.n]
    error = math.atan2(ahead[1] - car.y, ahead[0] - car.x) - car.heading
    error = (error + math.pi) % (2 * math.pi) - math.pi
    steer = RIGHT if error > DEADBAND else LEFT if error < -DEADBAND else None
    wanted = target_speed(track, car.index, car.speed)
    if car.speed > wanted + 0.6:
        return DOWN if steer is None else steer  # brake straight, or turn and coast
    if steer is not None:
        return RIGHT_UP if steer == RIGHT else LEFT_UP
    if wanted > MAX_SPEED + 0.3 and car.turbo > 0.05:
        return TURBO
    return UP


class TelemetryDriver:
    """The driver at the wheel of a window: ``act`` on each step's telemetry (``info["telemetry"]`` of
    ``pixelpilot/Screen-v0``); the track is rebuilt from the seed the game reports."""

    def __init__(self) -> None:
        self.track: Track | None = None

    def act(self, telemetry: dict[str, Any]) -> int:
        if "track_seed" not in telemetry:
            return UP  # nothing heard from the game yet
        if self.track is None or self.track.seed != telemetry["track_seed"]:
            self.track = generate(int(telemetry["track_seed"]))
        pose = CarState(float(telemetry["x"]), float(telemetry["y"]), float(telemetry["heading"]),
                        float(telemetry["speed"]), float(telemetry["turbo"]), int(telemetry["index"]))  # fmt: skip
        return action(self.track, pose)
