"""Asynchronous advantage actor-critic (A3C), read top to bottom: the config, environments, returns, the
worker, the evaluator, checkpoints, and the main loop that owns the optimizer.

How the processes share one model (the synchronisation is also commented where it happens):

- The global model's parameters live in shared memory. Only the main process writes them, by applying
  gradients with an ordinary ``torch.optim.Adam`` whose state never leaves that process, so nothing depends
  on copying torch's optimizer internals into shared memory (what broke older PyTorch A3C code).
- Each worker process has its own environments (``envs_per_worker``, stepped side by side with one batched
  forward pass) and a local copy of the model. It rolls out ``n_steps``, computes the actor-critic loss with
  GAE(λ) and its gradients, writes them into its own shared gradient buffer, tells the main process, and waits.
  The main process applies gradients in the order they arrive (asynchronously: no worker waits for another),
  then wakes the worker, which copies the newest global weights, which include every other worker's updates so
  far. (Rolling out on while the gradient is applied was 30% faster per step but needed twice the steps: each
  gradient then landed on weights that had moved on by the worker's own previous update.)
- An evaluator process periodically copies the global weights and runs episodes (most likely actions, or
  sampled ones with ``eval_sample``; several environments side by side, one batched forward pass per step).
  Each result is stamped with the steps and the clock of its snapshot: the curve shows when the weights were
  that good, not when the verdict came in.
- Processes start from a fork server that has already imported torch (where the platform has one, else
  ``spawn``): like ``spawn`` each starts clean, without the parent's threads, windows or sockets, but in
  milliseconds instead of the second it takes to import torch.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import dataclasses
import datetime
import logging
import math
import os
import queue as queue_module
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.multiprocessing as mp
from torch import nn
from torch.distributions import Categorical, Distribution, kl_divergence

from agent.config import ConfigError, check_fields, to_toml
from agent.laps import lap_completion
from capture.errors import PixelpilotError
from capture.timing import TimingStats
from models.actor_critic import (
    UnsupportedSpaceError,
    build,
    deterministic_action,
    reset_value_head,
    sampled_action,
)

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = 1


# -- configuration -------------------------------------------------------------------------------------------
@dataclass
class Args:
    env_id: str = "CartPole-v1"
    """Gymnasium environment id (classic ones, and pixelpilot/NeonRace-v0 / pixelpilot/Screen-v0)"""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """keyword arguments for gymnasium.make, e.g. difficulty_name=easy"""
    workers: int = 2
    """worker processes, each with its own environments (more than the machine's cores is slower)"""
    envs_per_worker: int = 1
    """environments each worker steps side by side with one batched forward pass: more samples per second
    from the same cores, and each gradient averages over more episodes"""
    total_steps: int = 1_000_000
    """environment steps over all workers before training stops"""
    n_steps: int = 20
    """steps each worker rolls out before computing a gradient"""
    gamma: float = 0.99
    """discount factor"""
    gae_lambda: float = 1.0
    """GAE(lambda); 1.0 gives plain n-step returns"""
    lr: float = 1e-3
    """Adam learning rate of the global model"""
    reward_scale: float = 1.0
    """rewards are multiplied by this for learning (episode returns and evaluations stay the environment's own):
    keeps value targets near 1 where returns run to the hundreds"""
    normalize_advantages: bool = False
    """scale each rollout's advantages to mean 0 and std 1: with dense, small rewards (distance per step) the
    advantages are tiny, and since Adam normalises the step size the entropy bonus then outweighs them"""
    value_coef: float = 0.5
    """weight of the value loss"""
    entropy_coef: float = 0.01
    """weight of the entropy bonus"""
    max_grad_norm: float = 40.0
    """global gradient-norm clip of each worker's gradient"""
    model: str = "auto"
    """network: auto (mlp for vectors, cnn-lstm for images), mlp, cnn-lstm or cnn-mlp"""
    hidden: int | None = None
    """units per hidden layer (default: 64 for the MLP, 256 for the CNN core)"""
    frame_stack: int = 1
    """stack this many consecutive observations as channels (image envs)"""
    seed: int = 1
    """seed of the environments and of each worker's sampling"""
    eval_every: int = 20_000
    """evaluate the global model every this many environment steps (0: never)"""
    eval_episodes: int = 10
    """episodes per evaluation, with the deterministic policy (most likely actions) unless eval_sample"""
    eval_sample: bool = False
    """evaluate with actions drawn from the policy (the same seeded draws each time): the policy A3C trains. A
    behaviour-cloned policy is not sharp everywhere, and its most likely action can drive worse than it does"""
    eval_envs: int = 10
    """environments an evaluation runs side by side with one batched forward pass (1 for environments that
    drive a real window)"""
    target_return: float | None = None
    """stop as soon as an evaluation's mean return reaches this"""
    checkpoint_every: int = 100_000
    """write checkpoints/latest.pt every this many environment steps"""
    run_name: str | None = None
    """folder name under runs_dir (default: ENV__SEED__DATE-TIME)"""
    runs_dir: str = "runs"
    """where run folders go"""
    init_from: str | None = None
    """start from this checkpoint's model weights (same architecture), e.g. to fine-tune"""
    critic_warmup: int = 0
    """with init_from: the value head starts afresh and, for this many environment steps, learns alone. A
    checkpoint trained on another reward (a clone of screen recordings, which count the game's score) has a
    critic in other units; bootstrapping from it keeps its errors in the targets, and their gradients, through the
    shared features, wreck the policy being fine-tuned. A fresh head bootstraps from values near 0 and grows
    them; with the features frozen meanwhile, the policy starts to learn with advantages that mean something"""
    init_kl_coef: float = 0.0
    """with init_from: weight of KL(starting policy ‖ policy), a penalty for drifting from the checkpoint's policy
    (a clone's). The advantages of a young critic are mostly noise; without the penalty they move a sharp cloned
    policy off what it imitated faster than they teach it anything"""
    torch_threads: int = 1
    """torch threads per process: one per worker is fastest on small machines"""
    max_restarts: int = 3
    """how often a crashed worker is restarted before the run gives up"""
    progress: bool = True
    """show a progress bar on the console"""

    def __post_init__(self) -> None:
        checks = {
            "workers": self.workers >= 1,
            "envs_per_worker": self.envs_per_worker >= 1,
            "total_steps": self.total_steps >= 1,
            "n_steps": self.n_steps >= 1,
            "gamma": 0 < self.gamma <= 1,
            "gae_lambda": 0 <= self.gae_lambda <= 1,
            "lr": 0 < self.lr < 1,
            "reward_scale": self.reward_scale > 0,
            "value_coef": self.value_coef >= 0,
            "entropy_coef": self.entropy_coef >= 0,
            "max_grad_norm": self.max_grad_norm > 0,
            "frame_stack": self.frame_stack >= 1,
            "eval_every": self.eval_every >= 0,
            "eval_episodes": self.eval_episodes >= 1,
            "eval_envs": self.eval_envs >= 1,
            "checkpoint_every": self.checkpoint_every >= 1,
            "torch_threads": self.torch_threads >= 1,
            "max_restarts": self.max_restarts >= 0,
            "critic_warmup": self.critic_warmup >= 0,
            "init_kl_coef": self.init_kl_coef >= 0,
        }
        check_fields(self, checks)
        if self.hidden is not None and self.hidden < 1:
            raise ConfigError(f"hidden: invalid value {self.hidden!r}")
        if self.critic_warmup and not self.init_from:
            raise ConfigError("critic-warmup: only with init-from (a random network has no policy to protect)")
        if self.init_kl_coef and not self.init_from:
            raise ConfigError("init-kl-coef: only with init-from (the penalty is for drifting from its policy)")
        if not isinstance(self.env_kwargs, dict):
            raise ConfigError(f"env_kwargs: expected a table of keyword arguments, got {self.env_kwargs!r}")


# -- environments -------------------------------------------------------------------------------------------
def make_env(args: Args, render_mode: str | None = None) -> gym.Env:
    """The environment of ``args``; unknown ids and bad keyword arguments are ConfigErrors."""
    import agent  # noqa: F401 - registers pixelpilot's environments
    from agent.wrappers import StackFrames

    kwargs = dict(args.env_kwargs)
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    try:
        env = gym.make(args.env_id, **kwargs)
    except gym.error.Error as exc:
        raise ConfigError(f"unknown environment {args.env_id!r}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"cannot make {args.env_id!r} with {args.env_kwargs}: {exc}") from None
    if args.frame_stack > 1:
        env = StackFrames(env, args.frame_stack)
    return env


def model_for(args: Args, env: gym.Env) -> nn.Module:
    try:
        return build(env.observation_space, env.action_space, args.model, args.hidden)
    except (UnsupportedSpaceError, ValueError) as exc:
        raise ConfigError(f"{args.env_id}: {exc}") from None


def env_action(action: torch.Tensor, space: gym.spaces.Space) -> Any:
    """One sampled action (no batch dimension) as the environment takes it (continuous ones clipped to the bounds)."""
    if isinstance(space, gym.spaces.Discrete):
        return int(action.item())
    return np.clip(action.numpy(), space.low, space.high)


def mask_state(state: Any, keep: torch.Tensor) -> Any:
    """A recurrent state with the rows of ended episodes zeroed (``keep`` is 1.0 to keep a row, else 0.0)."""
    if state is None:
        return None
    return tuple(s * keep.unsqueeze(-1) for s in state)


def state_rows(state: Any, rows: torch.Tensor) -> Any:
    return None if state is None else tuple(s[rows] for s in state)


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


# -- evaluation ---------------------------------------------------------------------------------------------
@dataclass
class Episode:
    ret: float
    steps: int
    info: dict[str, Any]
    """the info of its last step (laps, lap time, score, ... where the environment reports them)"""
    actions: np.ndarray | None = None
    """how many times it took each action (discrete action spaces): a policy that ignores what it sees shows
    as one action taken at every step"""


def run_episodes(
    model: nn.Module,
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
    counts = np.zeros((len(envs), int(space.n) if discrete else 0), dtype=np.int64)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        while active.any():
            t0 = time.perf_counter()
            dist, _, state = model(torch.as_tensor(obs, dtype=torch.float32), state)
            actions = sampled_action(dist, generator) if sample else deterministic_action(dist)
            if timing is not None:
                timing.add("decide_ms", (time.perf_counter() - t0) * 1000.0)
            keep = torch.ones(len(envs))
            for i in np.flatnonzero(active):
                action = env_action(actions[i], space)
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


def returns_of(episodes: list[Episode]) -> np.ndarray:
    return np.array([e.ret for e in episodes])


def instances_per_process(env: gym.Env) -> int:
    """How many copies of ``env`` one process may run side by side (an env that drives a real window: one)."""
    return int(env.unwrapped.metadata.get("instances_per_process", sys.maxsize))


def make_envs(args: Args, count: int, render_mode: str | None = None) -> list[gym.Env]:
    """``count`` environments of ``args``, or as many as one process may run; if making one fails, those already
    made are closed."""
    envs: list[gym.Env] = []
    try:
        envs.append(make_env(args, render_mode))
        for _ in range(min(count, instances_per_process(envs[0])) - 1):
            envs.append(make_env(args, render_mode))
    except BaseException:
        close_all(envs)
        raise
    return envs


def make_eval_envs(args: Args, episodes: int, render_mode: str | None = None) -> list[gym.Env]:
    """The envs an evaluation of ``episodes`` episodes runs side by side (one when a person watches)."""
    return make_envs(args, 1 if render_mode == "human" else min(args.eval_envs, episodes), render_mode)


def close_all(envs: list[gym.Env]) -> None:
    for env in envs:
        env.close()


def copy_weights(source: nn.Module, target: nn.Module) -> None:
    with torch.no_grad():
        for s, t in zip(source.parameters(), target.parameters(), strict=True):
            t.copy_(s)


# -- the worker ----------------------------------------------------------------------------------------------
def replay(
    model: nn.Module, observations: torch.Tensor, state: Any, ends: torch.Tensor
) -> tuple[Distribution, torch.Tensor, Any]:
    """The rollout's action distributions and values again, this time with gradients, flattened to (T*E, ...),
    and the recurrent state after the rollout (what acting on would start from).

    ``observations`` is (T, E, ...). Stateless models take the whole rollout as one batch. A recurrent model
    encodes all frames in one batch too (the convolutions are most of the work) and then steps only its core
    through time from the rollout's first state, zeroing an environment's state after its episode ends, exactly
    as it did while acting.
    """
    if not model.recurrent:
        dist, values, _ = model(observations.flatten(0, 1))
        return dist, values, None
    features = model.encode(observations.flatten(0, 1)).unflatten(0, observations.shape[:2])
    logits, values = [], []
    for t in range(len(observations)):
        dist, value, state = model.decide(features[t], state)
        logits.append(dist.logits)
        values.append(value)
        state = mask_state(state, 1.0 - ends[t])
    return Categorical(logits=torch.cat(logits)), torch.cat(values), state


def start_method() -> Any:
    """The multiprocessing context of the workers: a fork server with this module preloaded, else spawn.

    The server is started once per process (its first training pays the import) and reused afterwards.
    """
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    return ctx


def warm_up() -> None:
    """Do now what the first training of a process would wait for, so that it starts at once (e.g. while a GUI
    is idle): start the fork server and let it import torch (a first process forked from it waits for that), and
    construct an optimizer once (torch's first one imports torch._dynamo, about a second)."""
    ctx = start_method()
    if ctx.get_start_method() == "forkserver":
        first = ctx.Process(target=os.getpid, name="a3c-warm-up")
        first.start()
        first.join()
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])


def exit_on_signal(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def main_process_alive() -> bool:
    """Whether the training's main process still runs (the parent of the processes it starts, even through the
    fork server)."""
    parent = mp.parent_process()
    return parent is None or parent.is_alive()


def adopt_environment(environ: dict[str, str]) -> None:
    """Take the parent's environment variables of the moment the process was started, as ``spawn`` would: the
    fork server's are those of when *it* started (a virtual display may have been set since)."""
    os.environ.clear()
    os.environ.update(environ)


def worker(
    rank: int,
    attempt: int,
    args: Args,
    global_model: nn.Module,
    reference: nn.Module | None,
    grads: list[torch.Tensor],
    lock: Any,
    messages: Any,
    ack: Any,
    stop: Any,
    environ: dict[str, str],
) -> None:
    """One worker process: roll out, compute gradients, hand them over, take the newest weights, repeat.
    ``reference``: the starting policy (shared, never written) that ``init_kl_coef`` keeps the policy near."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the main process, which stops everyone
    signal.signal(signal.SIGTERM, exit_on_signal)  # terminate(): close the envs (their games, displays, keys)
    adopt_environment(environ)
    envs: list[gym.Env] = []
    try:
        torch.set_num_threads(args.torch_threads)
        Distribution.set_default_validate_args(False)  # checks cost more than the small networks themselves
        seed = args.seed + 1000 * rank + 100_000 * attempt
        torch.manual_seed(seed)
        envs = make_envs(args, args.envs_per_worker)
        space = envs[0].action_space
        model = model_for(args, envs[0])
        with lock:
            copy_weights(global_model, model)
        n_envs = len(envs)
        obs = np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(envs)])
        state = model.initial_state(n_envs)
        # The reference policy sees the same frames; its recurrent state is carried from rollout to rollout by
        # replaying each one (that costs no extra step while acting).
        reference_state = reference.initial_state(n_envs) if reference is not None else None
        episode_returns, episode_lengths = np.zeros(n_envs), np.zeros(n_envs, dtype=np.int64)
        rewards = np.zeros((args.n_steps, n_envs))
        ends = np.zeros((args.n_steps, n_envs))
        values = np.zeros((args.n_steps, n_envs))
        next_values = np.zeros((args.n_steps, n_envs))
        while not stop.is_set():
            # Act without building a graph; the loss below recomputes the rollout in one batched pass.
            start_state = state
            observations, actions = [], []
            with torch.no_grad():
                for t in range(args.n_steps):
                    obs_t = torch.tensor(obs, dtype=torch.float32)  # a copy: obs is updated in place below
                    dist, value, state = model(obs_t, state)
                    action = dist.sample()
                    observations.append(obs_t)
                    actions.append(action)
                    values[t] = value.numpy()
                    next_obs = []
                    truncated_rows = []
                    for i, env in enumerate(envs):
                        o, reward, terminated, truncated, _ = env.step(env_action(action[i], space))
                        rewards[t, i] = reward * args.reward_scale
                        ends[t, i] = terminated or truncated
                        # Terminated: nothing follows (0). Truncated: bootstrap from the final observation (below).
                        # Otherwise the value of the next step, filled in after the rollout.
                        next_values[t, i] = 0.0
                        episode_returns[i] += float(reward)
                        episode_lengths[i] += 1
                        if terminated or truncated:
                            if not terminated:  # truncated: keep the final observation for the bootstrap
                                truncated_rows.append(i)
                                next_obs.append(o)
                            messages.put(("episode", rank, float(episode_returns[i]), int(episode_lengths[i])))
                            episode_returns[i], episode_lengths[i] = 0.0, 0
                            o, _ = env.reset()
                        obs[i] = o
                    if truncated_rows:  # a time limit does not end the task: V(final observation), state before reset
                        rows = torch.as_tensor(truncated_rows)
                        final = torch.as_tensor(np.stack(next_obs), dtype=torch.float32)
                        next_values[t, truncated_rows] = model(final, state_rows(state, rows))[1].numpy()
                    state = mask_state(state, torch.as_tensor(1.0 - ends[t], dtype=torch.float32))
                last_values = model(torch.as_tensor(obs, dtype=torch.float32), state)[1].numpy()
            following = np.concatenate([values[1:], last_values[None]])
            nexts = np.where(ends > 0, next_values, following)
            advantages, targets = gae(rewards, values, nexts, ends, args.gamma, args.gae_lambda)
            rollout, ends_t = torch.stack(observations), torch.as_tensor(ends, dtype=torch.float32)
            dist, value_t, _ = replay(model, rollout, start_state, ends_t)
            adv = torch.as_tensor(advantages.reshape(-1), dtype=torch.float32)
            if args.normalize_advantages and adv.numel() > 1:
                adv = (adv - adv.mean()) / (adv.std() + 1e-8)
            policy_loss = -(dist.log_prob(torch.cat(actions)) * adv).mean()
            target_t = torch.as_tensor(targets.reshape(-1), dtype=torch.float32)
            value_loss = 0.5 * ((target_t - value_t) ** 2).mean()
            entropy = dist.entropy().mean()
            loss = policy_loss + args.value_coef * value_loss - args.entropy_coef * entropy
            kl_to_init = torch.tensor(math.nan)
            if reference is not None:
                with torch.no_grad():
                    reference_dist, _, reference_state = replay(reference, rollout, reference_state, ends_t)
                kl_to_init = kl_divergence(reference_dist, dist).mean()
                loss = loss + args.init_kl_coef * kl_to_init
            model.zero_grad()
            loss.backward()
            grad_norm = float(nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm))
            # Synchronisation: this worker's buffer is read by the main process only between the message
            # below and its acknowledgement, so writing it here, before the message, races with nobody.
            for buffer, p in zip(grads, model.parameters(), strict=True):
                buffer.copy_(p.grad if p.grad is not None else torch.zeros_like(p))
            stats = (policy_loss.item(), value_loss.item(), entropy.item(), grad_norm, kl_to_init.item())
            messages.put(("grad", rank, args.n_steps * n_envs, stats))
            while not ack.acquire(timeout=1.0):
                if not main_process_alive():
                    return  # killed without stopping us (SIGKILL): nobody will apply gradients any more
            if stop.is_set():
                break
            # Synchronisation: the main process holds the lock while it writes the global parameters, so the
            # copy never sees a half-applied update.
            with lock:
                copy_weights(global_model, model)
    except Exception:
        messages.put(("error", rank, traceback.format_exc()))
        raise SystemExit(1) from None
    finally:
        close_all(envs)


def evaluator(
    args: Args,
    global_model: nn.Module,
    lock: Any,
    steps: Any,
    messages: Any,
    stop: Any,
    first_at: int,
    started: float,
    environ: dict[str, str],
) -> None:
    """Evaluates a snapshot of the global model every ``eval_every`` steps with the deterministic policy.

    ``started`` is the run's ``time.monotonic()`` origin (a system-wide clock), so results carry the run's clock
    at the snapshot.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, exit_on_signal)
    adopt_environment(environ)
    envs: list[gym.Env] = []
    try:
        torch.set_num_threads(args.torch_threads)
        Distribution.set_default_validate_args(False)
        envs = make_eval_envs(args, args.eval_episodes)
        model = model_for(args, envs[0])
        next_at = first_at
        while not stop.is_set():
            at = steps.value
            if at < next_at:
                if not main_process_alive():
                    return
                time.sleep(0.05)
                continue
            with lock:
                copy_weights(global_model, model)
            wall_s = time.monotonic() - started
            point = eval_point(args, model, envs, at, wall_s)
            # The weights evaluated go back with the result: training moved on meanwhile, and best.pt must
            # hold what was measured, not the global model of the moment the result arrives.
            weights = {k: v.clone() for k, v in model.state_dict().items()}
            messages.put(("eval", point, weights))
            next_at = (at // args.eval_every + 1) * args.eval_every
    except Exception:
        messages.put(("error", -1, traceback.format_exc()))
        raise SystemExit(1) from None
    finally:
        close_all(envs)


# -- checkpoints ----------------------------------------------------------------------------------------------
def save_checkpoint(
    path: Path, weights: dict[str, torch.Tensor], optimizer: torch.optim.Optimizer, counters: dict, args: Args
) -> None:
    """Everything a resume needs (weights, optimizer state, counters, config), written atomically."""
    payload = {
        "format": CHECKPOINT_FORMAT,
        "model": weights,
        "optimizer": optimizer.state_dict(),
        "counters": counters,
        "config": dataclasses.asdict(args),
    }
    save_atomically(payload, path)


def save_atomically(payload: dict[str, Any], path: Path) -> None:
    """Write then rename: a crash mid-write leaves the previous file intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint file, or the latest one of a run folder; anything else is a clear ConfigError."""
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoints" / "latest.pt"
    if not path.is_file():
        raise ConfigError(f"{path}: no such checkpoint")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for corrupt or foreign files
        raise ConfigError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc})".split("\n")[0]) from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT or "model" not in payload:
        raise ConfigError(f"{path}: not a pixelpilot checkpoint (format {CHECKPOINT_FORMAT})")
    payload["path"] = str(path)
    return payload


