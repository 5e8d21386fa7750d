"""The gym benchmark's report (benchmarks/gym_bench.py): for each pair of learners, the markdown section of
docs/benchmarks.md (settings, the summary and ratio tables, every run) and the learning curves in docs/curves/."""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.learners import LEARNERS
from agent.policy.evaluation import EvalPoint
from benchmarks import screen_loop
from benchmarks.gym_settings import BENCHMARKS, EVAL_EPISODES, FINAL_EPISODES, BenchConfig, Pair


@dataclass
class Run:
    """One algorithm on one env and seed: its learning curve, where it reached the threshold, its final returns."""

    algorithm: str
    env_id: str
    seed: int
    steps: int
    wall_s: float
    curve: list[EvalPoint]
    solved: EvalPoint | None
    returns: list[float]


def _median(values: list[float]) -> float:
    """Median over seeds; a seed that never reached the threshold counts as infinitely late."""
    return float(np.median(values)) if values else float("inf")


def _to_threshold(runs: list[Run], key: str) -> float:
    return _median([getattr(r.solved, key) if r.solved else float("inf") for r in runs])


def seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def _fmt_steps(steps: float, budget: int) -> str:
    return f"{steps:,.0f}" if np.isfinite(steps) else f"> {budget:,}"


def ratio(ours: list[Run], theirs: list[Run], key: str) -> float:
    """Our median to threshold over SB3's: below 1 ours is faster; NaN when either never reached it."""
    a, b = _to_threshold(ours, key), _to_threshold(theirs, key)
    return a / b if np.isfinite(a) and np.isfinite(b) else float("nan")


def _fmt_ratio(value: float) -> str:
    return "—" if np.isnan(value) else f"{value:.2f}"


def plot_curves(path: Path, env_id: str, threshold: float, pair: Pair, runs: list[Run]) -> None:
    """Evaluation mean against environment steps and against wall-clock, one line per algorithm and seed."""
    from matplotlib.ticker import EngFormatter

    fig, axes = screen_loop.figure(1, 2, figsize=(11, 4))
    colours = {pair.name: "tab:blue", str(pair.sb3_name): "tab:orange"}
    names = {pair.name: f"pixelpilot {pair.name}", str(pair.sb3_name): f"SB3 {pair.sb3} (rl-zoo3)"}
    for ax, key, label in ((axes[0], "steps", "environment steps"), (axes[1], "wall_s", "wall-clock (s)")):
        labelled = set()
        for run in runs:
            if not run.curve:
                continue
            xs = [getattr(p, key) for p in run.curve]
            name = None if run.algorithm in labelled else names[run.algorithm]
            labelled.add(run.algorithm)
            ax.plot(xs, [p.mean for p in run.curve], ".-", color=colours[run.algorithm], alpha=0.7, label=name)
        ax.axhline(threshold, color="grey", linestyle="--", linewidth=1, label="threshold")
        ax.set_xlabel(label)
        if key == "steps":
            ax.xaxis.set_major_formatter(EngFormatter())  # 150k, not 150000 (the labels ran into each other)
        ax.set_ylabel(f"mean return, {EVAL_EPISODES} deterministic episodes")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower right")
    fig.suptitle(f"{env_id}: one line per seed")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)


