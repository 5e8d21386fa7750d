"""A3C, the algorithm top to bottom: roll out → returns → loss → apply.

A worker (:mod:`agent.a3c.worker`) runs the first three on its own environments and copy of the model: it rolls out
``n_steps`` with :class:`Actor`, turns the rollout into GAE(λ) advantages and value targets (:func:`gae`), and
computes the actor-critic loss and its gradient (:func:`loss`). The main process (:mod:`agent.a3c.trainer`) then
applies each worker's gradient to the one global model as it arrives (:func:`apply`), and the worker copies the
newest weights, which include every other worker's updates so far. How the processes hand gradients and weights
to each other is in :mod:`agent.a3c.processes`.

Episode ends: *terminated* (the task ended) contributes no value after it; *truncated* (a time limit) is
bootstrapped with the value of its final observation, since the task went on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions import kl_divergence

from agent.a3c.args import Args, schedule
from models.actor_critic import ActorCritic, State, mask_state, state_rows


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
                for i in np.flatnonzero(info.get("_episode", ())):
                    episodes.append((float(info["episode"]["r"][i]), int(info["episode"]["l"][i])))
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


# -- loss -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LossStats:
    policy_loss: float
    value_loss: float
    entropy: float
    """of the policy, mean over the rollout's steps: near 0, the policy has settled on one action per picture"""
    grad_norm: float
    kl_to_init: float = math.nan
    """KL(starting policy ‖ policy), with ``init_kl_coef`` only"""
    explained_variance: float = math.nan
    """1 - Var(targets - values) / Var(targets) of the rollout: near 1 the critic predicts the returns, at 0 or below
    it knows no more than their mean, and its advantages are noise"""


def explained_variance(values: np.ndarray, targets: np.ndarray) -> float:
    spread = float(np.var(targets))
    return math.nan if spread == 0 else 1.0 - float(np.var(targets - values)) / spread


@dataclass
class Reference:
    """The starting policy ``init_kl_coef`` keeps the policy near: a frozen model seeing the same frames, its
    recurrent state carried from rollout to rollout by replaying each one (no extra step while acting)."""

    model: ActorCritic
    state: State


def loss(
    model: ActorCritic, rollout: Rollout, args: Args, reference: Reference | None = None, steps: int = 0
) -> tuple[torch.Tensor, dict[str, torch.Tensor | float]]:
    """The actor-critic loss of a rollout (policy gradient with GAE advantages, value regression, entropy bonus,
    optionally a KL penalty toward the starting policy), and its parts for logging. ``steps``: the training's
    environment steps so far (the entropy bonus may follow a schedule)."""
    advantages, targets = gae(rollout.rewards, rollout.values, rollout.next_values, rollout.ends, args.gamma,
                              args.gae_lambda)  # fmt: skip
    ends = torch.as_tensor(rollout.ends, dtype=torch.float32)
    unrolled = model.evaluate_actions(rollout.observations, rollout.start_state, ends)
    adv = torch.as_tensor(advantages.reshape(-1), dtype=torch.float32)
    if args.normalize_advantages and adv.numel() > 1:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    policy_loss = -(unrolled.dist.log_prob(rollout.actions) * adv).mean()
    value_loss = 0.5 * ((torch.as_tensor(targets.reshape(-1), dtype=torch.float32) - unrolled.value) ** 2).mean()
    entropy = unrolled.dist.entropy().mean()
    entropy_coef = schedule(args.entropy_coef, args.entropy_coef_end, steps, args.total_steps)
    total = policy_loss + args.value_coef * value_loss - entropy_coef * entropy
    kl_to_init = torch.tensor(math.nan)
    if reference is not None:
        with torch.no_grad():
            replayed = reference.model.evaluate_actions(rollout.observations, reference.state, ends)
        reference.state = replayed.state
        kl_to_init = kl_divergence(replayed.dist, unrolled.dist).mean()
        total = total + args.init_kl_coef * kl_to_init
    return total, {"policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy, "kl_to_init": kl_to_init,
                   "explained_variance": explained_variance(rollout.values, targets)}  # fmt: skip


def gradients(
    model: ActorCritic, total: torch.Tensor, parts: dict[str, torch.Tensor | float], max_grad_norm: float
) -> LossStats:
    """Backpropagate ``total`` into ``model``'s gradients, clipped to a global norm of ``max_grad_norm``."""
    model.zero_grad()
    total.backward()
    grad_norm = float(nn.utils.clip_grad_norm_(list(model.parameters()), max_grad_norm))
    values = {name: float(v.detach()) if isinstance(v, torch.Tensor) else v for name, v in parts.items()}
    return LossStats(grad_norm=grad_norm, **values)


def action_counts(rollout: Rollout, n_actions: int | None) -> tuple[int, ...]:
    """How often the rollout sampled each action (discrete actions; none for continuous ones)."""
    if n_actions is None:
        return ()
    return tuple(int(c) for c in np.bincount(rollout.actions.numpy().ravel(), minlength=n_actions))


# -- apply ------------------------------------------------------------------------------------------------------
def apply(
    model: ActorCritic, optimizer: torch.optim.Optimizer, grads: list[torch.Tensor], only: set[int] | None = None
) -> None:
    """One worker's gradient applied to the global model with the global optimizer. ``only``: the ids of the
    parameters to update (a critic warm-up); the rest get no gradient (not a zero one), which leaves them and their
    Adam moments untouched."""
    for p, g in zip(model.parameters(), grads, strict=True):
        p.grad = g if only is None or id(p) in only else None
    optimizer.step()
