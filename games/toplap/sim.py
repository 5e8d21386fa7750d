"""TopLap's simulation: a car on a track, in fixed ticks of 1/30 s, deterministic given the keys held.

Keys (logical): ``up`` accelerates, ``down`` brakes then reverses, ``left``/``right`` turn (more slowly at low
speed), ``turbo`` with ``up`` raises the top speed while the meter lasts. Off the road the car slows to a
crawl. Progress is the distance driven along the centreline (backwards counts against it); the score is one
point per checkpoint (a 40th of a lap) newly reached, so it never falls; a race is ``laps`` laps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from games.toplap.track import ROAD_HALF_WIDTH, WORLD_H, WORLD_W, Track

TICK_HZ = 30
MAX_SPEED = 4.0  # px per tick on the ordinary throttle
TURBO_SPEED = 6.0
ACCEL = 0.10
TURBO_ACCEL = 0.16
BRAKE = 0.25
REVERSE_SPEED = -1.5
DRAG = 0.97  # speed kept per tick with no throttle
OFFROAD_SPEED = 1.4
OFFROAD_DECEL = 0.3
STEER = 0.04  # radians per tick at full steering speed
FULL_STEER_SPEED = 2.5  # below this the car turns proportionally slower
TURBO_DRAIN = 1 / 90  # a full meter lasts 3 s
TURBO_REFILL = 1 / 300  # and refills in 10 s
CHECKPOINTS = 40


@dataclass
class CarState:
    x: float
    y: float
    heading: float  # radians, screen coordinates (y down)
    speed: float = 0.0
    turbo: float = 1.0
    index: int = 0  # nearest centreline point
    progress: int = 0  # centreline points driven, net; a lap is track.n
    best: int = 0  # the furthest progress reached
    offroad: bool = False
    ticks: int = 0
    lap_ticks: int = 0
    last_lap_ticks: int | None = None
    laps_done: int = 0
    score: int = 0


class Race:
    def __init__(self, track: Track, laps: int = 3) -> None:
        if laps < 1:
            raise ValueError(f"laps must be >= 1, got {laps}")
        self.track = track
        self.laps = laps
        x, y = track.points[0]
        self.state = CarState(float(x), float(y), float(track.headings[0]))

    @property
    def finished(self) -> bool:
        return self.state.laps_done >= self.laps

    def tick(self, keys: frozenset[str]) -> None:
        """Advance one tick with ``keys`` held; a finished race stands still."""
        s = self.state
        if self.finished:
            s.speed = 0.0
            return
        s.ticks += 1
        s.lap_ticks += 1
        self._throttle(s, keys)
        turn = (("right" in keys) - ("left" in keys)) * STEER * min(1.0, abs(s.speed) / FULL_STEER_SPEED)
        s.heading = (s.heading + (turn if s.speed >= 0 else -turn) + math.pi) % (2 * math.pi) - math.pi
        s.x = min(max(s.x + s.speed * math.cos(s.heading), 0.0), WORLD_W)  # the world's edge is a wall
        s.y = min(max(s.y + s.speed * math.sin(s.heading), 0.0), WORLD_H)
        index, distance = self.track.nearest(s.x, s.y, s.index)
        s.offroad = distance > ROAD_HALF_WIDTH
        step = (index - s.index + self.track.n // 2) % self.track.n - self.track.n // 2
        s.index = index
        s.progress += step
        if s.progress > s.best:
            s.best = s.progress
            s.score = s.best * CHECKPOINTS // self.track.n
        if s.best >= (s.laps_done + 1) * self.track.n:
            s.laps_done += 1
            s.last_lap_ticks, s.lap_ticks = s.lap_ticks, 0

    @staticmethod
    def _throttle(s: CarState, keys: frozenset[str]) -> None:
        boosting = "up" in keys and "turbo" in keys and s.turbo > 0
        if boosting:
            s.turbo = max(0.0, s.turbo - TURBO_DRAIN)
        else:
            s.turbo = min(1.0, s.turbo + TURBO_REFILL)
        top = TURBO_SPEED if boosting else MAX_SPEED
        if "down" in keys:
            s.speed = max(REVERSE_SPEED, s.speed - BRAKE)
        elif "up" in keys:
            gained = min(top, s.speed + (TURBO_ACCEL if boosting else ACCEL))
            s.speed = gained if s.speed < top else max(top, s.speed * DRAG)  # after turbo: back to road speed
        else:
            s.speed *= DRAG
        if s.offroad and s.speed > OFFROAD_SPEED:
            s.speed = max(OFFROAD_SPEED, s.speed - OFFROAD_DECEL)
