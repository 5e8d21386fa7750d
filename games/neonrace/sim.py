"""The NeonRace simulation: one deterministic core behind the window and the in-process environment.

Time advances in fixed ticks of 1/30 s. Each tick takes the set of held logical keys (``left``, ``right``,
``up``, ``down``, ``turbo``) and moves the car and the rivals. Given the seed, the difficulty and the
sequence of key sets, every run is identical: there is no wall clock and no unseeded randomness.

Units: ``z`` is the distance along the track (world units, ``SEGMENT_LENGTH`` per segment); ``x`` is the
car's lateral position in road half-widths (the road is x in [-1, 1]); speeds are world units per second.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from games.neonrace.track import SEGMENT_LENGTH, Track, difficulty, generate

TICK_HZ = 30
DT = 1.0 / TICK_HZ
MAX_SPEED = SEGMENT_LENGTH * 60  # 60 segments per second flat out
TURBO_SPEED = MAX_SPEED * 1.3
ACCEL = MAX_SPEED / 4
TURBO_ACCEL = MAX_SPEED / 2
BRAKE = -MAX_SPEED
COAST = -MAX_SPEED / 5
OFFROAD_DECEL = -MAX_SPEED / 1.5
OFFROAD_LIMIT = MAX_SPEED / 4
CENTRIFUGAL = 0.3
STEER = 2.0  # road half-widths per second at top speed
TURBO_DRAIN = 1 / 3  # a full meter lasts 3 s
TURBO_REFILL = 1 / 12  # and refills in 12 s
CAR_WIDTH = 0.3  # in road half-widths
CAR_LENGTH = SEGMENT_LENGTH * 0.8
CRASH_SPEED = MAX_SPEED * 0.45  # hitting a rival this much faster than it is a crash, not a bump
CRASH_STUN = 1.0  # seconds without throttle after a crash
MAX_CRASHES = 3
PLAYER_Z = 0.84 * 1000  # the car is this far in front of the camera (camera depth × camera height)
POINTS_PER_SEGMENT = 1
OVERTAKE_BONUS = 50
LAP_BONUS = 1000
SKY_SPEED = 0.001  # background scroll per tick per unit of curve at top speed


@dataclass
class Rivals:
    z: np.ndarray
    x: np.ndarray
    speed: np.ndarray
    ahead: np.ndarray  # whether each rival was ahead of the player on the previous tick


@dataclass
class GameState:
    """Everything that changes during a race; ``Game`` advances it."""

    z: float = 0.0  # camera position along the track, wraps at the track length
    x: float = 0.0
    speed: float = 0.0
    boost: float = 1.0
    distance: float = 0.0  # total forward distance driven, never wraps
    lap: int = 1
    lap_time: float = 0.0
    last_lap_time: float | None = None
    best_lap_time: float | None = None
    race_time: float = 0.0
    crashes: int = 0
    stun: float = 0.0
    overtakes: int = 0
    score: int = 0
    ticks: int = 0
    steer: int = 0  # -1, 0, 1: for the car sprite
    sky: float = 0.0  # horizontal scroll of the background, in [0, 1)
    finished: bool = False
    crashed_out: bool = False
    rivals: Rivals = field(default_factory=lambda: Rivals(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, bool)))

    @property
    def done(self) -> bool:
        return self.finished or self.crashed_out


class Game:
    """A race on one track: ``reset()``, then ``tick(keys)`` 30 times per simulated second."""

    def __init__(self, seed: int = 0, difficulty_name: str = "normal", laps: int = 3) -> None:
        if not isinstance(laps, int) or isinstance(laps, bool) or laps < 1:
            raise ValueError(f"laps must be a positive integer, got {laps!r}")
        self.track: Track = generate(seed, difficulty_name)
        self.level = difficulty(difficulty_name)
        self.laps = laps
        self.state = GameState()
        self.reset()

    def reset(self) -> GameState:
        rng = np.random.default_rng(self.track.seed + 1)  # rivals are part of the track: same every race
        n = self.level.rivals
        length = self.track.length
        z = np.sort(rng.uniform(0.1, 0.95, n)) * length
        x = rng.choice([-2 / 3, 0.0, 2 / 3], n) + rng.uniform(-0.15, 0.15, n)
        low, high = self.level.rival_speed
        speed = rng.uniform(low, high, n) * MAX_SPEED
        self.state = GameState(rivals=Rivals(z, x, speed, np.ones(n, bool)))
        self.state.rivals.ahead = self._ahead() > 0
        return self.state

    # -- geometry helpers ---------------------------------------------------------------------------------
    def segment_index(self, z: float) -> int:
        return int(z // SEGMENT_LENGTH) % self.track.n

    def player_z(self) -> float:
        """The car's position along the track (it sits PLAYER_Z in front of the camera)."""
        return (self.state.z + PLAYER_Z) % self.track.length

    def progress(self) -> float:
        """Fraction of the current lap driven, in [0, 1)."""
        return self.state.z / self.track.length

    # -- one tick -------------------------------------------------------------------------------------------
    def tick(self, keys: frozenset[str] | set[str]) -> GameState:
        s = self.state
        if s.done:
            return s
        s.ticks += 1
        length = self.track.length
        segment = self.segment_index(self.player_z())
        speed_ratio = s.speed / MAX_SPEED
        s.stun = max(0.0, s.stun - DT)

        turbo = "turbo" in keys and s.boost > 0 and s.stun == 0
        if turbo:
            s.boost = max(0.0, s.boost - TURBO_DRAIN * DT)
        else:
            s.boost = min(1.0, s.boost + TURBO_REFILL * DT)

        # steering, and the curve pushing the car outwards
        steer = ("right" in keys) - ("left" in keys)
        s.steer = steer
        s.sky = (s.sky + SKY_SPEED * self.track.curve[segment] * speed_ratio) % 1.0
        s.x += steer * STEER * DT * speed_ratio
        s.x -= STEER * DT * speed_ratio * speed_ratio * self.track.curve[segment] * CENTRIFUGAL

        # throttle, brake, coasting, off-road drag
        before = s.speed
        if s.stun > 0:
            s.speed += COAST * DT
        elif "down" in keys:
            s.speed += BRAKE * DT
        elif turbo:
            s.speed += TURBO_ACCEL * DT
        elif "up" in keys:
            s.speed += ACCEL * DT
        else:
            s.speed += COAST * DT
        top = TURBO_SPEED if turbo else MAX_SPEED
        if s.speed > top:  # throttle stops at the top speed; above it after a turbo, the car slows gently
            s.speed = max(top, before + COAST * DT)
        if abs(s.x) > 1 and s.speed > OFFROAD_LIMIT:
            s.speed = max(OFFROAD_LIMIT, s.speed + OFFROAD_DECEL * DT)
        s.speed = max(0.0, s.speed)
        s.x = float(np.clip(s.x, -3.0, 3.0))

        # rivals drive on
        r = s.rivals
        r.z = (r.z + r.speed * DT) % length
        self._collide(length)

        # move, count laps
        step = s.speed * DT
        s.distance += step
        s.z += step
        s.race_time += DT
        s.lap_time += DT
        if s.z >= length:
            s.z -= length
            s.last_lap_time = s.lap_time
            s.best_lap_time = s.lap_time if s.best_lap_time is None else min(s.best_lap_time, s.lap_time)
            s.lap_time = 0.0
            if s.lap >= self.laps:
                s.finished = True
            else:
                s.lap += 1
        laps_done = s.lap - 1 + s.finished
        s.score = (
            int(s.distance / SEGMENT_LENGTH) * POINTS_PER_SEGMENT + s.overtakes * OVERTAKE_BONUS + laps_done * LAP_BONUS
        )
        return s

    def _ahead(self) -> np.ndarray:
        """Each rival's distance in front of the car (negative: behind), wrapped to half a lap."""
        length = self.track.length
        return (self.state.rivals.z - self.player_z() + length / 2) % length - length / 2

    def _collide(self, length: float) -> None:
        s = self.state
        r = s.rivals
        if len(r.z) == 0:
            return
        ahead = self._ahead()
        overlap = (np.abs(r.x - s.x) < CAR_WIDTH) & (ahead > 0) & (ahead < CAR_LENGTH)
        hit = np.flatnonzero(overlap & (r.speed < s.speed))
        if len(hit):
            i = int(hit[np.argmin(ahead[hit])])
            if s.speed - r.speed[i] > CRASH_SPEED:
                s.crashes += 1
                s.speed = 0.0
                s.stun = CRASH_STUN
                s.crashed_out = s.crashes >= MAX_CRASHES
            else:
                s.speed = r.speed[i] * 0.8  # slower than the rival: the car falls back behind it
        now_ahead = ahead > 0
        passed = r.ahead & ~now_ahead & (ahead > -CAR_LENGTH * 4)
        s.overtakes += int(passed.sum())
        r.ahead = now_ahead
