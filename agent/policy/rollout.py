"""Running a policy for whole episodes: several environments side by side, one batched forward pass per step,
each episode reset with its own seed, so that a batched run gives exactly the episodes of a one-by-one run."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from agent.envs.laps import laps_done, last_lap_time
from capture.timing import TimingStats
from models.actor_critic import ActorCritic, mask_state


@dataclass
class Episode:
    ret: float
    steps: int
    info: dict[str, Any]
    """the info of its last step (laps, lap time, score, ... where the environment reports them)"""
    actions: np.ndarray | None = None
    """how many times it took each action (discrete action spaces): a policy that ignores what it sees shows
    as one action taken at every step"""


def env_action(action: torch.Tensor, space: gym.Space) -> Any:
    """One chosen action (no batch dimension) as the environment takes it (continuous ones clipped to the bounds)."""
    if isinstance(space, gym.spaces.Discrete):
        return int(action.item())
    assert isinstance(space, gym.spaces.Box)
    return np.clip(action.numpy(), space.low, space.high)


def returns_of(episodes: list[Episode]) -> np.ndarray:
    return np.array([e.ret for e in episodes])


def lap_times(episodes: list[Episode]) -> list[float]:
    """The last completed lap's time of each episode that completed one (racing environments)."""
    times = [last_lap_time(e.info) for e in episodes if (laps_done(e.info) or 0) >= 1]
    return [t for t in times if t is not None]


def action_shares(episodes: list[Episode]) -> np.ndarray | None:
    """The share of each action over all steps of all episodes (discrete action spaces)."""
    counts = [e.actions for e in episodes if e.actions is not None]
    if not counts:
        return None
    total = np.sum(counts, axis=0)
    return total / max(int(total.sum()), 1)


def run_episodes(
    model: ActorCritic,
    envs: list[gym.Env],
    episodes: int,
    seed: int,
    timing: TimingStats | None = None,
    sample: bool = False,
) -> list[Episode]:
    """``episodes`` episodes with the deterministic (most likely) action, episode i reset with ``seed + i``;
    ``envs`` run side by side with one batched forward pass per step, the same episodes as one by one.
    ``timing`` receives the time of each forward pass and action choice (``decide_ms``).
    ``sample``: draw each action from the policy instead (the policy A3C trains), with a generator seeded by
    ``seed`` so that the same call gives the same episodes.
    """
    envs = envs[: min(len(envs), episodes)]
    space = envs[0].action_space
    results: list[Episode | None] = [None] * episodes
    episode_of = list(range(len(envs)))
    following = len(envs)
    totals = np.zeros(len(envs))
    lengths = np.zeros(len(envs), dtype=np.int64)
    active = np.ones(len(envs), dtype=bool)
    obs = np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(envs)])
    state = model.initial_state(len(envs))
    discrete = isinstance(space, gym.spaces.Discrete)
    counts = np.zeros((len(envs), int(space.n) if isinstance(space, gym.spaces.Discrete) else 0), dtype=np.int64)
    generator = torch.Generator().manual_seed(seed) if sample else None
    with torch.no_grad():
        while active.any():
            t0 = time.perf_counter()
            decision = model.act(torch.as_tensor(obs, dtype=torch.float32), state, greedy=not sample,
                                 generator=generator)  # fmt: skip
            state = decision.state
            if timing is not None:
                timing.add("decide_ms", (time.perf_counter() - t0) * 1000.0)
            keep = torch.ones(len(envs))
            for i in np.flatnonzero(active):
                action = env_action(decision.action[i], space)
                o, reward, terminated, truncated, info = envs[i].step(action)
                totals[i] += float(reward)
                lengths[i] += 1
                if discrete:
                    counts[i, action] += 1
                if terminated or truncated:
                    taken = counts[i].copy() if discrete else None
                    results[episode_of[i]] = Episode(float(totals[i]), int(lengths[i]), info, taken)
                    totals[i], lengths[i], counts[i] = 0.0, 0, 0
                    keep[i] = 0.0
                    if following < episodes:
                        o, _ = envs[i].reset(seed=seed + following)
                        episode_of[i], following = following, following + 1
                    else:
                        active[i] = False
                obs[i] = o
            state = mask_state(state, keep)
    return [episode for episode in results if episode is not None]
