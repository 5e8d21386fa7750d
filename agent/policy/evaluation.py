"""``pixelpilot evaluate``: a checkpoint's deterministic policy for K episodes, in-process or through a game's
window, reported as returns, score, lap completion, lap time and decision latency.

In-process, several environments run side by side (one batched forward pass per step: the decision latency
is that of the batch). Through the screen (``profile``), episodes run one by one in the game's window on a
virtual desktop of its own (``display="virtual"``) or on a given display, where capture and key-send latencies
come from the screen environment itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from agent.config import ConfigError
from agent.envs import SCREEN_ENV
from agent.envs.laps import lap_completion, race_fields
from agent.envs.make import close_all, make_envs
from agent.policy.checkpoint import load_checkpoint
from agent.policy.rollout import Episode, action_shares, lap_times, returns_of, run_episodes
from capture.timing import TimingStats
from control.actions import ACTION_NAMES, ActionTable
from models.actor_critic import ActorCritic

EVAL_BATCH = 10
"""environments an evaluation runs side by side by default"""


@dataclass
class EvalPoint:
    """One evaluation of a training run: the mean and spread of its episodes' returns at a step and time."""

    steps: int
    wall_s: float
    mean: float
    std: float
    laps: float | None = None
    """the share of episodes that completed a lap (racing environments only)"""
    lap_time: float | None = None
    """the mean lap time (s) of the episodes that completed one (racing environments only)"""
    action_shares: tuple[float, ...] | None = None
    """the share of each action among the evaluation's choices (discrete actions): a policy blind to the picture
    takes one action at every step"""


def eval_point(
    model: ActorCritic, envs: list[gym.Env], episodes: int, seed: int, sample: bool, steps: int, wall_s: float
) -> EvalPoint:
    """One evaluation of ``model`` during training: the same episodes each time (and with ``sample`` the same
    draws), stamped with the training's steps and clock."""
    results = run_episodes(model, envs, episodes, seed, sample=sample)
    returns = returns_of(results)
    completion = lap_completion([e.info for e in results])
    times, shares = lap_times(results), action_shares(results)
    return EvalPoint(steps, wall_s, float(returns.mean()), float(returns.std()), completion,
                     float(np.mean(times)) if times else None,
                     None if shares is None else tuple(float(s) for s in shares))  # fmt: skip


@dataclass
class Evaluation:
    env_id: str
    env_kwargs: dict[str, Any]
    episodes: list[Episode]
    batch: int
    """environments run side by side (the batch of each decision)"""
    timing: dict[str, dict[str, float]] = field(default_factory=dict)
    """latency percentiles (ms) per measure: decide_ms, and capture_ms / send_ms through the screen"""
    sampled: bool = False
    """actions drawn from the policy, not its most likely ones"""

    @property
    def returns(self) -> list[float]:
        return [e.ret for e in self.episodes]

    @property
    def mean(self) -> float:
        return float(returns_of(self.episodes).mean())

    @property
    def std(self) -> float:
        return float(returns_of(self.episodes).std())

    @property
    def lap_completion(self) -> float | None:
        return lap_completion([e.info for e in self.episodes])

    @property
    def lap_times(self) -> list[float]:
        """The last completed lap's time of each episode that completed one."""
        return lap_times(self.episodes)

    @property
    def action_shares(self) -> np.ndarray | None:
        """The share of each action over all steps of all episodes (discrete action spaces)."""
        return action_shares(self.episodes)

    @property
    def scores(self) -> list[float]:
        scores = [race_fields(e.info).get("score") for e in self.episodes]
        return [float(s) for s in scores if s is not None]


def policy_episodes(act: Callable[[Any], Any], env: gym.Env, episodes: int, seed: int) -> list[Episode]:
    """Episodes of a policy that is not a checkpoint (``act(observation) -> action``: a scripted driver, a random
    one, another library's model), episode i reset with ``seed + i`` as :func:`evaluate` does."""
    results = []
    space = env.action_space
    discrete = isinstance(space, gym.spaces.Discrete)
    for i in range(episodes):
        obs, info = env.reset(seed=seed + i)
        total, steps, done = 0.0, 0, False
        counts = np.zeros(int(space.n) if isinstance(space, gym.spaces.Discrete) else 0, dtype=np.int64)
        while not done:
            action = act(obs)
            obs, reward, terminated, truncated, info = env.step(action)
            total, steps = total + float(reward), steps + 1
            if discrete:
                counts[int(action)] += 1
            done = terminated or truncated
        results.append(Episode(total, steps, info, counts if discrete else None))
    return results


