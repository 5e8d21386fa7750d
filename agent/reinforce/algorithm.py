"""REINFORCE, the algorithm top to bottom: play whole episodes → discounted returns → policy gradient → repeat.

Each update plays ``episodes_per_update`` episodes side by side, one per environment, from a reset to its end
(:func:`play`); an environment whose episode has ended waits, its further steps unused, until the last one ends. Step
t's return is ``G_t = r_t + γ r_{t+1} + ...`` to the episode's end (:func:`returns`), and the loss (:func:`loss`)
raises the log-probability of each action in proportion to its return: ``-log π(a_t|s_t) · G_t``. With
``baseline`` the critic's ``V(s_t)`` is subtracted from ``G_t`` (it learns alongside, by regression on the
returns), which keeps the expected gradient and lowers its variance; ``normalize_returns`` standardises what
multiplies the log-probabilities over the update, as the seed documents' version does.

Episode ends: a *terminated* episode's return ends with its last reward. A *truncated* one (a time limit) went on,
so with a critic its return is bootstrapped with ``V(final observation)``; without one there is nothing to
bootstrap from, and its return ends there too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from agent.learning.in_process import Iterate, Iteration, train_in_process
from agent.learning.progress import TrainControl
from agent.learning.record import TrainResult
from agent.learning.rollout import explained_variance, finished_episodes, gae
from agent.policy.checkpoint import Checkpoint
from agent.reinforce.args import ReinforceArgs
from models.actor_critic import ActorCritic, ActorCriticModule, State, mask_state, state_rows


# -- play whole episodes ------------------------------------------------------------------------------------------
@dataclass
class Episodes:
    """One episode per environment, time first, padded to the longest with steps that are not used."""

    observations: torch.Tensor
    """(T, E, ...)"""
    actions: torch.Tensor
    """(T*E,) or (T*E, D)"""
    rewards: np.ndarray
    """(T, E), 0 after an episode's end"""
    bootstrap: np.ndarray
    """(T, E): V(final observation) at the last step of a truncated episode (with a critic), else 0"""
    valid: np.ndarray
    """(T, E) True for the steps of the episodes"""
    start_state: State
    finished: list[tuple[float, int]] = field(default_factory=list)
    """(return, length) of each episode"""

    @property
    def ends(self) -> np.ndarray:
        """(T, E) 1.0 from each episode's last step on (nothing after it flows into it)"""
        return 1.0 - np.vstack([self.valid[1:], np.zeros_like(self.valid[:1])])


def play(envs: gym.vector.VectorEnv, model: ActorCritic, obs: np.ndarray, bootstrap: bool) -> Episodes:
    """Every environment of ``envs`` (just reset, showing ``obs``) plays its episode to the end."""
    n_envs = envs.num_envs
    alive = np.ones(n_envs, dtype=bool)
    state = model.initial_state(n_envs)
    start_state = state
    observations, actions, rewards, bootstraps, valid, finished = [], [], [], [], [], []
    with torch.no_grad():
        while alive.any():
            obs_t = torch.tensor(obs, dtype=torch.float32)  # a copy: the vector env reuses its buffer
            decision = model.act(obs_t, state)
            observations.append(obs_t)
            actions.append(decision.action)
            valid.append(alive.copy())
            obs, reward, terminated, truncated, info = envs.step(decision.action.numpy())
            rewards.append(np.where(alive, reward, 0.0))
            ended = alive & (terminated | truncated)
            cut = np.flatnonzero(ended & truncated & ~terminated)
            value = np.zeros(n_envs)
            if bootstrap and cut.size:
                final = torch.as_tensor(np.stack(info["final_obs"][cut]), dtype=torch.float32)
                value[cut] = model.value(final, state_rows(decision.state, torch.as_tensor(cut))).numpy()
            bootstraps.append(value)
            finished += finished_episodes(info, np.flatnonzero(ended))
            alive &= ~ended
            state = mask_state(decision.state, torch.as_tensor(alive, dtype=torch.float32))
    return Episodes(torch.stack(observations), torch.cat(actions), np.array(rewards), np.array(bootstraps),
                    np.array(valid), start_state, finished)  # fmt: skip


