"""One-step actor-critic, the algorithm top to bottom: one step → TD error → update the actor and the critic → repeat.

After every step of its ``num_envs`` environments (:class:`~agent.learning.rollout.Actor`, one step at a time) the
critic's TD error ``δ = r + γ V(s') - V(s)`` (:func:`td_errors`) is both the critic's regression error and the
actor's advantage: the loss (:func:`loss`) raises ``log π(a|s)`` in proportion to ``δ`` and moves ``V(s)`` toward
``r + γ V(s')``. No waiting for an episode's end, as REINFORCE does; the price is the bias of a young critic.

Episode ends: ``V(s')`` is 0 after a termination and the value of the final observation after a truncation (a time
limit: the task went on).
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from agent.learning.in_process import Iterate, Iteration, train_in_process
from agent.learning.progress import TrainControl
from agent.learning.record import TrainResult
from agent.learning.rollout import Actor, Rollout, action_counts, explained_variance, gae
from agent.one_step.args import OneStepArgs
from agent.policy.checkpoint import Checkpoint
from models.actor_critic import ActorCritic, ActorCriticModule


def td_errors(rollout: Rollout, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """(δ, the critic's targets ``r + γ V(s')``) of a one-step rollout: GAE with λ = 0 is exactly the TD error."""
    return gae(rollout.rewards, rollout.values, rollout.next_values, rollout.ends, gamma, 0.0)


def loss(model: ActorCritic, rollout: Rollout, args: OneStepArgs) -> tuple[torch.Tensor, dict[str, float]]:
    """``-log π(a|s) · δ`` for the actor, ``½ (r + γ V(s') - V(s))²`` for the critic (its target held fixed), minus
    the entropy bonus; and the parts for logging."""
    deltas, targets = td_errors(rollout, args.gamma)
    ends = torch.as_tensor(rollout.ends, dtype=torch.float32)
    unrolled = model.evaluate_actions(rollout.observations, rollout.start_state, ends)
    delta = torch.as_tensor(deltas.reshape(-1), dtype=torch.float32)
    target = torch.as_tensor(targets.reshape(-1), dtype=torch.float32)
    policy_loss = -(unrolled.dist.log_prob(rollout.actions) * delta).mean()
    value_loss = 0.5 * ((target - unrolled.value) ** 2).mean()
    entropy = unrolled.dist.entropy().mean()
    total = policy_loss + args.value_coef * value_loss - args.entropy_coef * entropy
    return total, {"policy_loss": policy_loss.item(), "value_loss": value_loss.item(), "entropy": entropy.item(),
                   "explained_variance": explained_variance(rollout.values, targets)}  # fmt: skip


def train(
    args: OneStepArgs, resume: str | Path | Checkpoint | None = None, control: TrainControl | None = None
) -> TrainResult:
    """Train with one-step actor-critic (or continue the run of a checkpoint/run folder); returns the evaluation
    curve. The run around the updates is :func:`~agent.learning.in_process.train_in_process`."""

    def make_iterate(
        model: ActorCriticModule, optimizer: torch.optim.Optimizer, envs: gym.vector.VectorEnv, seed: int
    ) -> Iterate:
        actor = Actor(envs, seed, model)

        def iterate(steps: int) -> Iteration:
            rollout = actor.collect(model, 1, 1.0)
            total, readings = loss(model, rollout, args)
            optimizer.zero_grad()
            total.backward()
            grad_norm = float(nn.utils.clip_grad_norm_(list(model.parameters()), args.max_grad_norm))
            optimizer.step()
            return Iteration(args.num_envs, readings | {"grad_norm": grad_norm},
                             action_counts(rollout, model.spec.n_actions), episodes=rollout.episodes)  # fmt: skip

        return iterate

    return train_in_process(args, args.num_envs, lambda m: torch.optim.Adam(m.parameters(), lr=args.lr),
                            make_iterate, resume, control)  # fmt: skip
