"""A run's record, the same for every learner: its folder and files, its counters, the training episodes, what the
updates of each log interval said, the evaluation curve with ``best.pt`` and the target return, and its checkpoints.

A learner calls it as things happen (:meth:`RunRecord.updated`, :meth:`~RunRecord.episode`,
:meth:`~RunRecord.evaluated`, :meth:`~RunRecord.report` every log interval) and it writes TensorBoard, ``progress.csv``
and the checkpoints, and tells the panel's :class:`~agent.learning.progress.TrainControl`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agent.learning.args import RunArgs
from agent.learning.progress import TrainControl
from agent.learning.run_log import RunLog, plot_curve
from agent.policy.checkpoint import Checkpoint, save_checkpoint
from agent.policy.evaluation import EvalPoint, action_names
from agent.policy.watch import EvalWatch
from agent.runs import new_run_dir, timestamp
from models.actor_critic import ActorCriticModule

log = logging.getLogger(__name__)
LOG_EVERY_S = 2.0
LOG_EVERY_UPDATES = 100
"""a progress row every LOG_EVERY_S seconds or LOG_EVERY_UPDATES updates, whichever comes first, and one at the end"""


@dataclass
class TrainResult:
    run_dir: Path
    steps: int
    wall_s: float
    curve: list[EvalPoint]
    solved: EvalPoint | None
    interrupted: bool = False


class RunRecord:
    def __init__(
        self,
        args: RunArgs,
        learner: str,
        model: ActorCriticModule,
        optimizer: torch.optim.Optimizer,
        resumed: Checkpoint | None,
        control: TrainControl,
        entered: float,
    ) -> None:
        """``learner``: the checkpoints' learner name; ``resumed``: the checkpoint a resumed run continues (its
        folder and counters); ``entered``: when the run began (``time.monotonic()``), setting up included."""
        self.args, self.learner, self.model, self.optimizer, self.control = args, learner, model, optimizer, control
        self.counters: dict[str, Any] = {"steps": 0, "updates": 0, "episodes": 0, "wall_s": 0.0}
        if resumed is not None:
            self.counters.update(resumed.counters)
            assert resumed.path is not None
            self.run_dir = resumed.path.parent.parent
        else:
            default = f"{args.env_id.replace('/', '-')}__{args.seed}__{timestamp()}"
            self.run_dir = new_run_dir(args.runs_dir, args.run_name, default)
        self.latest = self.run_dir / "checkpoints" / "latest.pt"
        control._started(self.run_dir, args.total_steps, self.counters)
        self.log = RunLog(self.run_dir, args, resumed=resumed is not None)
        self.started = entered - self.counters["wall_s"]
        self.curve: list[EvalPoint] = []
        self.episodes: list[tuple[int, float]] = []
        self.recent: deque[float] = deque(maxlen=20)
        self.losses: list[dict[str, float]] = []
        self.action_counts = np.zeros(model.spec.n_actions or 0, dtype=np.int64)
        self.health: list[dict[str, float]] = []
        self.names = action_names(args.env_id, model.spec.n_actions or 0)
        self.watch = EvalWatch(self.names)
        self.solved: EvalPoint | None = None
        self.best_eval = -math.inf
        self.next_checkpoint = (self.counters["steps"] // args.checkpoint_every + 1) * args.checkpoint_every
        self.bar: Any = None
        if args.progress:
            from tqdm import tqdm

            self.bar = tqdm(total=args.total_steps, initial=self.counters["steps"], unit="step", dynamic_ncols=True)

    @property
    def steps(self) -> int:
        return int(self.counters["steps"])

    @property
    def wall_s(self) -> float:
        return time.monotonic() - self.started

    # -- what happened ---------------------------------------------------------------------------------------------
    def updated(
        self,
        steps: int,
        losses: dict[str, float],
        actions: tuple[int, ...] = (),
        health: dict[str, float] | None = None,
    ) -> None:
        """An update from ``steps`` more environment steps: its loss readings, the actions its rollout sampled, the
        network's health readings; writes ``latest.pt`` each time ``checkpoint_every`` steps have passed."""
        self.counters["steps"] += steps
        self.counters["updates"] += 1
        self.losses.append(losses)
        if actions:
            self.action_counts += actions
        if health:
            self.health.append(health)
        if self.bar is not None:
            self.bar.update(steps)
        if self.steps >= self.next_checkpoint:
            self.checkpoint()
            self.next_checkpoint += self.args.checkpoint_every
        self.control._counted(self.counters)

    def episode(self, ret: float, length: int) -> None:
        self.counters["episodes"] += 1
        self.recent.append(ret)
        self.episodes.append((self.steps, ret))
        self.control._episode(self.steps, ret)
        self.log.episode(ret, length, self.steps)

    def evaluated(self, point: EvalPoint, weights: dict[str, torch.Tensor] | None = None) -> None:
        """An evaluation of ``weights`` (default: the model's now): on the curve, and ``best.pt`` if it is the best
        so far; it may reach the target return."""
        self.add_to_curve(point)
        if point.mean > self.best_eval:
            self.best_eval = point.mean
            self.checkpoint(self.run_dir / "checkpoints" / "best.pt", weights)
        if self.args.target_return is not None and point.mean >= self.args.target_return:
            self.solved = point

    def add_to_curve(self, point: EvalPoint) -> None:
        self.curve.append(point)
        self.log.evaluation(point, self.counters)
        self.control._evaluated(point)
        for warning in self.watch.see(point):
            log.warning(warning)
            self.control._warned(warning)

    # -- logging and checkpoints -----------------------------------------------------------------------------
    def report(self, since: float, since_steps: int) -> None:
        """What the updates since ``since`` (a ``time.monotonic()``, at ``since_steps``) say (losses, the actions
        sampled, the network's health), the speed and the recent return: to TensorBoard, progress.csv, the
        control and the progress bar."""
        if not self.losses:
            return
        now = time.monotonic()
        sps = (self.steps - since_steps) / max(now - since, 1e-9)
        names = dict.fromkeys(k for s in self.losses for k in s)
        values = {name: float(np.mean([s[name] for s in self.losses if name in s])) for name in names}
        total = int(self.action_counts.sum())
        shares = {n: int(c) / total for n, c in zip(self.names, self.action_counts, strict=True)} if total else {}
        health = {name: float(np.mean([h[name] for h in self.health if name in h])) for name in
                  dict.fromkeys(k for h in self.health for k in h)}  # fmt: skip
        self.log.losses(values, sps, self.steps)
        self.log.behaviour(shares, health, self.steps)
        recent = float(np.mean(self.recent)) if self.recent else float("nan")
        self.log.row({"wall_s": now - self.started, "steps": self.steps, "updates": self.counters["updates"],
                      "episodes": self.counters["episodes"], "sps": sps, "episodic_return": recent, **values,
                      "top_action_share": max(shares.values(), default=float("nan")), **health})  # fmt: skip
        self.control._logged(self.steps, sps, recent, values, shares, health)
        if self.bar is not None:
            last = f"{self.curve[-1].mean:.1f}" if self.curve else "-"
            self.bar.set_postfix(ret=f"{recent:.1f}", eval=last, sps=f"{sps:.0f}")
        self.losses.clear()
        self.action_counts[:] = 0
        self.health.clear()

    def checkpoint(self, path: Path | None = None, weights: dict[str, torch.Tensor] | None = None) -> None:
        """The model (or ``weights``) with the training state: ``latest.pt`` unless ``path`` says otherwise."""
        path = path or self.latest
        self.counters["wall_s"] = self.wall_s
        save_checkpoint(Checkpoint(self.model.spec, weights or self.model.state_dict(), self.args.env_id,
                                   self.args.env_kwargs, self.learner, dict(self.counters),
                                   dataclasses.asdict(self.args), self.optimizer.state_dict()), path)  # fmt: skip
        self.control._saved(path, self.steps)

    def close(self, title: str) -> None:
        """The files closed and the reward curve drawn (a plot is a convenience: a failure to draw it is logged, and
        hides nothing of the run's outcome)."""
        if self.bar is not None:
            self.bar.close()
        self.log.close()
        try:
            plot_curve(self.run_dir / "reward_curve.png", self.episodes, self.curve, title)
        except Exception as exc:  # matplotlib's errors have no common base
            log.warning("could not draw the reward curve: %s", exc)

    def result(self, interrupted: bool) -> TrainResult:
        return TrainResult(self.run_dir, self.steps, self.counters["wall_s"], self.curve, self.solved, interrupted)


@contextlib.contextmanager
def interruptible() -> Iterator[Callable[[], None]]:
    """A training's signals. Inside, SIGTERM stops the run as Ctrl-C does (KeyboardInterrupt: a checkpoint, nothing
    left running). The function it yields shields what follows (the clean-up) from both, since a second Ctrl-C must
    not cut it short. On the way out, however it goes, the caller gets its own handlers back (a process that trains
    twice, the panel or a test suite, would otherwise ignore both from then on, and so would its children). Only
    the main thread handles signals: elsewhere (the panel's task threads) this changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return
    previous_sigint = signal.getsignal(signal.SIGINT)
    previous_sigterm = signal.signal(signal.SIGTERM, _interrupt)

    def shield() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    try:
        yield shield
    finally:
        signal.signal(signal.SIGINT, previous_sigint)
        signal.signal(signal.SIGTERM, previous_sigterm)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
