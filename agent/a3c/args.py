"""A3C's options: one typed dataclass, a docstring per field (``pixelpilot train --help`` shows them), checked when
made. It imports no torch, so the command's parser is built without it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.config import ConfigError, check_fields


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
    entropy_coef_end: float | None = None
    """the entropy bonus falls linearly from entropy_coef to this over the run (default: stays at entropy_coef)"""
    anneal_lr: bool = False
    """the learning rate falls linearly to 0 over the run"""
    max_grad_norm: float = 40.0
    """global gradient-norm clip of each worker's gradient"""
    model: str = "auto"
    """network: auto (mlp for vectors, cnn-lstm for images), mlp, cnn-lstm or cnn-mlp"""
    hidden: int | None = None
    """units per hidden layer (default: 64 for the MLP, 256 for the CNN core)"""
    frame_stack: int = 1
    """stack this many consecutive observations as channels (image envs)"""
    pool: int = 1
    """cnn-*: average-pool each frame by this factor before the convolutions (they then cost a pool² part)"""
    layer_norm: bool = False
    """cnn-lstm: layer-normalise the LSTM's gates and cell (its state cannot saturate over long episodes)"""
    input_norm: bool = False
    """cnn-*: standardise each observation over its pixels inside the model (faint pictures reach the
    convolutions with full contrast)"""
    frame_differences: bool = False
    """cnn-*: the model sees the newest frame and what changed between the stacked ones (needs frame-stack ≥ 2)"""
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
    eval_env_kwargs: dict[str, Any] | None = None
    """keyword arguments of the evaluation environments instead of env_kwargs (default: the same), e.g. one lap
    from a standing start where training races three"""
    target_return: float | None = None
    """stop as soon as an evaluation's mean return reaches this"""
    checkpoint_every: int = 100_000
    """write checkpoints/latest.pt every this many environment steps"""
    run_name: str | None = None
    """folder name under runs_dir (default: ENV__SEED__DATE-TIME)"""
    runs_dir: str = "runs"
    """where run folders go"""
    init_from: str | None = None
    """start from this checkpoint's network, weights included (it replaces model, hidden, frame_stack, pool,
    layer_norm, input_norm and frame_differences), e.g. to fine-tune a clone"""
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
            "pool": self.pool >= 1,
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
        if self.entropy_coef_end is not None and self.entropy_coef_end < 0:
            raise ConfigError(f"entropy-coef-end: invalid value {self.entropy_coef_end!r}")
        if self.hidden is not None and self.hidden < 1:
            raise ConfigError(f"hidden: invalid value {self.hidden!r}")
        if self.critic_warmup and not self.init_from:
            raise ConfigError("critic-warmup: only with init-from (a random network has no policy to protect)")
        if self.init_kl_coef and not self.init_from:
            raise ConfigError("init-kl-coef: only with init-from (the penalty is for drifting from its policy)")
        for name in ("env_kwargs", "eval_env_kwargs"):
            value = getattr(self, name)
            if not isinstance(value, dict) and (value is not None or name == "env_kwargs"):
                raise ConfigError(f"{name}: expected a table of keyword arguments, got {value!r}")


def schedule(start: float, end: float | None, steps: int, total: int) -> float:
    """A value going linearly from ``start`` at step 0 to ``end`` at ``total`` (``end`` None: ``start`` throughout)."""
    if end is None:
        return start
    done = min(max(steps / total, 0.0), 1.0)
    return start + (end - start) * done


def for_screen(args: Args, profile: str | Path, display: str) -> Args:
    """``args`` for training through ``profile``'s window (``pixelpilot/Screen-v0``): each process on a virtual
    desktop of its own (``"virtual"``), or one worker and no evaluator on a real display."""
    if display != "virtual" and (args.workers != 1 or args.eval_every):
        raise ConfigError(
            f"--display {display}: one window on a real desktop takes one process; use --workers 1 "
            "--eval-every 0 (or --display virtual: a desktop per worker)"
        )
    from agent.envs import SCREEN_ENV
    from agent.envs.screen import display_kwargs

    kwargs = display_kwargs(profile, display, args.env_kwargs)  # workers inherit DISPLAY
    return dataclasses.replace(args, env_id=SCREEN_ENV, env_kwargs=kwargs)


def from_config(config: dict[str, Any], where: str, **overrides: Any) -> Args:
    """The options a checkpoint stored (``--resume``), with ``overrides``; a foreign table is one ConfigError."""
    names = {f.name for f in dataclasses.fields(Args)}
    unknown = sorted(set(config) - names)
    if unknown:
        raise ConfigError(f"{where}: its options do not match this pixelpilot ({unknown[0]}: unknown option)")
    try:
        return Args(**{**config, **overrides})
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: its options do not match this pixelpilot ({exc})") from None
