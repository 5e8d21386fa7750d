"""A3C's options: one typed dataclass on every run's (:class:`agent.learning.args.RunArgs`), a docstring per field
(``pixelpilot train --help`` shows them), checked when made. It imports no torch, so the command's parser is built
without it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from agent.config import ConfigError, check_fields
from agent.learning.args import RunArgs


@dataclass
class Args(RunArgs):
    """A3C's options (and every run's, :class:`RunArgs`)."""

    label: ClassVar[str] = "a3c"

    workers: int = 2
    """worker processes, each with its own environments (more than the machine's cores is slower)"""
    envs_per_worker: int = 1
    """environments each worker steps side by side with one batched forward pass: more samples per second
    from the same cores, and each gradient averages over more episodes"""
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
    max_restarts: int = 3
    """how often a crashed worker is restarted before the run gives up"""
    ray: str | None = None
    """run the workers as actors of this Ray cluster: ``auto`` (the cluster this machine joined with ``ray
    start``), ``ray://HEAD:10001`` or ``HEAD:6379``; the model, its optimizer and the evaluator stay in this
    process. Without it the workers are local processes and Ray is not imported"""
    ray_cpus: float = 1.0
    """with ray: the CPUs each worker asks of its node (Ray places it on a node where they are free)"""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(self, {
            "workers": self.workers >= 1,
            "envs_per_worker": self.envs_per_worker >= 1,
            "n_steps": self.n_steps >= 1,
            "gamma": 0 < self.gamma <= 1,
            "gae_lambda": 0 <= self.gae_lambda <= 1,
            "lr": 0 < self.lr < 1,
            "reward_scale": self.reward_scale > 0,
            "value_coef": self.value_coef >= 0,
            "entropy_coef": self.entropy_coef >= 0,
            "max_grad_norm": self.max_grad_norm > 0,
            "max_restarts": self.max_restarts >= 0,
            "critic_warmup": self.critic_warmup >= 0,
            "init_kl_coef": self.init_kl_coef >= 0,
            "ray_cpus": self.ray_cpus >= 0,
        })  # fmt: skip
        if self.ray is not None and not self.ray.strip():
            raise ConfigError("ray: expected a cluster's address (auto, ray://HEAD:10001 or HEAD:6379), got ''")
        if self.entropy_coef_end is not None and self.entropy_coef_end < 0:
            raise ConfigError(f"entropy-coef-end: invalid value {self.entropy_coef_end!r}")
        if self.critic_warmup and not self.init_from:
            raise ConfigError("critic-warmup: only with init-from (a random network has no policy to protect)")
        if self.init_kl_coef and not self.init_from:
            raise ConfigError("init-kl-coef: only with init-from (the penalty is for drifting from its policy)")


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
