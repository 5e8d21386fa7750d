"""The fastest a lap can be: a lower bound on any driver's lap time, computed from the game's rules.

A lap from a standing start is a fixed distance (the track's length). Curves only push the car outward and
rivals only block it, so no driver covers that distance faster than the best car on a straight, empty road of
the same length. On that road the only choice is when to press turbo: it accelerates twice as hard up to 1.3x
the top speed while the meter lasts, the meter refills slowly, and a car above the top speed without turbo
slows gently. (The meter only needs to be above zero for turbo to work, so the best use is not obvious: pulses
on an almost empty meter still count.) :func:`max_distances` searches every turbo schedule exactly: the
speeds and meter levels reachable tick by tick lie on a lattice, so a dynamic programme over (speed, meter)
keeps the longest distance to each state. A faster lap than :func:`lap_time_bound` is impossible.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np

from games.neonrace.sim import (
    ACCEL,
    COAST,
    DT,
    MAX_SPEED,
    TICK_HZ,
    TURBO_ACCEL,
    TURBO_DRAIN,
    TURBO_REFILL,
    TURBO_SPEED,
)


def _steps(unit: float, *amounts: float) -> tuple[int, ...]:
    """``amounts`` as whole multiples of ``unit``; the lattice is exact only if they are."""
    steps = tuple(Fraction(a / unit).limit_denominator(1000) for a in amounts)
    if any(s.denominator != 1 for s in steps):
        raise ValueError(f"the game's constants {amounts} are not whole multiples of {unit}")
    return tuple(int(s) for s in steps)


SPEED_UNIT = MAX_SPEED / 600
ACCEL_STEP, TURBO_STEP, COAST_STEP, TOP, TURBO_TOP = _steps(
    SPEED_UNIT, ACCEL * DT, TURBO_ACCEL * DT, -COAST * DT, MAX_SPEED, TURBO_SPEED
)
(REFILL,) = _steps(1 / 360, TURBO_REFILL * DT)
(DRAIN,) = _steps(1 / 360, TURBO_DRAIN * DT)
FULL = 360  # a full meter, in the same unit


def _transition(turbo: bool) -> np.ndarray:
    """The state index after one tick from every state (speed index × meter index), turbo pressed or not."""
    speed, meter = np.meshgrid(np.arange(TURBO_TOP + 1), np.arange(FULL + 1), indexing="ij")
    active = turbo & (meter > 0)
    after = speed + np.where(active, TURBO_STEP, ACCEL_STEP)
    top = np.where(active, TURBO_TOP, TOP)
    after = np.where(after > top, np.maximum(top, speed - COAST_STEP), after)
    meter = np.where(active, np.maximum(meter - DRAIN, 0), np.minimum(meter + REFILL, FULL))
    return (after * (FULL + 1) + meter).ravel()


@lru_cache(maxsize=4)
def max_distances(seconds: float = 60.0, frame_skip: int = 2) -> np.ndarray:
    """The longest distance (world units) a car can drive from a standing start with a full meter, after each
    tick up to ``seconds``: entry t is after t ticks. Turbo is pressed or released every ``frame_skip`` ticks (the
    environment holds each action that long; 1: every tick)."""
    speeds = np.repeat(np.arange(TURBO_TOP + 1), FULL + 1)
    moves = [_transition(turbo) for turbo in (False, True)]
    # Scatter-max by target: sort each move's sources by target once, then reduce each run of equal targets.
    plans = []
    for move in moves:
        order = np.argsort(move, kind="stable")
        targets, starts = np.unique(move[order], return_index=True)
        plans.append((move, order, targets, starts))
    best = np.full(speeds.size, -np.inf)
    best[FULL] = 0.0  # speed 0, full meter
    out = [0.0]
    for tick in range(int(seconds * TICK_HZ)):
        if tick % frame_skip == 0:
            held = [best.copy(), best.copy()]  # the distance so far of states pressing each choice
        new = np.full_like(best, -np.inf)
        for choice, (move, order, targets, starts) in enumerate(plans):
            moved = held[choice] + speeds[move] * SPEED_UNIT * DT  # this tick's step at the speed after it
            held[choice] = np.full_like(best, -np.inf)
            held[choice][targets] = np.maximum.reduceat(moved[order], starts)
            np.maximum(new, held[choice], out=new)
        best = new
        out.append(float(best.max()))
    return np.asarray(out)


def lap_time_bound(track_length: float, frame_skip: int = 2, seconds: float = 60.0) -> float:
    """The shortest possible time (s) for one lap of ``track_length`` from a standing start."""
    reach = max_distances(seconds, frame_skip)
    tick = int(np.searchsorted(reach, track_length))
    if tick >= len(reach):
        raise ValueError(f"a track of length {track_length} takes more than {seconds} s even flat out")
    return tick * DT