def report(
    config: BenchConfig, pair: Pair, runs: list[Run], curves_dir: Path, doc_dir: Path, command: str, took_s: float
) -> str:
    """The pair's markdown section: the summary and ratio tables, every seed, and the learning curves (written
    here)."""
    summary, ratios, seeds, images = [], [], [], []
    goal = []
    ours_name, theirs_name = pair.name, pair.sb3_name
    algos = (ours_name,) if theirs_name is None else (ours_name, theirs_name)
    for env_id in config.envs_of(pair):
        bench, budget = BENCHMARKS[env_id], config.steps(env_id, pair)
        by_algo = {a: [r for r in runs if r.env_id == env_id and r.algorithm == a] for a in algos}
        for algo, algo_runs in by_algo.items():
            returns = np.concatenate([r.returns for r in algo_runs])
            seed_means = ", ".join(f"{np.mean(r.returns):.1f}" for r in algo_runs)
            reached = sum(r.solved is not None for r in algo_runs)
            steps, wall = _to_threshold(algo_runs, "steps"), _to_threshold(algo_runs, "wall_s")
            summary.append(
                f"| {env_id} | {bench.threshold:g} | {algo} | {np.mean(returns):.1f} ± {np.std(returns):.1f} | "
                f"{seed_means} | {reached}/{len(algo_runs)} | {_fmt_steps(steps, budget)} | "
                + (f"{seconds(wall)} |" if np.isfinite(wall) else "— |")
            )
            seeds += [
                f"| {env_id} | {algo} | {r.seed} | "
                + (f"{r.solved.steps:,} | {seconds(r.solved.wall_s)}" if r.solved else "— | —")
                + f" | {r.steps:,} | {seconds(r.wall_s)} | {np.mean(r.returns):.1f} ± {np.std(r.returns):.1f} |"
                for r in algo_runs
            ]
        ours, theirs = by_algo[ours_name], by_algo.get(str(theirs_name), [])
        if theirs_name is not None:
            ratios.append(f"| {env_id} | {_fmt_ratio(ratio(ours, theirs, 'steps'))} | "
                          f"{_fmt_ratio(ratio(ours, theirs, 'wall_s'))} |")  # fmt: skip
        if env_id in pair.goal_envs:
            goal.append((env_id, ratio(ours, theirs, "wall_s")))
        image = curves_dir / (f"gym_{env_id}.png" if pair.learner == "a3c" else f"gym_{pair.learner}_{env_id}.png")
        plot_curves(image, env_id, bench.threshold, pair, ours + theirs)
        images.append(f"![{env_id}]({Path(os.path.relpath(image, doc_dir)).as_posix()})")

    if pair.learner == "a3c":
        how = (
            f"A3C: `agent.a3c` with {config.workers} workers and one torch thread per process. Its clock includes "
            "making the model, environments and processes (forked from a fork server started before any clock, as "
            "A2C's process imported torch before its clock). Its evaluator is another process, running while the "
            "workers train and taking CPU from them; a result counts at the clock of the snapshot it evaluated. "
            "A2C: Stable-Baselines3 with rl-zoo3 2.9.2's hyperparameters (`hyperparams/a2c.yml`) in one "
            "process with one torch thread; its evaluations block training and its clock stops while it evaluates. "
        )
    else:
        package = LEARNERS[pair.learner].module.rsplit(".", 1)[0]
        how = (
            f"{ours_name}: `{package}` in one process with one torch thread; its clock includes "
            "making the model and environments, and the evaluations it runs in between updates. "
        )
        if pair.sb3 is not None:
            how += (
                f"SB3's: rl-zoo3 2.9.2's hyperparameters (`hyperparams/{pair.sb3.lower()}.yml`) in one process with "
                "one torch thread; its clock stops while it evaluates (which favours SB3). "
            )
    title = (
        f"pixelpilot's {ours_name} next to Stable-Baselines3 {pair.sb3}"
        if pair.sb3
        else f"pixelpilot's {ours_name} (Stable-Baselines3 has no {ours_name})"
    )
    theirs_column = f" {theirs_name} (rl-zoo3) |" if theirs_name else ""
    lines = [
        f"## Gymnasium benchmarks: {title}",
        "",
        f"`{command}` on {datetime.date.today()}, {took_s / 60:.0f} min: "
        f"{screen_loop.machine().removesuffix(', Xvfb + openbox')}. Seeds {', '.join(map(str, config.seeds))}.",
        "",
        how
        + f"Every evaluation is {EVAL_EPISODES} deterministic episodes on a separate env"
        + (", on the same step schedule for both" if pair.sb3 else "")
        + "; a run stops at the first evaluation reaching the threshold or at its step budget. Final return: "
        "the policy that reached the threshold (for ours the weights that evaluation measured, `best.pt`), else the "
        f"last one, {FINAL_EPISODES} episodes per seed. To threshold: median over seeds of "
        "the first evaluation reaching it (a seed that never did counts as later than any).",
        "",
        f"| env | budget (steps) | evaluation every | {ours_name} (its preset: besides the defaults) |{theirs_column}",
        "|---|---:|---:|---|" + ("---|" if theirs_name else ""),
        *(
            f"| {e} | {config.steps(e, pair):,} | {config.eval_every(e, pair):,} | "
            f"{', '.join(f'{k} {v}' for k, v in pair.ours(e).items()) or '—'} |"
            + (f" {', '.join(f'{k} {v}' for k, v in pair.theirs(BENCHMARKS[e]).items())} |" if theirs_name else "")
            for e in config.envs_of(pair)
        ),
        "",
        f"| env | threshold | algorithm | final return ({FINAL_EPISODES} episodes × {len(config.seeds)} seeds) | "
        "per seed | seeds reaching threshold | env steps to threshold | wall-clock to threshold |",
        "|---|---:|---|---:|---|---:|---:|---:|",
        *summary,
        "",
    ]
    if ratios:
        lines += [
            f"{ours_name} / {theirs_name} to threshold (below 1: {ours_name} is faster):",
            "",
            "| env | env steps | wall-clock |",
            "|---|---:|---:|",
            *ratios,
            "",
        ]
    if goal:
        lines += [
            f"Goal: {ours_name} reaches the threshold in less wall-clock than {theirs_name} on "
            f"{' and '.join(pair.goal_envs)} → {'met' if all(r < 1 for _, r in goal) else 'not met'} (wall-clock "
            f"ratio {', '.join(f'{e} {_fmt_ratio(r)}' for e, r in goal)}).",
            "",
        ]
    lines += [
        "<details><summary>Every run</summary>",
        "",
        "| env | algorithm | seed | reached at (steps) | reached at (wall-clock) | steps run | wall-clock run "
        "| final return |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
        *seeds,
        "",
        "</details>",
        "",
        "Learning curves (evaluation mean against environment steps and against wall-clock):",
        "",
        *images,
    ]
    return "\n".join(lines)
