"""A3C, the algorithm top to bottom: roll out → returns → loss → apply.

A worker (:mod:`agent.a3c.worker`) runs the first three on its own environments and copy of the model: it rolls out
``n_steps`` with :class:`~agent.learning.rollout.Actor`, turns the rollout into GAE(λ) advantages and value targets
(:func:`~agent.learning.rollout.gae`; rolling out and the returns are shared with the other on-policy learners), and
computes the actor-critic loss and its gradient (:func:`loss`). The main process (:mod:`agent.a3c.trainer`) then
applies each worker's gradient to the one global model as it arrives (:func:`apply`), and the worker copies the
newest weights, which include every other worker's updates so far. How the processes hand gradients and weights
to each other is in :mod:`agent.a3c.processes`.

Episode ends: *terminated* (the task ended) contributes no value after it; *truncated* (a time limit) is
bootstrapped with the value of its final observation, since the task went on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.distributions import kl_divergence

from agent.a3c.args import Args
from agent.learning.args import schedule
from agent.learning.rollout import Rollout, explained_variance, gae
from models.actor_critic import ActorCritic, State


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
