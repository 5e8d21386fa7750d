"""In-process environment speed: NeonRace-v0 next to gymnasium's CarRacing-v3, one core, same run.

Steps per second with random actions, including producing the observation each step (NeonRace: render at
200x128 + the shared preprocess; CarRacing: its own 96x96 RGB observation, and the same 96x96 frame through
pixelpilot's preprocess to 128x200x1 for a like-for-like observation). Also the scripted expert's reference
lap times and scores per difficulty.

Run: make bench, or .venv/bin/python benchmarks/neonrace_speed.py [--steps N]
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.screen_loop import machine, publish  # noqa: E402

START, END = "<!-- neonrace_speed:start -->", "<!-- neonrace_speed:end -->"


def steps_per_second(
    make_env: Callable[[], gym.Env], steps: int, observe: Callable[[np.ndarray], object] | None = None
) -> float:
    env = make_env()
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(steps)]
    start = time.perf_counter()
    for action in actions:
        obs, _, terminated, truncated, _ = env.step(action)
        if observe is not None:
            observe(obs)
        if terminated or truncated:
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def expert_references(seeds: int) -> list[tuple[str, float, float, float, int]]:
    from games.neonrace.expert import drive
    from games.neonrace.sim import Game

    rows = []
    for difficulty in ("easy", "normal", "hard"):
        laps, scores, finished = [], [], 0
        for seed in range(seeds):
            state = drive(Game(seed, difficulty, 1)).state
            finished += state.finished
            laps.append(state.race_time)
            scores.append(state.score)
        rows.append((difficulty, float(np.mean(laps)), float(np.std(laps)), float(np.mean(scores)), finished))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000, help="steps per environment (default 5000)")
    parser.add_argument("--seeds", type=int, default=10, help="tracks per difficulty for the expert (default 10)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()

    import torch

    import agent.envs  # noqa: F401 - registers the environments
    from capture.preprocess import preprocess

    torch.set_num_threads(1)
    rows = [
        (
            "pixelpilot/NeonRace-v0 (128x200x1 obs, frame skip 2)",
            steps_per_second(lambda: gym.make("pixelpilot/NeonRace-v0"), args.steps),
        ),
    ]
    try:
        import Box2D  # noqa: F401
    except ImportError:
        rows.append(("CarRacing-v3: not installed (pip install 'gymnasium[box2d]')", float("nan")))
    else:
        rows.append(
            (
                "CarRacing-v3 (96x96x3 obs, no frame skip)",
                steps_per_second(lambda: gym.make("CarRacing-v3"), args.steps),
            )
        )
        rows.append(
            (
                "CarRacing-v3 + preprocess to 128x200x1",
                steps_per_second(lambda: gym.make("CarRacing-v3"), args.steps, observe=preprocess),
            )
        )
    experts = expert_references(args.seeds)

    lines = [
        "## In-process environment speed (issue 3)",
        "",
        f"`make bench` ({args.steps} random-action steps each, one core) on {datetime.date.today()}: {machine()}.",
        "",
        "| environment | steps/s |",
        "|---|---:|",
        *(f"| {name} | {sps:,.0f} |" for name, sps in rows),
        "",
        f"Goal: NeonRace-v0 ≥ 2000 steps/s including the observation → {rows[0][1]:,.0f}.",
        "",
        f"Scripted expert, one lap, {args.seeds} track seeds per difficulty (the reference for pilots):",
        "",
        "| difficulty | lap time (s) | score | laps finished |",
        "|---|---:|---:|---:|",
        *(f"| {d} | {m:.1f} ± {s:.1f} | {sc:,.0f} | {f}/{args.seeds} |" for d, m, s, sc, f in experts),
    ]
    publish(lines, START, END, write=not args.no_write)


if __name__ == "__main__":
    main()
