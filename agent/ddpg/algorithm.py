"""DDPG, the algorithm top to bottom: act with the actor plus Gaussian noise → remember → every few steps, learn
from remembered minibatches: the critic on TD targets, the actor (every ``policy_frequency`` critic updates) up the
critic's gradient → move the target networks a little toward the trained ones.

The critic's ``Q(s, a)`` is regressed (mean squared error) on ``y = r + γ Q'(s', μ'(s'))`` (:func:`td_targets`), with
the target networks' actor μ' and critic Q'; no value after a termination, and a truncation (a time limit)
bootstraps, since the task went on. The actor's loss is ``-Q(s, μ(s))`` (:func:`actor_loss`): the deterministic
policy gradient moves each action the way the critic says the value rises. Before ``learning_starts`` the actions
are uniformly random. As CleanRL's ``ddpg_continuous_action.py``, which this follows; the run around it
(evaluations, checkpoints, logs, stopping) is every in-process learner's
(:func:`~agent.learning.in_process.train_in_process`).

One Adam optimizer holds the actor's and the critic's parameters as two groups, each with its learning rate, so a
checkpoint keeps one optimizer state as every learner's does. Each update touches one group: the actor's loss flows
back through the critic too, and the critic's gradients of it are dropped before the step (Adam leaves a parameter
without a gradient as it was, moments included).
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from agent.ddpg.args import DDPGArgs
from agent.learning.in_process import Iterate, Iteration, train_in_process
from agent.learning.progress import TrainControl
from agent.learning.record import TrainResult
from agent.learning.replay import Minibatch, ReplayBuffer, step_and_remember
from agent.learning.targets import frozen_copy, soft_update
from agent.policy.checkpoint import Checkpoint
from models.actor_critic import ActorCriticModule
from models.deterministic import DeterministicActorCritic


# -- acting ---------------------------------------------------------------------------------------------------------
def explore(
    model: DeterministicActorCritic, obs: np.ndarray, noise: float, rng: np.random.Generator, random: bool
) -> np.ndarray:
    """Actions for a batch of observations: the actor's plus Gaussian noise of ``noise`` half ranges, clipped to the
    bounds; with ``random``, uniform over the bounds instead (before learning starts)."""
    center, scale = model.action_center.numpy(), model.action_scale.numpy()
    low, high = center - scale, center + scale
    if random:
        return rng.uniform(low, high, size=(len(obs), len(low))).astype(np.float32)
    with torch.no_grad():
        mu = model.mu(torch.as_tensor(obs)).numpy()
    return np.clip(mu + rng.normal(size=mu.shape) * noise * scale, low, high).astype(np.float32)


# -- the targets and the losses -------------------------------------------------------------------------------
def td_targets(target: DeterministicActorCritic, batch: Minibatch, gamma: float) -> torch.Tensor:
    """``r + γ (1 - terminated) Q'(s', μ'(s'))``, with the target networks."""
    next_obs = torch.as_tensor(batch.next_observations)
    with torch.no_grad():
        next_values = target.q(next_obs, target.mu(next_obs))
    return torch.as_tensor(batch.rewards) + gamma * (1.0 - torch.as_tensor(batch.terminated)) * next_values


def critic_loss(
    model: DeterministicActorCritic, target: DeterministicActorCritic, batch: Minibatch, gamma: float
) -> tuple[torch.Tensor, dict[str, float]]:
    """The critic's mean squared TD error on a minibatch, and readings: the loss (``value_loss``) and the mean
    value of the actions taken (``q_mean``)."""
    y = td_targets(target, batch, gamma)
    q = model.q(torch.as_tensor(batch.observations), torch.as_tensor(batch.actions))
    loss = nn.functional.mse_loss(q, y)
    return loss, {"value_loss": loss.item(), "q_mean": q.mean().item()}


def actor_loss(model: DeterministicActorCritic, batch: Minibatch) -> torch.Tensor:
    """``-mean Q(s, μ(s))``: descending it moves the actor's actions up the critic's slope."""
    obs = torch.as_tensor(batch.observations)
    return -model.q(obs, model.mu(obs)).mean()


def step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, group: int, max_grad_norm: float) -> float:
    """One Adam step on the parameter group ``group`` (0: the actor, 1: the critic) alone; returns the group's
    gradient norm before clipping."""
    optimizer.zero_grad()
    loss.backward()
    for other, params in enumerate(optimizer.param_groups):
        if other != group:
            for p in params["params"]:
                p.grad = None
    norm = float(nn.utils.clip_grad_norm_(optimizer.param_groups[group]["params"], max_grad_norm))
    optimizer.step()
    return norm


def make_optimizer(model: ActorCriticModule, args: DDPGArgs) -> torch.optim.Optimizer:
    """Adam over two groups: the actor (its MLP and head) at ``actor_lr``, the critic at ``critic_lr``."""
    assert isinstance(model, DeterministicActorCritic)
    actor = [*model.actor.parameters(), *model.policy_head.parameters()]
    critic = [*model.critic.parameters(), *model.value_head.parameters()]
    return torch.optim.Adam([{"params": actor, "lr": args.actor_lr}, {"params": critic, "lr": args.critic_lr}])


# -- the run --------------------------------------------------------------------------------------------------
def train(
    args: DDPGArgs, resume: str | Path | Checkpoint | None = None, control: TrainControl | None = None
) -> TrainResult:
    """Train with DDPG (or continue the run of a checkpoint/run folder; its replay memory starts empty again, and
    fills for ``learning_starts`` steps of the actor's noisy actions before updates resume); returns the evaluation
    curve."""
    rounds = max(1, args.train_frequency // args.num_envs)  # vector steps per iteration

    def make_iterate(
        model: ActorCriticModule, optimizer: torch.optim.Optimizer, envs: gym.vector.VectorEnv, seed: int
    ) -> Iterate:
        assert isinstance(model, DeterministicActorCritic)
        target = frozen_copy(model)
        rng = np.random.default_rng(seed)
        memory = ReplayBuffer(args.buffer_size, model.spec.observation_shape, rng,
                              action_shape=(len(model.action_scale),))  # fmt: skip
        obs, _ = envs.reset(seed=seed)
        updates = 0
        started_at: int | None = None
        random_until = 0

        def iterate(steps: int) -> Iteration:
            nonlocal obs, updates, started_at, random_until
            if started_at is None:  # a resumed run acts with its actor from the start
                started_at, random_until = steps, (args.learning_starts if steps == 0 else 0)
            episodes = []
            for _ in range(rounds):
                current = np.array(obs, dtype=np.float32)  # a copy: the vector env reuses its buffer
                actions = explore(model, current, args.exploration_noise, rng, steps < random_until)
                obs, ended = step_and_remember(envs, current, actions, memory)
                episodes += ended
                steps += args.num_envs
            readings: dict[str, float] = {}
            if steps - started_at >= args.learning_starts and len(memory) >= args.batch_size:
                learned: list[dict[str, float]] = []
                for _ in range(args.gradient_steps):
                    batch = memory.sample(args.batch_size)
                    loss, parts = critic_loss(model, target, batch, args.gamma)
                    parts["grad_norm"] = step(optimizer, loss, 1, args.max_grad_norm)
                    updates += 1
                    if updates % args.policy_frequency == 0:
                        policy = actor_loss(model, batch)
                        parts["actor_grad_norm"] = step(optimizer, policy, 0, args.max_grad_norm)
                        parts["policy_loss"] = policy.item()
                        soft_update(target, model, args.tau)
                    learned.append(parts)
                names = {name for parts in learned for name in parts}  # the actor's only where it was updated
                readings = {name: float(np.mean([r[name] for r in learned if name in r])) for name in names}
            return Iteration(rounds * args.num_envs, readings, episodes=episodes)

        return iterate

    return train_in_process(args, args.num_envs, lambda m: make_optimizer(m, args), make_iterate, resume, control,
                            head="deterministic")  # fmt: skip