def export_policy(checkpoint: str | Path, out: str | Path, half: bool = True) -> Path:
    """A checkpoint without its optimizer state, weights in float16 by default (a third of the size on disk,
    loaded back into float32): what a pilot needs to drive, be evaluated or be trained on with ``init_from``."""
    payload = load_checkpoint(checkpoint)
    weights = {k: v.half() if half and v.is_floating_point() else v for k, v in payload["model"].items()}
    policy = {key: payload[key] for key in ("format", "counters", "config")} | {"model": weights}
    out = Path(out)
    save_atomically(policy, out)
    return out


def checkpoint_args(payload: dict[str, Any], **overrides: Any) -> Args:
    """The run configuration stored in a checkpoint, with ``overrides``; a foreign one is a ConfigError."""
    try:
        return Args(**{**payload["config"], **overrides})
    except TypeError as exc:
        raise ConfigError(f"{payload['path']}: its configuration does not match this pixelpilot ({exc})") from None


def load_weights(model: nn.Module, payload: dict[str, Any], env_id: str) -> None:
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as exc:
        trained = payload.get("config", {}).get("env_id", "?")
        first = str(exc).splitlines()[1].strip() if len(str(exc).splitlines()) > 1 else str(exc)
        raise ConfigError(
            f"{payload['path']}: the model (trained on {trained}) does not fit {env_id}: {first}"
        ) from None


