"""A scripted driver that reads the game's internal state (not pixels): the reference for lap times and
scores, the proof that tracks are drivable, and a source of demonstrations.

It keeps to a lane free of rivals ahead, holds its speed under what the coming curves allow (the curve's
outward push grows with speed squared, steering only with speed), anticipates that push when steering, and
uses turbo on clear straights. How boldly it does each is a :class:`Style`: ``EXPERT`` is the hand-set one
every benchmark has compared against; ``STRONG`` is the same driver with its style tuned by search on training
tracks (``benchmarks/neonrace_references.py``), a reference that is hard to beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from control.actions import ACTIONS
from games.neonrace.sim import CAR_LENGTH, CAR_WIDTH, CENTRIFUGAL, MAX_SPEED, Game
from games.neonrace.track import SEGMENT_LENGTH

LANES = (-2 / 3, 0.0, 2 / 3)


@dataclass(frozen=True)
class Style:
    """How boldly the scripted driver drives; speeds are ratios of the top speed without turbo."""

    grip: float = 0.75
    """the share of the steering authority it is willing to spend holding a curve"""
    lookahead: int = 40
    """segments ahead whose curves set the speed limit"""
    braking: float = 0.5
    """speed ratio it counts on shedding per segment-second of distance to a curve (a guess at the brakes)"""
    brake_margin: float = 0.08
    """over the limit by more than this: brake; by less: coast"""
    push: float = 0.25
    """how far ahead (in seconds of the curve's push) it aims off its lane"""
    deadband: float = 0.06
    """lane error (road half-widths) it lets be without steering"""
    turbo_boost: float = 0.25
    """turbo only with more than this left in the meter"""
    turbo_limit: float = 1.3
    """turbo only where the coming curves allow more than this speed"""
    clear_segments: int = 25
    """turbo only when this many segments ahead are nearly straight and free of rivals"""


EXPERT = Style()
STRONG = Style(grip=2.416, lookahead=72, braking=0.932, brake_margin=0.005, push=0.714, deadband=0.2, turbo_boost=0.0,
               turbo_limit=2.455, clear_segments=5)  # fmt: skip


def _action(keys: set[str]) -> int:
    return ACTIONS.index(frozenset(keys))


def expert_action(game: Game, style: Style = EXPERT) -> int:
    """The action index the driver of ``style`` takes in the game's current state."""
    s = game.state
    track = game.track
    speed = s.speed / MAX_SPEED
    here = game.segment_index(game.player_z())
    ahead_segments = (here + np.arange(style.lookahead)) % track.n
    curves = track.curve[ahead_segments]

    # The speed limit: each coming curve allows the speed at which steering, with a margin (grip), still beats its
    # push; braking takes distance, so nearer curves count more.
    braking = np.arange(style.lookahead) * SEGMENT_LENGTH * style.braking / MAX_SPEED  # ratio shed on the way
    with np.errstate(divide="ignore"):
        allowed = np.where(curves != 0, style.grip / (np.abs(curves) * CENTRIFUGAL), 10.0)
    limit = float(np.min(allowed + braking))

    # The lane: the one whose nearest rival ahead is farthest away (staying put breaks ties).
    length = track.length
    r = s.rivals
    ahead = (r.z - game.player_z() + length / 2) % length - length / 2
    near = (ahead > -CAR_LENGTH) & (ahead < 30 * SEGMENT_LENGTH)
    best_lane, best_gap = 0.0, -1.0
    for lane in sorted(LANES, key=lambda lane: abs(lane - s.x)):
        blocking = near & (np.abs(r.x - lane) < CAR_WIDTH * 1.6)
        gap = float(ahead[blocking].min()) if blocking.any() else np.inf
        if gap > best_gap + SEGMENT_LENGTH * 3:
            best_lane, best_gap = lane, gap
    closing = near & (np.abs(r.x - s.x) < CAR_WIDTH * 1.3) & (ahead > 0) & (ahead < 6 * SEGMENT_LENGTH)
    if closing.any():  # a rival is right in front: not faster than it until the lane change is done
        limit = min(limit, float(r.speed[closing].min() / MAX_SPEED) * 0.95)

    # Steering: aim at the lane, allowing for the push the current curve will give over the next moments.
    push = speed * speed * track.curve[here] * CENTRIFUGAL * style.push
    error = best_lane - (s.x - push)
    steer = "right" if error > style.deadband else "left" if error < -style.deadband else None

    clear = np.all(np.abs(curves[: style.clear_segments]) < 0.5) and best_gap > style.clear_segments * SEGMENT_LENGTH
    if speed > limit + style.brake_margin:
        return _action({"down"})
    if speed > limit:
        return _action({steer or ("left" if s.x > 0 else "right")})  # coast (no key for throttle-off)
    if steer:
        return _action({steer, "up"})
    if clear and s.boost > style.turbo_boost and limit > style.turbo_limit:
        return _action({"up", "turbo"})
    return _action({"up"})


def drive(game: Game, max_ticks: int = 30 * 600, frame_skip: int = 2, style: Style = EXPERT) -> Game:
    """Let the driver race until the game is over (or ``max_ticks``), deciding every ``frame_skip`` ticks."""
    ticks = 0
    while not game.state.done and ticks < max_ticks:
        keys = ACTIONS[expert_action(game, style)]
        for _ in range(frame_skip):
            game.tick(keys)
            ticks += 1
    return game
