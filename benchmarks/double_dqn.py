"""Natural DQN's overestimation next to Double DQN's, as the seed documents show it: both train on Pendulum with 11
torques (``pixelpilot/DiscretePendulum-v1``, DQN's preset there), same seeds and settings but the target.

Two measures. The curve: ``q_max``, the mean max_a Q(s, a) of the states the run acts in (the documents' "Q eval"),
against environment steps. Pendulum's reward is at most 0 (0 upright and still), so every true value is at most 0,
and an estimate above 0 is an overestimate wherever it appears. The number: after training, the greedy policy drives
``--episodes`` episodes; at each of an episode's first 100 steps, the value the network gives the action it takes,
Q(s_t, a_t), is set against the discounted return that followed, G_t (the 200-step time limit cuts the sum 100
steps later at the earliest, where γ^100 leaves 13% weight, of rewards near 0 once the pendulum is up). Their mean
difference is the bias of the estimates on the policy's own states.

Results go to the console, docs/benchmarks.md (between this benchmark's markers) and
docs/curves/double_dqn_pendulum.png. About 5 minutes on two cores.
Run: .venv/bin/python benchmarks/double_dqn.py [--seeds 1 2 3] [--episodes 10]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.envs import DISCRETE_PENDULUM_ENV  # noqa: E402
from agent.learners import LEARNERS  # noqa: E402
from agent.runs import timestamp  # noqa: E402
from benchmarks import screen_loop  # noqa: E402

START, END = "<!-- double_dqn:start -->", "<!-- double_dqn:end -->"
HORIZON = 100
"""steps of each evaluation episode whose estimates are compared with the return that followed"""
EVAL_SEED = 10_000


@dataclass
class Result:
    double: bool
    seed: int
    wall_s: float
    curve: list[tuple[int, float]]
    """(steps, q_max) of each progress row"""
    final_return: float
    """mean return of the greedy policy's episodes after training"""
    estimate: float
    """mean Q(s_t, a_t) over the first HORIZON steps of those episodes"""
    realised: float
    """mean discounted return G_t over the same steps"""

    @property
    def name(self) -> str:
        return "Double DQN" if self.double else "natural DQN"


def train_one(double: bool, seed: int, runs_dir: Path, episodes: int) -> Result:
    from agent.dqn.algorithm import train

    args = dataclasses.replace(LEARNERS["dqn"].starting_args(DISCRETE_PENDULUM_ENV), double=double, seed=seed,
                               runs_dir=str(runs_dir), run_name=f"{'double' if double else 'natural'}-s{seed}",
                               progress=False)  # fmt: skip
    result = train(args)
    if result.interrupted:
        raise KeyboardInterrupt
    with (result.run_dir / "progress.csv").open() as f:
        curve = [(int(float(r["steps"])), float(r["q_max"])) for r in csv.DictReader(f) if r["q_max"] != "nan"]
    final, estimate, realised = estimates(result.run_dir / "checkpoints" / "latest.pt", args.gamma, episodes)
    return Result(double, seed, result.wall_s, curve, final, estimate, realised)


def estimates(checkpoint: Path, gamma: float, episodes: int) -> tuple[float, float, float]:
    """(mean return, mean Q(s_t, a_t), mean G_t) of the greedy policy over ``episodes`` episodes, the last two over
    each episode's first HORIZON steps."""
    import gymnasium as gym
    import torch

    from agent.policy.checkpoint import load_checkpoint
    from models.qnet import QNetwork

    model = load_checkpoint(checkpoint).model()
    assert isinstance(model, QNetwork)
    env = gym.make(DISCRETE_PENDULUM_ENV)
    returns, values, realised = [], [], []
    try:
        for i in range(episodes):
            obs, _ = env.reset(seed=EVAL_SEED + i)
            q_taken, rewards = [], []
            while True:
                with torch.no_grad():
                    q = model.q(torch.as_tensor(obs, dtype=torch.float32)[None])[0]
                action = int(q.argmax())
                q_taken.append(float(q[action]))
                obs, reward, terminated, truncated, _ = env.step(action)
                rewards.append(float(reward))
                if terminated or truncated:
                    break
            returns.append(sum(rewards))
            to_go = np.zeros(len(rewards))
            running = 0.0
            for t in reversed(range(len(rewards))):
                running = rewards[t] + gamma * running
                to_go[t] = running
            values += q_taken[:HORIZON]
            realised += to_go[:HORIZON].tolist()
    finally:
        env.close()
    return float(np.mean(returns)), float(np.mean(values)), float(np.mean(realised))