# -- results --------------------------------------------------------------------------------------------------
@dataclass
class EvalPoint:
    steps: int
    wall_s: float
    mean: float
    std: float
    laps: float | None = None
    """the share of episodes that completed a lap (racing environments only)"""


def eval_point(args: Args, model: nn.Module, envs: list[gym.Env], steps: int, wall_s: float) -> EvalPoint:
    """One evaluation of ``model``: the same episodes each time (and with ``eval_sample`` the same draws)."""
    episodes = run_episodes(model, envs, args.eval_episodes, args.seed + 10_000, sample=args.eval_sample)
    returns = returns_of(episodes)
    completion = lap_completion([e.info for e in episodes])
    return EvalPoint(steps, wall_s, float(returns.mean()), float(returns.std()), completion)


@dataclass
class TrainResult:
    run_dir: Path
    steps: int
    wall_s: float
    curve: list[EvalPoint]
    solved: EvalPoint | None
    interrupted: bool = False


@dataclass(frozen=True)
class TrainProgress:
    """What a running :func:`train` has done, as of its last message."""

    state: str = "starting"
    """starting (environments, processes), training, or finishing (joining the processes, saving)"""
    run_dir: Path | None = None
    steps: int = 0
    total_steps: int = 0
    updates: int = 0
    episodes: int = 0
    sps: float = math.nan
    """environment steps per second over the last log interval (2 s)"""
    recent_return: float = math.nan
    """the mean return of the last 20 training episodes"""
    returns: tuple[tuple[int, float], ...] = ()
    """(steps, return) of the training episodes: the whole run, thinned to at most ``TrainControl.HISTORY``"""
    losses: tuple[tuple[int, float, float, float], ...] = ()
    """(steps, policy loss, value loss, entropy), one per log interval, thinned likewise"""
    evaluations: tuple[EvalPoint, ...] = ()
    checkpoints: tuple[tuple[Path, int], ...] = ()
    """every checkpoint file written, in the order first written, with the steps when it was last written"""


