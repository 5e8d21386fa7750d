"""The files of one training run: ``config.toml``, ``progress.csv``, TensorBoard events and the reward curve
(checkpoints are the trainer's). Metrics are namespaced as TensorBoard shows them: ``charts/...`` for what the run
achieves and how it behaves (returns, evaluations, the share of each action), ``losses/...`` for the optimisation
(the losses, entropy, the critic's explained variance, the gradient norm), ``health/...`` for the network (how much
its features change over time, how saturated an LSTM is): the readings where collapse shows while it happens."""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agent.config import to_toml
from agent.learning.args import RunArgs
from agent.policy.evaluation import EvalPoint

HEALTH = ("feature_std", "lstm_saturation", "gate_saturation")


class RunLog:
    COLUMNS = ("wall_s", "steps", "updates", "episodes", "sps", "episodic_return", "eval_return",
               "policy_loss", "value_loss", "entropy", "grad_norm", "eval_laps", "kl_to_init", "explained_variance",
               "top_action_share", *HEALTH, "eval_lap_time", "eval_top_action_share", "approx_kl",
               "clip_fraction", "q_mean", "epsilon", "q_max", "actor_grad_norm", "demo_margin_loss",
               "demo_agreement")  # fmt: skip

    def __init__(self, run_dir: Path, args: RunArgs, resumed: bool) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.dir = run_dir
        (run_dir / "config.toml").write_text(
            f"# pixelpilot train --algo {args.label} --config {run_dir / 'config.toml'} reproduces this run\n"
            + to_toml(dataclasses.asdict(args))
        )
        new_csv = not (resumed and (run_dir / "progress.csv").exists())
        self._csv_file = (run_dir / "progress.csv").open("w" if new_csv else "a", newline="")
        self.csv = csv.writer(self._csv_file)
        if new_csv:
            self.csv.writerow(self.COLUMNS)
        self.writer = SummaryWriter(str(run_dir))

    def row(self, values: dict[str, float]) -> None:
        self.csv.writerow([f"{values.get(c, float('nan')):.6g}" for c in self.COLUMNS])
        self._csv_file.flush()

    def episode(self, ret: float, length: int, steps: int) -> None:
        self.writer.add_scalar("charts/episodic_return", ret, steps)
        self.writer.add_scalar("charts/episodic_length", length, steps)

    def losses(self, values: dict[str, float], sps: float, steps: int) -> None:
        for name, value in values.items():
            if not math.isnan(value):  # kl_to_init without a reference
                self.writer.add_scalar(f"losses/{name}", value, steps)
        self.writer.add_scalar("charts/SPS", sps, steps)

    def behaviour(self, shares: dict[str, float], health: dict[str, float], steps: int) -> None:
        """The share of each action the policy sampled, and the network's health readings."""
        for name, share in shares.items():
            self.writer.add_scalar(f"charts/action_share/{name}", share, steps)
        for name, value in health.items():
            self.writer.add_scalar(f"health/{name}", value, steps)

    def evaluation(self, point: EvalPoint, counters: dict[str, Any]) -> None:
        self.writer.add_scalar("charts/eval_return", point.mean, point.steps)
        self.writer.add_scalar("charts/eval_return_std", point.std, point.steps)
        if point.laps is not None:
            self.writer.add_scalar("charts/eval_lap_completion", point.laps, point.steps)
        if point.lap_time is not None:
            self.writer.add_scalar("charts/eval_lap_time", point.lap_time, point.steps)
        top = max(point.action_shares) if point.action_shares else float("nan")
        if point.action_shares:
            self.writer.add_scalar("charts/eval_top_action_share", top, point.steps)
        self.row({"wall_s": point.wall_s, "steps": point.steps, "updates": counters["updates"],
                  "episodes": counters["episodes"], "eval_return": point.mean,
                  "eval_laps": float("nan") if point.laps is None else point.laps,
                  "eval_lap_time": float("nan") if point.lap_time is None else point.lap_time,
                  "eval_top_action_share": top})  # fmt: skip

    def close(self) -> None:
        self.writer.close()
        self._csv_file.close()


def moving_mean(values: Sequence[float]) -> tuple[int, np.ndarray]:
    """The smoothing of a curve of training returns: means over windows of a 50th of them (at least 1), and that
    window; the i-th mean ends at value ``i + window - 1``."""
    window = max(1, len(values) // 50)
    return window, np.convolve(values, np.ones(window) / window, mode="valid")


def plot_curve(path: Path, episodes: list[tuple[int, float]], curve: list[EvalPoint], title: str) -> None:
    """The run's reward curve as a PNG: training episodes, their moving mean, the evaluations. Drawn with
    matplotlib's object API (no pyplot state), so any thread may draw it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if episodes:
        steps, returns = zip(*episodes, strict=True)
        ax.plot(steps, returns, ".", alpha=0.25, label="training episodes")
        window, smooth = moving_mean(returns)
        ax.plot(steps[window - 1 :], smooth, label=f"training, mean of {window}")
    if curve:
        ax.errorbar([p.steps for p in curve], [p.mean for p in curve], [p.std for p in curve], fmt="o-",
                    label="evaluation")  # fmt: skip
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episodic return")
    ax.set_title(title)
    if episodes or curve:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
