"""PPO (clipped), the algorithm top to bottom: roll out → advantages → several passes of clipped updates → repeat.

One process steps ``num_envs`` environments side by side (:class:`~agent.learning.rollout.Actor`) for ``n_steps``,
turns the batch into GAE(λ) advantages and value targets (:func:`~agent.learning.rollout.gae`), then makes
``update_epochs`` passes over it in ``num_minibatches`` shuffled minibatches, each a step of Adam on the clipped
surrogate (:func:`clipped_loss`): the probability ratio of each sampled action to the policy that sampled it may move
the loss only within ``1 ± clip_coef``, so one batch cannot push the policy far. A recurrent network's minibatches
are whole environments (their sequences replayed from the rollout's starting state); a feed-forward one's are
shuffled samples. As in CleanRL's ``ppo.py``, which this follows.

Episode ends are A3C's: a termination contributes no value after it, a truncation is bootstrapped from its final
observation. Runs, checkpoints, evaluations and logs are every learner's (:mod:`agent.learning.record`); a PPO
checkpoint is evaluated, played and fine-tuned as any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from agent.config import ConfigError
from agent.learning.args import schedule
from agent.learning.in_process import Iterate, Iteration, train_in_process
from agent.learning.progress import TrainControl
from agent.learning.record import TrainResult
from agent.learning.rollout import Actor, Rollout, action_counts, explained_variance, gae
from agent.policy.checkpoint import Checkpoint
from agent.ppo.args import DPPOArgs, PPOArgs
from models.actor_critic import ActorCritic, ActorCriticModule, State, state_rows


# -- the loss ---------------------------------------------------------------------------------------------------
def clipped_loss(
    new_log_probs: torch.Tensor,
    old_log_probs: torch.Tensor,
    advantages: torch.Tensor,
    new_values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    entropy: torch.Tensor,
    args: PPOArgs,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """PPO's loss on one minibatch, and its parts for logging.

    The policy term is the clipped surrogate ``max(-A·r, -A·clip(r, 1-ε, 1+ε))`` with ``r = π(a|s) / π_old(a|s)``;
    the value term ``0.5·(V - R)²``, with ``clip_vloss`` the larger of that and the same for V moved at most ε from
    the value while acting; the entropy bonus is subtracted. ``approx_kl`` is the ``(r - 1) - log r`` estimator of
    KL(old ‖ new), ``clip_fraction`` the share of samples whose ratio left the clip range."""
    if args.normalize_advantages and advantages.numel() > 1:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    log_ratio = new_log_probs - old_log_probs
    ratio = log_ratio.exp()
    policy_loss = torch.max(-advantages * ratio,
                            -advantages * ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef)).mean()  # fmt: skip
    value_loss = 0.5 * (new_values - returns) ** 2
    if args.clip_vloss:
        clipped = old_values + (new_values - old_values).clamp(-args.clip_coef, args.clip_coef)
        value_loss = torch.max(value_loss, 0.5 * (clipped - returns) ** 2)
    value_loss = value_loss.mean()
    entropy = entropy.mean()
    total = policy_loss + args.value_coef * value_loss - args.entropy_coef * entropy
    with torch.no_grad():
        approx_kl = ((ratio - 1) - log_ratio).mean()
        clip_fraction = ((ratio - 1).abs() > args.clip_coef).float().mean()
    return total, {"policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy, "approx_kl": approx_kl,
                   "clip_fraction": clip_fraction}  # fmt: skip


# -- minibatches ----------------------------------------------------------------------------------------------
@dataclass
class Minibatch:
    observations: torch.Tensor
    """(T', E', ...) what the model replays: (1, M, ...) samples, or (T, E', ...) whole sequences"""
    state: State
    ends: torch.Tensor
    """(T', E')"""
    index: torch.Tensor
    """(T'·E',) the samples' places in the rollout's flattened (T·E) arrays, in the replay's order"""


def minibatches(rollout: Rollout, recurrent: bool, count: int, generator: torch.Generator) -> list[Minibatch]:
    """The rollout in ``count`` shuffled minibatches: samples for a feed-forward network, environments (their whole
    sequences, from the rollout's starting state) for a recurrent one."""
    steps, n_envs = rollout.rewards.shape
    observations = rollout.observations
    ends = torch.as_tensor(rollout.ends, dtype=torch.float32)
    if not recurrent:
        flat = observations.reshape(steps * n_envs, *observations.shape[2:])
        order = torch.randperm(steps * n_envs, generator=generator)
        return [Minibatch(flat[idx].unsqueeze(0), None, torch.zeros(1, len(idx)), idx)
                for idx in order.tensor_split(count)]  # fmt: skip
    batches = []
    for envs in torch.randperm(n_envs, generator=generator).tensor_split(count):
        index = (torch.arange(steps)[:, None] * n_envs + envs[None, :]).reshape(-1)
        batches.append(Minibatch(observations[:, envs], state_rows(rollout.start_state, envs), ends[:, envs], index))
    return batches


# -- the update -----------------------------------------------------------------------------------------------
def update(
    model: ActorCritic,
    optimizer: torch.optim.Optimizer,
    rollout: Rollout,
    args: PPOArgs,
    generator: torch.Generator,
) -> dict[str, float]:
    """``update_epochs`` passes of clipped updates over one rollout (fewer when ``target_kl`` is passed); returns
    the mean of each reading over the minibatches, the last gradient norm and the critic's explained variance."""
    advantages, returns = gae(rollout.rewards, rollout.values, rollout.next_values, rollout.ends, args.gamma,
                              args.gae_lambda)  # fmt: skip
    ends = torch.as_tensor(rollout.ends, dtype=torch.float32)
    with torch.no_grad():  # the policy that collected the rollout: the weights have not changed since
        old_log_probs = model.evaluate_actions(rollout.observations, rollout.start_state, ends).dist.log_prob(
            rollout.actions
        )
    flat_adv = torch.as_tensor(advantages.reshape(-1), dtype=torch.float32)
    flat_returns = torch.as_tensor(returns.reshape(-1), dtype=torch.float32)
    flat_values = torch.as_tensor(rollout.values.reshape(-1), dtype=torch.float32)
    readings: list[dict[str, float]] = []
    for _ in range(args.update_epochs):
        approx_kls = []
        for batch in minibatches(rollout, model.recurrent, args.num_minibatches, generator):
            unrolled = model.evaluate_actions(batch.observations, batch.state, batch.ends)
            i = batch.index
            total, parts = clipped_loss(unrolled.dist.log_prob(rollout.actions[i]), old_log_probs[i], flat_adv[i],
                                        unrolled.value, flat_values[i], flat_returns[i], unrolled.dist.entropy(),
                                        args)  # fmt: skip
            optimizer.zero_grad()
            total.backward()
            grad_norm = float(nn.utils.clip_grad_norm_(list(model.parameters()), args.max_grad_norm))
            optimizer.step()
            readings.append({name: float(v.detach()) for name, v in parts.items()} | {"grad_norm": grad_norm})
            approx_kls.append(readings[-1]["approx_kl"])
        if args.target_kl is not None and float(np.mean(approx_kls)) > args.target_kl:
            break
    means = {name: float(np.mean([r[name] for r in readings])) for name in readings[0]}
    return means | {"explained_variance": explained_variance(rollout.values, returns)}


# -- the run --------------------------------------------------------------------------------------------------
def train(
    args: PPOArgs, resume: str | Path | Checkpoint | None = None, control: TrainControl | None = None
) -> TrainResult:
    """Train with PPO, or DPPO with :class:`DPPOArgs` (or continue the run of a checkpoint/run folder); returns the
    evaluation curve. The run around the iterations (checkpoints, evaluations, logs, stopping) is
    :func:`~agent.learning.in_process.train_in_process`."""

    def make_iterate(
        model: ActorCriticModule, optimizer: torch.optim.Optimizer, envs: gym.vector.VectorEnv, seed: int
    ) -> Iterate:
        if model.recurrent and args.num_envs % args.num_minibatches:
            raise ConfigError(f"num-minibatches: a recurrent network's minibatches are whole environments; "
                              f"{args.num_minibatches} does not divide num-envs {args.num_envs}")  # fmt: skip
        generator = torch.Generator().manual_seed(seed)  # the minibatches' shuffling
        actor = Actor(envs, seed, model)

        def iterate(steps: int) -> Iteration:
            if args.anneal_lr:
                for group in optimizer.param_groups:
                    group["lr"] = schedule(args.lr, 0.0, steps, args.total_steps)
            rollout = actor.collect(model, args.n_steps, args.reward_scale)
            ends = torch.as_tensor(rollout.ends, dtype=torch.float32)
            with torch.no_grad():
                health = model.health(rollout.observations, rollout.start_state, ends)
            readings = update(model, optimizer, rollout, args, generator)
            return Iteration(args.num_envs * args.n_steps, readings, action_counts(rollout, model.spec.n_actions),
                             health, rollout.episodes)  # fmt: skip

        return iterate

    return train_in_process(args, args.num_envs, lambda m: torch.optim.Adam(m.parameters(), lr=args.lr, eps=1e-5),
                            make_iterate, resume, control, processes=isinstance(args, DPPOArgs))  # fmt: skip