# -- returns ----------------------------------------------------------------------------------------------------
def returns(episodes: Episodes, gamma: float) -> np.ndarray:
    """(T, E) discounted returns to each episode's end (bootstrapped where it was truncated with a critic); 0 on
    the unused steps after an end. GAE with λ = 1 and no values is exactly this sum."""
    zeros = np.zeros_like(episodes.rewards)
    _, targets = gae(episodes.rewards, zeros, episodes.bootstrap, episodes.ends, gamma, 1.0)
    return np.where(episodes.valid, targets, 0.0)


# -- loss -----------------------------------------------------------------------------------------------------
def loss(
    model: ActorCritic, episodes: Episodes, args: ReinforceArgs
) -> tuple[torch.Tensor, dict[str, torch.Tensor | float]]:
    """The policy-gradient loss of the episodes (and the critic's, with a baseline), and its parts for logging."""
    g = returns(episodes, args.gamma)
    ends = torch.as_tensor(episodes.ends, dtype=torch.float32)
    unrolled = model.evaluate_actions(episodes.observations, episodes.start_state, ends)
    valid = torch.as_tensor(episodes.valid.reshape(-1))
    target = torch.as_tensor(g.reshape(-1), dtype=torch.float32)[valid]
    value = unrolled.value[valid]
    weight = target - value.detach() if args.baseline else target
    if args.normalize_returns and weight.numel() > 1:
        weight = (weight - weight.mean()) / (weight.std() + 1e-8)
    policy_loss = -(unrolled.dist.log_prob(episodes.actions)[valid] * weight).mean()
    value_loss = 0.5 * ((target - value) ** 2).mean() if args.baseline else torch.tensor(0.0)
    entropy = unrolled.dist.entropy()[valid].mean()
    total = policy_loss + args.value_coef * value_loss - args.entropy_coef * entropy
    spread = explained_variance(value.detach().numpy(), target.numpy()) if args.baseline else float("nan")
    return total, {"policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy,
                   "explained_variance": spread}  # fmt: skip


# -- the run --------------------------------------------------------------------------------------------------
def train(
    args: ReinforceArgs, resume: str | Path | Checkpoint | None = None, control: TrainControl | None = None
) -> TrainResult:
    """Train with REINFORCE (or continue the run of a checkpoint/run folder); returns the evaluation curve. The run
    around the updates is :func:`~agent.learning.in_process.train_in_process`."""

    def make_iterate(
        model: ActorCriticModule, optimizer: torch.optim.Optimizer, envs: gym.vector.VectorEnv, seed: int
    ) -> Iterate:
        seeds = iter([seed])  # the first reset is seeded, the later ones go on from there

        def iterate(steps: int) -> Iteration:
            obs, _ = envs.reset(seed=next(seeds, None))
            episodes = play(envs, model, obs, bootstrap=args.baseline)
            total, parts = loss(model, episodes, args)
            optimizer.zero_grad()
            total.backward()
            grad_norm = float(nn.utils.clip_grad_norm_(list(model.parameters()), args.max_grad_norm))
            optimizer.step()
            readings = {k: float(v.detach()) if isinstance(v, torch.Tensor) else v for k, v in parts.items()}
            n_actions = model.spec.n_actions
            chosen = episodes.actions.numpy()[episodes.valid.reshape(-1)]
            counts = tuple(int(c) for c in np.bincount(chosen, minlength=n_actions)) if n_actions else ()
            return Iteration(int(episodes.valid.size), readings | {"grad_norm": grad_norm}, counts,
                             episodes=episodes.finished)  # fmt: skip

        return iterate

    return train_in_process(args, args.episodes_per_update, lambda m: torch.optim.Adam(m.parameters(), lr=args.lr),
                            make_iterate, resume, control)  # fmt: skip
