"""A scripted driver that reads the game's internal state (not pixels): the reference for lap times and
scores, the proof that tracks are drivable, and a source of demonstrations.

It keeps to a lane free of rivals ahead, holds its speed under what the coming curves allow (the curve's
outward push grows with speed squared, steering only with speed), anticipates that push when steering, and
uses turbo on clear straights.
"""

from __future__ import annotations

import numpy as np

from control.actions import ACTIONS
from games.neonrace.sim import CAR_LENGTH, CAR_WIDTH, CENTRIFUGAL, MAX_SPEED, Game
from games.neonrace.track import SEGMENT_LENGTH

LANES = (-2 / 3, 0.0, 2 / 3)
LOOKAHEAD_SEGMENTS = 40
GRIP = 0.75  # the share of the steering authority the expert is willing to spend holding a curve


def _action(keys: set[str]) -> int:
    return ACTIONS.index(frozenset(keys))


def safe_speed(curve: float) -> float:
    """Top speed ratio at which steering still beats the curve's push, with a margin."""
    return GRIP / (abs(curve) * CENTRIFUGAL) if curve else 10.0


def expert_action(game: Game) -> int:
    """The action index the expert takes in the game's current state."""
    s = game.state
    track = game.track
    speed = s.speed / MAX_SPEED
    here = game.segment_index(game.player_z())
    ahead_segments = (here + np.arange(LOOKAHEAD_SEGMENTS)) % track.n
    curves = track.curve[ahead_segments]

    # The speed limit: each coming curve allows a speed; braking takes distance, so nearer curves count more.
    braking = np.arange(LOOKAHEAD_SEGMENTS) * SEGMENT_LENGTH / (MAX_SPEED * 2)  # ratio shed over that distance
    limit = float(np.min([safe_speed(c) + b for c, b in zip(curves, braking, strict=True)]))

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
    push = speed * speed * track.curve[here] * CENTRIFUGAL * 0.25
    error = best_lane - (s.x - push)
    steer = "right" if error > 0.06 else "left" if error < -0.06 else None

    clear = np.all(np.abs(curves[:25]) < 0.5) and best_gap > 25 * SEGMENT_LENGTH
    if speed > limit + 0.08:
        return _action({"down"})
    if speed > limit:
        return _action({steer or ("left" if s.x > 0 else "right")})  # coast (no key for throttle-off)
    if steer:
        return _action({steer, "up"})
    if clear and s.boost > 0.25 and limit > 1.3:
        return _action({"up", "turbo"})
    return _action({"up"})


def drive(game: Game, max_ticks: int = 30 * 600, frame_skip: int = 2) -> Game:
    """Let the expert race until the game is over (or ``max_ticks``), deciding every ``frame_skip`` ticks."""
    ticks = 0
    while not game.state.done and ticks < max_ticks:
        keys = ACTIONS[expert_action(game)]
        for _ in range(frame_skip):
            game.tick(keys)
            ticks += 1
    return game