class Thinned:
    """A bounded history: once it holds ``limit`` points every other one is dropped, and from then on only every
    other new point is kept (later every fourth, ...), so a run of any length keeps its whole shape."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.points: list[Any] = []
        self._stride = 1
        self._seen = 0

    def add(self, point: Any) -> None:
        self._seen += 1
        if (self._seen - 1) % self._stride:
            return
        self.points.append(point)
        if len(self.points) >= self.limit:
            self.points = self.points[::2]
            self._stride *= 2


class TrainControl:
    """Another thread's hand on a running :func:`train`: a stop request, which ends the run as Ctrl-C does (a
    checkpoint, every process joined, no final evaluation), and the live :class:`TrainProgress`. The loop only
    records what happened; the snapshot is put together when it is read, so a reader's pace costs it nothing."""

    HISTORY = 2000

    def __init__(self, stop: threading.Event | None = None) -> None:
        """``stop``: an event that stops the run when set (e.g. a task's), besides :meth:`stop`."""
        self._stop = stop if stop is not None else threading.Event()
        self._lock = threading.Lock()
        self._state = "starting"
        self._run_dir: Path | None = None
        self._total_steps = 0
        self._counters: dict[str, Any] = {}
        self._rates = (math.nan, math.nan)
        self._returns = Thinned(self.HISTORY)
        self._losses = Thinned(self.HISTORY)
        self._evaluations: list[EvalPoint] = []
        self._checkpoints: dict[Path, int] = {}

    def stop(self) -> None:
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def progress(self) -> TrainProgress:
        with self._lock:
            counters = self._counters
            return TrainProgress(
                self._state, self._run_dir, counters.get("steps", 0), self._total_steps, counters.get("updates", 0),
                counters.get("episodes", 0), *self._rates, tuple(self._returns.points), tuple(self._losses.points),
                tuple(self._evaluations), tuple(self._checkpoints.items()),
            )  # fmt: skip

    def _started(self, run_dir: Path, total_steps: int, counters: dict[str, Any]) -> None:
        with self._lock:
            self._run_dir, self._total_steps, self._counters = run_dir, total_steps, dict(counters)

    def _counted(self, counters: dict[str, Any]) -> None:
        with self._lock:
            self._state, self._counters = "training", dict(counters)

    def _episode(self, steps: int, ret: float) -> None:
        with self._lock:
            self._returns.add((steps, ret))

    def _logged(self, steps: int, sps: float, recent_return: float, losses: dict[str, float]) -> None:
        with self._lock:
            self._rates = (sps, recent_return)
            self._losses.add((steps, *(float(losses[name]) for name in ("policy_loss", "value_loss", "entropy"))))

    def _evaluated(self, point: EvalPoint) -> None:
        with self._lock:
            self._evaluations.append(point)

    def _saved(self, path: Path, steps: int) -> None:
        with self._lock:
            self._checkpoints[path] = steps

    def _finishing(self) -> None:
        with self._lock:
            self._state = "finishing"