def evaluate(
    checkpoint: str | Path,
    episodes: int = 10,
    seed: int = 10_000,
    env_id: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
    render_mode: str | None = None,
    profile: str | None = None,
    display: str = "virtual",
    sample: bool = False,
    batch: int = EVAL_BATCH,
) -> Evaluation:
    """Run ``checkpoint``'s deterministic policy for ``episodes`` episodes, episode i reset with ``seed + i``: on
    ``env_id`` made with ``env_kwargs``, through ``profile``'s game window on ``display``, or (neither given) on the
    environment it was trained on, when that is pixelpilot's or Gymnasium's own (``env_kwargs`` then override some
    of its arguments). ``sample``: draw the actions from the policy instead (what A3C trains; a cloned policy's most
    likely action can drive worse than the policy). ``batch`` environments run side by side (one when a person
    watches)."""
    if episodes < 1:
        raise ConfigError(f"episodes: invalid value {episodes!r}")
    loaded = load_checkpoint(checkpoint)
    if profile is not None:
        from agent.envs.screen import display_kwargs

        if env_id is not None:
            raise ConfigError("a profile evaluates through the game's window (pixelpilot/Screen-v0); leave out --env")
        env_id, env_kwargs = SCREEN_ENV, display_kwargs(profile, display, env_kwargs or {})
    elif env_id is None or env_id == loaded.env_id:  # the training env, with some of its arguments changed
        env_id, trained_kwargs = loaded.builtin_env()
        env_kwargs = {**trained_kwargs, **(env_kwargs or {})}
    env_kwargs = env_kwargs or {}
    model = loaded.model()
    timing = TimingStats(window=100_000)
    count = 1 if render_mode == "human" else min(batch, episodes)
    envs = make_envs(env_id, env_kwargs, count, loaded.spec.frame_stack, render_mode)
    try:
        mismatch = loaded.spec.mismatch(envs[0].observation_space, envs[0].action_space)
        if mismatch:
            raise ConfigError(f"{loaded.where} (trained on {loaded.env_id}) cannot drive {env_id}: {mismatch}")
        results = run_episodes(model, envs, episodes, seed, timing, sample)
        summary = timing.summary()
        screen_timing = getattr(envs[0].unwrapped, "timing", None)
        if isinstance(screen_timing, TimingStats):
            summary |= {k: v for k, v in screen_timing.summary().items() if k in ("capture_ms", "send_ms")}
    finally:
        close_all(envs)
    return Evaluation(env_id, env_kwargs, results, min(len(envs), episodes), summary, sample)


def action_names(env_id: str, n: int) -> list[str]:
    """The names of pixelpilot's driving actions (with the profile's no-op where it has one), else the indices."""
    if env_id.startswith("pixelpilot/") and n - len(ACTION_NAMES) in (0, 1):
        return list(ActionTable(noop=n > len(ACTION_NAMES)).names)
    return [str(i) for i in range(n)]


def report(evaluation: Evaluation) -> str:
    """The evaluation as a few lines for the console."""
    e = evaluation
    kwargs = ", ".join(f"{k}={v}" for k, v in e.env_kwargs.items() if k != "private_display")
    lines = [
        f"{len(e.episodes)} episodes on {e.env_id}"
        + (f" ({kwargs})" if kwargs else "")
        + (", sampled actions" if e.sampled else "")
        + ": "
        f"return {e.mean:.1f} ± {e.std:.1f} (min {min(e.returns):.1f}, max {max(e.returns):.1f}), "
        f"{np.mean([x.steps for x in e.episodes]):.0f} steps per episode"
    ]
    if e.scores:
        lines.append(f"score {np.mean(e.scores):.0f} ± {np.std(e.scores):.0f}")
    completion = e.lap_completion
    if completion is not None:
        done = round(completion * len(e.episodes))
        line = f"lap completed in {done}/{len(e.episodes)} episodes ({completion:.0%})"
        if e.lap_times:
            line += f"; lap time {np.mean(e.lap_times):.2f} ± {np.std(e.lap_times):.2f} s (best {min(e.lap_times):.2f})"
        lines.append(line)
    shares = e.action_shares
    if shares is not None:
        names = action_names(e.env_id, len(shares))
        taken = sorted((share, name) for name, share in zip(names, shares, strict=True) if share > 0)
        lines.append("actions: " + ", ".join(f"{name} {share:.0%}" for share, name in reversed(taken)))
    labels = {"decide_ms": f"decision (batch {e.batch})", "capture_ms": "capture", "send_ms": "key send"}
    latency = [
        f"{label} p50 {e.timing[name]['p50']:.2f} ms, p99 {e.timing[name]['p99']:.2f} ms"
        for name, label in labels.items()
        if name in e.timing
    ]
    if latency:
        lines.append("latency: " + "; ".join(latency))
    return "\n".join(lines)
