"""What a running training shows another thread (the control panel): a stop request, and the live progress.

The training loop only records what happened (the ``_`` methods); a snapshot is put together when it is read, so a
reader's pace costs the loop nothing.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.policy.evaluation import EvalPoint


@dataclass(frozen=True)
class TrainProgress:
    """What a running :func:`train` has done, as of its last message."""

    state: str = "starting"
    """starting (environments, processes), training, or finishing (joining the processes, saving)"""
    run_dir: Path | None = None
    steps: int = 0
    total_steps: int = 0
    updates: int = 0
    episodes: int = 0
    sps: float = math.nan
    """environment steps per second over the last log interval (2 s)"""
    recent_return: float = math.nan
    """the mean return of the last 20 training episodes"""
    returns: tuple[tuple[int, float], ...] = ()
    """(steps, return) of the training episodes: the whole run, thinned to at most ``TrainControl.HISTORY``"""
    losses: tuple[tuple[int, float, float, float], ...] = ()
    """(steps, policy loss, value loss, entropy), one per log interval, thinned likewise"""
    evaluations: tuple[EvalPoint, ...] = ()
    checkpoints: tuple[tuple[Path, int], ...] = ()
    """every checkpoint file written, in the order first written, with the steps when it was last written"""
    behaviour: dict[str, float] = field(default_factory=dict)
    """the last log interval's entropy, explained variance and gradient norm, and the network's health readings"""
    action_shares: dict[str, float] = field(default_factory=dict)
    """the share of each action the policy sampled over the last log interval"""
    warnings: tuple[str, ...] = ()
    """what the run's evaluations warned of (one action taking over, lap completion falling)"""


class Thinned:
    """A bounded history: once it holds ``limit`` points every other one is dropped, and from then on only every
    other new point is kept (later every fourth, ...), so a run of any length keeps its whole shape."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.points: list[Any] = []
        self._stride = 1
        self._seen = 0

    def add(self, point: Any) -> None:
        self._seen += 1
        if (self._seen - 1) % self._stride:
            return
        self.points.append(point)
        if len(self.points) >= self.limit:
            self.points = self.points[::2]
            self._stride *= 2


class TrainControl:
    """Another thread's hand on a running :func:`train`: a stop request, which ends the run as Ctrl-C does (a
    checkpoint, every process joined, no final evaluation), and the live :class:`TrainProgress`. The loop only
    records what happened; the snapshot is put together when it is read, so a reader's pace costs it nothing."""

    HISTORY = 2000

    def __init__(self, stop: threading.Event | None = None) -> None:
        """``stop``: an event that stops the run when set (e.g. a task's), besides :meth:`stop`."""
        self._stop = stop if stop is not None else threading.Event()
        self._lock = threading.Lock()
        self._state = "starting"
        self._run_dir: Path | None = None
        self._total_steps = 0
        self._counters: dict[str, Any] = {}
        self._rates = (math.nan, math.nan)
        self._returns = Thinned(self.HISTORY)
        self._losses = Thinned(self.HISTORY)
        self._evaluations: list[EvalPoint] = []
        self._checkpoints: dict[Path, int] = {}
        self._behaviour: dict[str, float] = {}
        self._shares: dict[str, float] = {}
        self._warnings: list[str] = []

    def stop(self) -> None:
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def progress(self) -> TrainProgress:
        with self._lock:
            counters = self._counters
            return TrainProgress(
                self._state, self._run_dir, counters.get("steps", 0), self._total_steps, counters.get("updates", 0),
                counters.get("episodes", 0), *self._rates, tuple(self._returns.points), tuple(self._losses.points),
                tuple(self._evaluations), tuple(self._checkpoints.items()), dict(self._behaviour), dict(self._shares),
                tuple(self._warnings),
            )  # fmt: skip

    def _started(self, run_dir: Path, total_steps: int, counters: dict[str, Any]) -> None:
        with self._lock:
            self._run_dir, self._total_steps, self._counters = run_dir, total_steps, dict(counters)

    def _counted(self, counters: dict[str, Any]) -> None:
        with self._lock:
            self._state, self._counters = "training", dict(counters)

    def _episode(self, steps: int, ret: float) -> None:
        with self._lock:
            self._returns.add((steps, ret))

    def _logged(
        self,
        steps: int,
        sps: float,
        recent_return: float,
        losses: dict[str, float],
        shares: dict[str, float],
        health: dict[str, float],
    ) -> None:
        with self._lock:
            self._rates = (sps, recent_return)
            self._losses.add(
                (steps, *(float(losses.get(name, math.nan)) for name in ("policy_loss", "value_loss", "entropy")))
            )
            watched = ("entropy", "explained_variance", "grad_norm")
            self._behaviour = {name: losses[name] for name in watched if name in losses} | health
            self._shares = dict(shares)

    def _warned(self, warning: str) -> None:
        with self._lock:
            self._warnings.append(warning)

    def _evaluated(self, point: EvalPoint) -> None:
        with self._lock:
            self._evaluations.append(point)

    def _saved(self, path: Path, steps: int) -> None:
        with self._lock:
            self._checkpoints[path] = steps

    def _finishing(self) -> None:
        with self._lock:
            self._state = "finishing"
