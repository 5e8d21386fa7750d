"""What on-policy learners share: rolling out a model in environments stepped side by side, and the returns and
advantages of a rollout (GAE(λ)).

Episode ends: *terminated* (the task ended) contributes no value after it; *truncated* (a time limit) is
bootstrapped with the value of its final observation, since the task went on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import torch

from agent.envs.make import make_env
from agent.learning.args import RunArgs
from models.actor_critic import ActorCritic, State, mask_state, state_rows


def make_vector_env(args: RunArgs, count: int, seed: int, processes: bool = False) -> gym.vector.VectorEnv:
    """``count`` environments stepped side by side (in this process, or with ``processes`` each in a worker process
    of its own, started from a fork server: a clean process, not a copy of this one and its threads); an ended
    episode is reset in the same step (its final observation in ``info["final_obs"]``) and its return and length
    are recorded."""
    fns = [lambda: make_env(args.env_id, args.env_kwargs, args.frame_stack)] * count
    same_step = gym.vector.AutoresetMode.SAME_STEP
    envs: gym.vector.VectorEnv
    if processes:
        envs = gym.vector.AsyncVectorEnv(fns, copy=False, autoreset_mode=same_step, context="forkserver")
    else:
        envs = gym.vector.SyncVectorEnv(fns, copy=False, autoreset_mode=same_step)
    return gym.wrappers.vector.RecordEpisodeStatistics(envs)


def finished_episodes(info: dict, rows: np.ndarray | None = None) -> list[tuple[float, int]]:
    """(return, length) of the episodes that ended in a step of a vector env with episode statistics: those of
    ``rows``, or of every environment whose episode ended."""
    if rows is None:
        rows = np.flatnonzero(info.get("_episode", ()))
    return [(float(info["episode"]["r"][i]), int(info["episode"]["l"][i])) for i in rows]


# -- roll out ------------------------------------------------------------------------------------------------
@dataclass
class Rollout:
    """``n_steps`` of E environments, time first."""

    observations: torch.Tensor
    """(T, E, ...) what the model saw at each step"""
    actions: torch.Tensor
    """(T*E,) or (T*E, D): what it did"""
    rewards: np.ndarray
    """(T, E) scaled by ``reward_scale``"""
    values: np.ndarray
    """(T, E) V(s_t) while acting"""
    next_values: np.ndarray
    """(T, E) the value of what followed step t: 0 after a termination, V(final observation) after a truncation,
    else V(s_t+1)"""
    ends: np.ndarray
    """(T, E) 1.0 where an episode ended after step t"""
    start_state: State
    """the recurrent state the rollout started from (the loss replays it from there)"""
    episodes: list[tuple[float, int]] = field(default_factory=list)
    """(return, length) of each episode that ended during the rollout, in the environment's own reward"""


class Actor:
    """A worker's environments (stepped side by side with one batched forward pass per step) and where they are."""

    def __init__(self, envs: gym.vector.VectorEnv, seed: int, model: ActorCritic) -> None:
        """``envs``: a vector env that resets an ended episode in the same step (``AutoresetMode.SAME_STEP``) and
        records episode statistics (``RecordEpisodeStatistics``)."""
        self.envs = envs
        self.obs, _ = envs.reset(seed=seed)  # environment i is reset with seed + i
        self.state = model.initial_state(envs.num_envs)
        space = envs.single_action_space
        self._bounds = (space.low, space.high) if isinstance(space, gym.spaces.Box) else None

    def collect(self, model: ActorCritic, n_steps: int, reward_scale: float) -> Rollout:
        """Act ``n_steps`` times without building a graph (the loss recomputes the rollout in one batched pass)."""
        n_envs = self.envs.num_envs
        rewards, ends = np.zeros((n_steps, n_envs)), np.zeros((n_steps, n_envs))
        values, next_values = np.zeros((n_steps, n_envs)), np.zeros((n_steps, n_envs))
        observations, actions, episodes = [], [], []
        start_state = self.state
        with torch.no_grad():
            for t in range(n_steps):
                obs_t = torch.tensor(self.obs, dtype=torch.float32)  # a copy: the vector env reuses its buffer
                decision = model.act(obs_t, self.state)
                observations.append(obs_t)
                actions.append(decision.action)
                values[t] = decision.value.numpy()
                self.obs, reward, terminated, truncated, info = self.envs.step(self._env_actions(decision.action))
                rewards[t] = reward * reward_scale
                ends[t] = terminated | truncated
                cut = np.flatnonzero(truncated & ~terminated)
                if cut.size:  # a time limit does not end the task: V(final observation)
                    final = torch.as_tensor(np.stack(info["final_obs"][cut]), dtype=torch.float32)
                    next_values[t, cut] = model.value(final, state_rows(decision.state, torch.as_tensor(cut))).numpy()
                episodes += finished_episodes(info)
                self.state = mask_state(decision.state, torch.as_tensor(1.0 - ends[t], dtype=torch.float32))
            last_values = model.value(torch.as_tensor(self.obs, dtype=torch.float32), self.state).numpy()
        following = np.concatenate([values[1:], last_values[None]])
        next_values = np.where(ends > 0, next_values, following)  # terminated rows keep their 0
        return Rollout(torch.stack(observations), torch.cat(actions), rewards, values, next_values, ends, start_state,
                       episodes)  # fmt: skip

    def _env_actions(self, action: torch.Tensor) -> np.ndarray:
        chosen = action.numpy()
        return chosen if self._bounds is None else np.clip(chosen, *self._bounds)


# -- returns --------------------------------------------------------------------------------------------------
def gae(
    rewards: np.ndarray,
    values: np.ndarray,
    next_values: np.ndarray,
    ends: np.ndarray,
    gamma: float,
    lam: float,
) -> tuple[np.ndarray, np.ndarray]:
    """GAE(λ) advantages and the value targets (advantage + value) of one rollout: arrays of shape (T,), or
    (T, E) for E environments stepped side by side.

    ``next_values[t]`` is the value of the state after step t: 0 when the episode *terminated* there, the
    value of the final observation when it was *truncated* (a time limit does not end the task, so the
    return is bootstrapped), and V(s[t+1]) otherwise. ``ends[t]`` marks any episode end: the advantage of
    one episode never leaks into the previous one. With λ = 1 these are the n-step returns.
    """
    advantages = np.zeros(rewards.shape, dtype=np.float64)
    running = np.zeros(rewards.shape[1:], dtype=np.float64)
    for t in reversed(range(len(rewards))):
        delta = rewards[t] + gamma * next_values[t] - values[t]
        running = delta + gamma * lam * (1.0 - ends[t]) * running
        advantages[t] = running
    return advantages, advantages + values


def explained_variance(values: np.ndarray, targets: np.ndarray) -> float:
    spread = float(np.var(targets))
    return math.nan if spread == 0 else 1.0 - float(np.var(targets - values)) / spread


def action_counts(rollout: Rollout, n_actions: int | None) -> tuple[int, ...]:
    """How often the rollout sampled each action (discrete actions; none for continuous ones)."""
    if n_actions is None:
        return ()
    return tuple(int(c) for c in np.bincount(rollout.actions.numpy().ravel(), minlength=n_actions))
