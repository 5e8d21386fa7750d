"""Q-learning, Sarsa and Sarsa(λ) side by side on the seed documents' maze (``pixelpilot/GridMaze-v0``), with the
documents' settings: the same episodes and seeds for each, a table of what they learned and their learning curves.

The shortest way to the goal takes 6 steps (round either trap); after training, each table's greedy policy is run
once from the start to see whether it found it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np

from agent.envs import GRID_MAZE_ENV
from agent.tabular.learners import LEARNERS, TableLearner, TableOptions

SHORTEST = 6
"""steps of the shortest way from the start to the goal"""


@dataclass
class Curve:
    """One learner's episodes over several seeds."""

    name: str
    returns: np.ndarray
    """(seeds, episodes)"""
    lengths: np.ndarray
    """(seeds, episodes)"""
    greedy_steps: list[int | None]
    """per seed: steps of the learned greedy policy to the goal (None: it never got there)"""


def greedy_steps(learner: TableLearner, env: gym.Env, limit: int = 50) -> int | None:
    """Steps the table's greedy policy takes from the start to the goal, or None (a trap, or not there in time)."""
    state, _ = env.reset()
    for step in range(1, limit + 1):
        state, reward, terminated, _, _ = env.step(int(np.argmax(learner.q[state])))
        if terminated:
            return step if float(reward) > 0 else None
    return None


def compare(episodes: int, seeds: int, options: TableOptions) -> list[Curve]:
    """Every learner for ``episodes`` episodes on each of ``seeds`` seeds (the same seeds for each)."""
    curves = []
    for cls in LEARNERS:
        returns, lengths, greedy = np.zeros((seeds, episodes)), np.zeros((seeds, episodes)), []
        for seed in range(seeds):
            env = gym.make(GRID_MAZE_ENV)
            assert isinstance(env.observation_space, gym.spaces.Discrete)
            assert isinstance(env.action_space, gym.spaces.Discrete)
            learner = cls(int(env.observation_space.n), int(env.action_space.n), options, np.random.default_rng(seed))
            for episode in range(episodes):
                returns[seed, episode], lengths[seed, episode] = learner.episode(env, seed if episode == 0 else None)
            greedy.append(greedy_steps(learner, env))
            env.close()
        curves.append(Curve(cls.name, returns, lengths, greedy))
    return curves


def table(curves: list[Curve], options: TableOptions) -> str:
    """The comparison as markdown."""
    seeds, episodes = curves[0].returns.shape
    last = max(1, episodes // 5)
    lines = [
        f"{episodes} episodes × {seeds} seeds on {GRID_MAZE_ENV}: lr {options.lr:g}, γ {options.gamma:g}, greedy "
        f"{options.greedy:g}, λ {options.trace_decay:g} (Sarsa(λ))",
        "",
        f"| learner | first goal (median episode) | goal reached, last {last} episodes | steps per episode, last "
        f"{last} | greedy policy: seeds reaching the goal | its steps (shortest: {SHORTEST}) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for curve in curves:
        firsts = [int(np.argmax(r > 0)) + 1 if (r > 0).any() else None for r in curve.returns]
        found = [f for f in firsts if f is not None]
        reached = [s for s in curve.greedy_steps if s is not None]
        first = f"{np.median(found):.0f}" if found else "never"
        steps = ", ".join(map(str, reached)) or "—"
        lines.append(
            f"| {curve.name} | {first} | {np.mean(curve.returns[:, -last:] > 0):.0%} | "
            f"{np.mean(curve.lengths[:, -last:]):.1f} | {len(reached)}/{seeds} | {steps} |"
        )
    return "\n".join(lines)


def plot(curves: list[Curve], path: Path) -> None:
    """The three learning curves side by side: the share of episodes reaching the goal and the steps per episode
    (a moving mean over 10 episodes, the mean over seeds). Drawn with matplotlib's object API (no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4))
    FigureCanvasAgg(fig)
    goal_ax, steps_ax = fig.subplots(1, 2)
    window = np.ones(10) / 10
    for curve in curves:
        x = np.arange(10, curve.returns.shape[1] + 1)
        goal_ax.plot(x, np.convolve((curve.returns > 0).mean(axis=0), window, "valid"), label=curve.name)
        steps_ax.plot(x, np.convolve(curve.lengths.mean(axis=0), window, "valid"), label=curve.name)
    goal_ax.set(xlabel="episode", ylabel="share reaching the goal", title="reaching the goal")
    steps_ax.axhline(SHORTEST, color="grey", linestyle="--", linewidth=1, label="shortest way")
    steps_ax.set(xlabel="episode", ylabel="steps per episode", title="steps per episode", yscale="log")
    goal_ax.legend()
    steps_ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