def plot(path: Path, results: list[Result]) -> None:
    from matplotlib.ticker import EngFormatter

    fig, axes = screen_loop.figure(1, 2, figsize=(11, 4))
    colours = {False: "tab:red", True: "tab:blue"}
    labelled: set[bool] = set()
    for r in results:
        steps, q = zip(*r.curve, strict=True) if r.curve else ((), ())
        axes[0].plot(steps, q, color=colours[r.double], alpha=0.7, label=None if r.double in labelled else r.name)
        labelled.add(r.double)
    axes[0].axhline(0.0, color="grey", linestyle="--", linewidth=1, label="the highest true value (0)")
    axes[0].set(xlabel="environment steps", ylabel="mean max_a Q(s, a) while acting", title="Q eval during training")
    axes[0].xaxis.set_major_formatter(EngFormatter())
    axes[0].legend(loc="lower right")
    axes[0].grid(alpha=0.3)
    for x, double in enumerate((False, True)):
        mine = [r for r in results if r.double == double]
        bias = [r.estimate - r.realised for r in mine]
        axes[1].scatter([x] * len(bias), bias, color=colours[double], zorder=3)
        axes[1].bar(x, float(np.mean(bias)), color=colours[double], alpha=0.3)
    axes[1].axhline(0.0, color="grey", linewidth=1)
    axes[1].set_xticks([0, 1], ["natural DQN", "Double DQN"])
    axes[1].set(ylabel="mean Q(s_t, a_t) - G_t", title=f"bias of the estimates, greedy policy, first {HORIZON} steps")
    axes[1].grid(alpha=0.3, axis="y")
    fig.suptitle(f"{DISCRETE_PENDULUM_ENV}: one line or point per seed")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)


def report(results: list[Result], command: str, took_s: float, image: Path, episodes: int) -> str:
    rows = []
    for double in (False, True):
        mine = [r for r in results if r.double == double]
        bias = [r.estimate - r.realised for r in mine]
        late = [float(np.mean([q for _, q in r.curve[3 * len(r.curve) // 4 :]])) for r in mine]
        rows.append(
            f"| {mine[0].name} | {np.mean([r.final_return for r in mine]):.1f} | "
            f"{np.mean([r.estimate for r in mine]):.2f} | {np.mean([r.realised for r in mine]):.2f} | "
            f"{np.mean(bias):+.2f} ({', '.join(f'{b:+.2f}' for b in bias)}) | "
            f"{', '.join(f'{q:.2f}' for q in late)} | {np.median([r.wall_s for r in mine]):.0f} s |"
        )
    relative = Path("curves") / image.name
    return "\n".join([
        "## Double DQN against natural DQN's overestimation (Pendulum with 11 torques)",
        "",
        f"`{command}` on {datetime.date.today()}, {took_s / 60:.0f} min: "
        f"{screen_loop.machine().removesuffix(', Xvfb + openbox')}. Seeds "
        f"{', '.join(str(r.seed) for r in results if not r.double)}; DQN's preset for {DISCRETE_PENDULUM_ENV} "
        "(`agent/dqn/presets.py`), the same for both but `--double`.",
        "",
        "Pendulum's reward is at most 0, so no true value is above 0. Estimate and realised return: the greedy "
        f"policy after training, {episodes} episodes per seed, each episode's first {HORIZON} steps: Q(s_t, a_t) "
        "and the discounted return G_t that followed.",
        "",
        "| learner | final return (mean) | estimate Q(s_t, a_t) | realised G_t | bias (per seed) | q_max over the "
        "last quarter of training (per seed) | wall-clock (median) |",
        "|---|---:|---:|---:|---:|---|---:|",
        *rows,
        "",
        f"![Q estimates of natural and Double DQN]({relative.as_posix()})",
        "",
    ])  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3], help="seeds (default 1 2 3)")
    parser.add_argument("--episodes", type=int, default=10, help="greedy episodes per seed after training")
    parser.add_argument("--runs", type=Path, default=Path("runs/bench"), help="run folders go under this one")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    started = time.monotonic()
    runs_dir = args.runs / f"double-dqn-{timestamp()}"
    results = []
    for seed in args.seeds:
        for double in (False, True):
            r = train_one(double, seed, runs_dir, args.episodes)
            print(f"seed {seed} {r.name}: return {r.final_return:.1f}, estimate {r.estimate:.2f}, realised "
                  f"{r.realised:.2f}, {r.wall_s:.0f} s", flush=True)  # fmt: skip
            results.append(r)
    image = (runs_dir if args.no_write else screen_loop.DOC.parent / "curves") / "double_dqn_pendulum.png"
    plot(image, results)
    options = [f"--seeds {' '.join(map(str, args.seeds))}"] if args.seeds != [1, 2, 3] else []
    options += [f"--episodes {args.episodes}"] if args.episodes != 10 else []
    command = " ".join(["pixelpilot bench double_dqn", *options])
    text = report(results, command, time.monotonic() - started, image, args.episodes)
    print(text)
    if not args.no_write:
        screen_loop.write_section(text, START, END)
        print(f"\nwritten to {screen_loop.DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
