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

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from agent.config import ConfigError
from agent.envs.make import close_all
from agent.learning.args import resumed_options, schedule
from agent.learning.evaluations import evaluate_now, make_eval_envs
from agent.learning.network import network_for
from agent.learning.progress import TrainControl
from agent.learning.record import LOG_EVERY_S, RunRecord, TrainResult, interruptible
from agent.learning.rollout import Actor, Rollout, action_counts, explained_variance, gae, make_vector_env
from agent.policy.checkpoint import PPO, Checkpoint, load_checkpoint, load_weights
from agent.ppo.args import PPOArgs
from models.actor_critic import ActorCritic, State, state_rows

log = logging.getLogger(__name__)


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
def resume_args(checkpoint: Checkpoint) -> PPOArgs:
    """The options of the PPO run ``checkpoint`` belongs to."""
    return resumed_options(PPOArgs, checkpoint)


def train(
    args: PPOArgs, resume: str | Path | Checkpoint | None = None, control: TrainControl | None = None
) -> TrainResult:
    """Train with PPO (or continue the run of a checkpoint/run folder); returns the evaluation curve. ``control``: a
    stop request from another thread, and the live progress there. A run stops at ``total_steps``, at
    ``target_return``, on Ctrl-C, SIGTERM or a stop request; each way out saves a checkpoint."""
    entered = time.monotonic()
    control = control or TrainControl()
    torch.set_num_threads(args.torch_threads)
    resumed = resume if isinstance(resume, Checkpoint) or resume is None else load_checkpoint(resume)
    if resumed is not None:
        resume_args(resumed)  # an exported policy, or another learner's run, is refused before anything starts
    model = network_for(args, args.num_envs, "num-envs")
    recurrent_split = model.recurrent and args.num_envs % args.num_minibatches
    if recurrent_split:
        raise ConfigError(f"num-minibatches: a recurrent network's minibatches are whole environments; "
                          f"{args.num_minibatches} does not divide num-envs {args.num_envs}")  # fmt: skip
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, eps=1e-5)
    if resumed is not None:
        load_weights(model, resumed)
        assert resumed.optimizer is not None
        optimizer.load_state_dict(resumed.optimizer)
    record = RunRecord(args, PPO, model, optimizer, resumed, control, entered)
    generator = torch.Generator().manual_seed(args.seed + record.steps)  # the minibatches' shuffling
    torch.manual_seed(args.seed + record.steps)  # the actions' sampling
    envs = make_vector_env(args, args.num_envs, args.seed)
    eval_envs = make_eval_envs(args) if args.eval_every else []
    batch = args.num_envs * args.n_steps
    next_eval = (record.steps // args.eval_every + 1) * args.eval_every if args.eval_every else None
    interrupted = False
    last_log, last_log_steps = time.monotonic(), record.steps
    with interruptible() as shield:
        try:
            actor = Actor(envs, args.seed + record.steps, model)
            while record.steps < args.total_steps and record.solved is None:
                if control.stop_requested:  # from another thread (the control panel): the way Ctrl-C takes
                    interrupted = True
                    break
                if args.anneal_lr:
                    for group in optimizer.param_groups:
                        group["lr"] = schedule(args.lr, 0.0, record.steps, args.total_steps)
                rollout = actor.collect(model, args.n_steps, args.reward_scale)
                for ret, length in rollout.episodes:
                    record.episode(ret, length)
                ends = torch.as_tensor(rollout.ends, dtype=torch.float32)
                with torch.no_grad():
                    health = model.health(rollout.observations, rollout.start_state, ends)
                readings = update(model, optimizer, rollout, args, generator)
                record.updated(batch, readings, action_counts(rollout, model.spec.n_actions), health)
                if next_eval is not None and record.steps >= next_eval:
                    record.evaluated(evaluate_now(args, model, eval_envs, record.steps, record.wall_s))
                    next_eval = (record.steps // args.eval_every + 1) * args.eval_every
                if time.monotonic() - last_log >= LOG_EVERY_S:
                    record.report(last_log, last_log_steps)
                    last_log, last_log_steps = time.monotonic(), record.steps
        except KeyboardInterrupt:
            interrupted = True
            log.warning("interrupted: saving a checkpoint")
        finally:
            control._finishing()
            shield()
            try:
                record.report(last_log, last_log_steps)
                record.checkpoint()
                if eval_envs and not interrupted and (not record.curve or record.curve[-1].steps < record.steps):
                    record.add_to_curve(evaluate_now(args, model, eval_envs, record.steps, record.wall_s))
                record.close(f"PPO on {args.env_id}")
            finally:
                envs.close()
                close_all(eval_envs)
    return record.result(interrupted)