# -- the main loop: the optimizer's process --------------------------------------------------------------------
class _Run:
    """The files of one run: config.toml, progress.csv, TensorBoard events, checkpoints, the reward curve."""

    COLUMNS = ("wall_s", "steps", "updates", "episodes", "sps", "episodic_return", "eval_return",
               "policy_loss", "value_loss", "entropy", "grad_norm", "eval_laps", "kl_to_init")  # fmt: skip

    def __init__(self, run_dir: Path, args: Args, resumed: bool) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.dir = run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.toml").write_text(
            f"# pixelpilot train --config {run_dir / 'config.toml'} reproduces this run\n"
            + to_toml(dataclasses.asdict(args))
        )
        new_csv = not (resumed and (run_dir / "progress.csv").exists())
        self._csv_file = (run_dir / "progress.csv").open("w" if new_csv else "a", newline="")
        self.csv = csv.writer(self._csv_file)
        if new_csv:
            self.csv.writerow(self.COLUMNS)
        self.writer = SummaryWriter(str(run_dir))

    def row(self, values: dict[str, float]) -> None:
        self.csv.writerow([f"{values.get(c, float('nan')):.6g}" for c in self.COLUMNS])
        self._csv_file.flush()

    def evaluation(self, point: EvalPoint, counters: dict) -> None:
        self.writer.add_scalar("charts/eval_return", point.mean, point.steps)
        self.writer.add_scalar("charts/eval_return_std", point.std, point.steps)
        laps = float("nan") if point.laps is None else point.laps
        if point.laps is not None:
            self.writer.add_scalar("charts/eval_lap_completion", point.laps, point.steps)
        self.row({"wall_s": point.wall_s, "steps": point.steps, "updates": counters["updates"],
                  "episodes": counters["episodes"], "eval_return": point.mean, "eval_laps": laps})  # fmt: skip

    def close(self) -> None:
        self.writer.close()
        self._csv_file.close()


def moving_mean(values: Sequence[float]) -> tuple[int, np.ndarray]:
    """The smoothing of a curve of training returns: means over windows of a 50th of them (at least 1), and that
    window; the i-th mean ends at value ``i + window - 1``."""
    window = max(1, len(values) // 50)
    return window, np.convolve(values, np.ones(window) / window, mode="valid")


def _plot(path: Path, episodes: list[tuple[int, float]], curve: list[EvalPoint], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    if episodes:
        steps, returns = zip(*episodes, strict=True)
        ax.plot(steps, returns, ".", alpha=0.25, label="training episodes")
        window, smooth = moving_mean(returns)
        ax.plot(steps[window - 1 :], smooth, label=f"training, mean of {window}")
    if curve:
        ax.errorbar([p.steps for p in curve], [p.mean for p in curve], [p.std for p in curve], fmt="o-",
                    label="evaluation (deterministic)")  # fmt: skip
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episodic return")
    ax.set_title(title)
    if episodes or curve:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _final_evaluation(args: Args, model: nn.Module, steps: int, wall_s: float) -> EvalPoint:
    """The curve ends with the model training ended with (the evaluator may not have seen the last updates)."""
    envs = make_eval_envs(args, args.eval_episodes)
    try:
        return eval_point(args, model, envs, steps, wall_s)
    finally:
        close_all(envs)


def train(args: Args, resume: str | Path | None = None, control: TrainControl | None = None) -> TrainResult:
    """Train with ``args`` (or continue the run of a checkpoint/run folder); returns the evaluation curve.
    ``control``: a stop request from another thread, and the live progress there."""
    if control is None:
        control = TrainControl()  # nobody reads it; the loop reports to it all the same
    entered = time.monotonic()  # the clock includes setting up: models, environments, processes
    torch.set_num_threads(args.torch_threads)
    counters = {"steps": 0, "updates": 0, "episodes": 0, "wall_s": 0.0}
    payload = None
    if resume is not None:
        payload = load_checkpoint(resume)
        if "optimizer" not in payload:
            raise ConfigError(f"{payload['path']}: an exported policy cannot be resumed; use --init-from to train on")
        counters.update(payload["counters"])
        run_dir = Path(payload["path"]).parent.parent
    else:
        name = args.run_name or f"{args.env_id.replace('/', '-')}__{args.seed}__{datetime.datetime.now():%Y%m%d-%H%M%S}"
        run_dir = Path(args.runs_dir) / name
    control._started(run_dir, args.total_steps, counters)
    torch.manual_seed(args.seed)  # the initial weights
    probe = make_env(args)
    try:
        if args.envs_per_worker > instances_per_process(probe):
            raise ConfigError(
                f"envs-per-worker: {args.env_id} runs {instances_per_process(probe)} per process, not "
                f"{args.envs_per_worker}"
            )
        global_model = model_for(args, probe)
    finally:
        probe.close()
    start = load_checkpoint(args.init_from) if args.init_from else None
    if payload is not None:
        load_weights(global_model, payload, args.env_id)
    elif start is not None:
        load_weights(global_model, start, args.env_id)
        if args.critic_warmup:
            reset_value_head(global_model)
    reference = None
    if args.init_kl_coef and start is not None:
        # The starting policy, also on resuming: the penalty is toward it for the whole run.
        reference = copy.deepcopy(global_model)
        load_weights(reference, start, args.env_id)
        reference.requires_grad_(False).share_memory()
    global_model.share_memory()
    optimizer = torch.optim.Adam(global_model.parameters(), lr=args.lr)
    critic_only = {id(p) for p in global_model.value.parameters()}
    if payload is not None:
        optimizer.load_state_dict(payload["optimizer"])

    run = _Run(run_dir, args, resumed=payload is not None)
    started = entered - counters["wall_s"]
    ctx = start_method()
    environ = dict(os.environ)
    messages = ctx.Queue()
    lock = ctx.Lock()
    stop = ctx.Event()
    steps = ctx.Value("q", counters["steps"])
    # One semaphore per worker, released once per applied gradient. Not an Event: a waiter whose timed wait
    # ends as the Event is set can trip multiprocessing's Condition bookkeeping ("notify: Should not have been able
    # to acquire _wait_semaphore"), which broke the clean-up after Ctrl-C now and then.
    acks = [ctx.Semaphore(0) for _ in range(args.workers)]
    grads = [[torch.zeros_like(p).share_memory_() for p in global_model.parameters()] for _ in range(args.workers)]
    attempts = [0] * args.workers

    def start_worker(rank: int) -> Any:
        while acks[rank].acquire(False):  # a restarted worker starts without a pending acknowledgement
            pass
        proc = ctx.Process(
            target=worker,
            args=(
                rank,
                attempts[rank],
                args,
                global_model,
                reference,
                grads[rank],
                lock,
                messages,
                acks[rank],
                stop,
                environ,
            ),
            name=f"a3c-worker-{rank}",
            daemon=True,
        )
        proc.start()
        return proc

    procs = [start_worker(rank) for rank in range(args.workers)]
    eval_proc = None
    if args.eval_every:
        first_at = (counters["steps"] // args.eval_every + 1) * args.eval_every
        eval_proc = ctx.Process(
            target=evaluator,
            args=(args, global_model, lock, steps, messages, stop, first_at, started, environ),
            daemon=True,
        )
        eval_proc.start()

    bar = None
    if args.progress:
        from tqdm import tqdm

        bar = tqdm(total=args.total_steps, initial=counters["steps"], unit="step", dynamic_ncols=True)
    curve: list[EvalPoint] = []
    episodes: list[tuple[int, float]] = []
    recent: deque[float] = deque(maxlen=20)
    losses: list[tuple[float, float, float, float]] = []
    solved: EvalPoint | None = None
    best_eval = -math.inf
    last_log, last_log_steps = time.monotonic(), counters["steps"]
    last_check = time.monotonic()
    next_checkpoint = (counters["steps"] // args.checkpoint_every + 1) * args.checkpoint_every
    latest = run_dir / "checkpoints" / "latest.pt"
    interrupted = False
    failure: str | None = None

    def checkpoint(path: Path = latest, weights: dict[str, torch.Tensor] | None = None) -> None:
        counters["wall_s"] = time.monotonic() - started
        save_checkpoint(path, weights or global_model.state_dict(), optimizer, counters, args)
        control._saved(path, counters["steps"])

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # SIGTERM stops a run as Ctrl-C does: a checkpoint, no process left behind

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous_sigterm = signal.signal(signal.SIGTERM, terminate) if in_main_thread else None
    try:
        while counters["steps"] < args.total_steps and solved is None:
            if control.stop_requested:  # from another thread (the control panel): the way out Ctrl-C takes
                interrupted = True
                break
            try:
                msg = messages.get(timeout=1.0)
            except queue_module.Empty:
                msg = None
            if msg is not None and msg[0] == "error":  # a crashing process reports its traceback first
                where = "the evaluator" if msg[1] < 0 else f"worker {msg[1]}"
                log.error("%s crashed: %s", where, msg[2].strip().splitlines()[-1])
                if msg[1] < 0:
                    failure = f"the evaluator crashed: {msg[2].strip().splitlines()[-1]}"
                    break
            if msg is None or msg[0] == "error" or time.monotonic() - last_check >= 1.0:
                last_check = time.monotonic()
                for rank, proc in enumerate(procs):
                    if proc.exitcode is None:
                        continue
                    attempts[rank] += 1
                    if attempts[rank] > args.max_restarts:
                        failure = f"worker {rank} crashed {attempts[rank]} times (exit code {proc.exitcode})"
                        break
                    log.warning("worker %d exited with code %s; restarting it (%d of %d); the global model is kept",
                                rank, proc.exitcode, attempts[rank], args.max_restarts)  # fmt: skip
                    procs[rank] = start_worker(rank)
                if failure:
                    break
            if msg is None or msg[0] == "error":
                continue
            kind = msg[0]
            if kind == "grad":
                _, rank, n, stats = msg
                # Synchronisation: the only writer of the global parameters; the lock keeps the workers' and the
                # evaluator's copies from seeing half an update. The worker waits until its ack below.
                warming_up = counters["steps"] < args.critic_warmup
                with lock:
                    for p, g in zip(global_model.parameters(), grads[rank], strict=True):
                        # No gradient (not a zero one) leaves a parameter and its Adam moments untouched.
                        p.grad = None if warming_up and id(p) not in critic_only else g
                    optimizer.step()
                acks[rank].release()
                counters["steps"] += n
                counters["updates"] += 1
                steps.value = counters["steps"]
                losses.append(stats)
                if bar is not None:
                    bar.update(n)
                if counters["steps"] >= next_checkpoint:
                    checkpoint()
                    next_checkpoint += args.checkpoint_every
            elif kind == "episode":
                _, _, ret, length = msg
                counters["episodes"] += 1
                recent.append(ret)
                episodes.append((counters["steps"], ret))
                control._episode(counters["steps"], ret)
                run.writer.add_scalar("charts/episodic_return", ret, counters["steps"])
                run.writer.add_scalar("charts/episodic_length", length, counters["steps"])
            elif kind == "eval":
                _, point, weights = msg
                curve.append(point)
                run.evaluation(point, counters)
                control._evaluated(point)
                if point.mean > best_eval:
                    best_eval = point.mean
                    checkpoint(run_dir / "checkpoints" / "best.pt", weights)
                if args.target_return is not None and point.mean >= args.target_return:
                    solved = point
            control._counted(counters)
            now = time.monotonic()
            if now - last_log >= 2.0 and losses:
                sps = (counters["steps"] - last_log_steps) / (now - last_log)
                mean_losses = np.mean(losses, axis=0)
                names = ("policy_loss", "value_loss", "entropy", "grad_norm", "kl_to_init")
                values = dict(zip(names, mean_losses, strict=True))
                for name, value in values.items():
                    if not math.isnan(value):  # kl_to_init without a reference
                        run.writer.add_scalar(f"losses/{name}", value, counters["steps"])
                run.writer.add_scalar("charts/SPS", sps, counters["steps"])
                recent_return = float(np.mean(recent)) if recent else float("nan")
                run.row({"wall_s": now - started, "steps": counters["steps"], "updates": counters["updates"],
                         "episodes": counters["episodes"], "sps": sps, "episodic_return": recent_return,
                         **values})  # fmt: skip
                control._logged(counters["steps"], sps, recent_return, values)
                if bar is not None:
                    bar.set_postfix(ret=f"{recent_return:.1f}", eval=f"{curve[-1].mean:.1f}" if curve else "-",
                                    sps=f"{sps:.0f}")  # fmt: skip
                losses.clear()
                last_log, last_log_steps = now, counters["steps"]
    except KeyboardInterrupt:
        interrupted = True
        log.warning("interrupted: saving a checkpoint")
    finally:
        control._finishing()
        # A second Ctrl-C must not cut the clean-up short: workers would be left running and no checkpoint saved.
        previous_sigint = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main_thread else None
        if in_main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop.set()
        for ack in acks:
            ack.release()  # wake every worker waiting for its update, so it sees the stop
        for proc in [*procs, *([eval_proc] if eval_proc else [])]:
            proc.join(10)
            if proc.is_alive():
                proc.terminate()
                proc.join()
        checkpoint()
        if bar is not None:
            bar.close()
        if (
            args.eval_every
            and not interrupted
            and failure is None
            and (not curve or curve[-1].steps < counters["steps"])
        ):
            point = _final_evaluation(args, global_model, counters["steps"], time.monotonic() - started)
            curve.append(point)
            run.evaluation(point, counters)
            control._evaluated(point)
        run.close()
        with contextlib.suppress(Exception):  # a plot is a convenience: it must not hide the run's outcome
            _plot(run_dir / "reward_curve.png", episodes, curve, f"A3C on {args.env_id}")
        if in_main_thread:
            signal.signal(signal.SIGINT, previous_sigint)
            signal.signal(signal.SIGTERM, previous_sigterm)
    if failure:
        raise PixelpilotError(f"training stopped: {failure}; the last checkpoint is {latest}")
    return TrainResult(run_dir, counters["steps"], counters["wall_s"], curve, solved, interrupted)
