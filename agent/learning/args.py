"""The options every learner's run has: what to train on, which network, how it is evaluated and where its files go.

Each learner's ``Args`` is a dataclass that extends :class:`RunArgs` with its own options (A3C's workers, PPO's
clipping, ...), a docstring per field, as CleanRL documents its ``Args``; ``pixelpilot train --help`` shows them.
Nothing here imports torch, so the command's parser is built without it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from agent.config import ConfigError, check_fields

if TYPE_CHECKING:
    from agent.policy.checkpoint import Checkpoint

A = TypeVar("A", bound="RunArgs")


@dataclass
class RunArgs:
    label: ClassVar[str] = ""
    """the learner these options are for: its ``--algo`` name and a checkpoint's ``learner``"""

    env_id: str = "CartPole-v1"
    """Gymnasium environment id (classic ones, and pixelpilot/NeonRace-v0 / pixelpilot/Screen-v0)"""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """keyword arguments for gymnasium.make, e.g. difficulty_name=easy"""
    total_steps: int = 1_000_000
    """environment steps before training stops"""
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
    convolutions with full contrast); mlp: map each feature from the observation space's bounds to [-1, 1] inside
    the model (features without finite bounds pass unchanged)"""
    frame_differences: bool = False
    """cnn-*: the model sees the newest frame and what changed between the stacked ones (needs frame-stack ≥ 2)"""
    seed: int = 1
    """seed of the network's first weights, the environments and the sampling"""
    eval_every: int = 20_000
    """evaluate the model every this many environment steps (0: never)"""
    eval_episodes: int = 10
    """episodes per evaluation, with the deterministic policy (most likely actions) unless eval_sample"""
    eval_sample: bool = False
    """evaluate with actions drawn from the policy (the same seeded draws each time): the policy an on-policy
    learner trains. A behaviour-cloned policy is not sharp everywhere, and its most likely action can drive worse
    than it does"""
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
    torch_threads: int = 1
    """torch threads per process: one per process is fastest on small machines"""
    progress: bool = True
    """show a progress bar on the console"""

    def __post_init__(self) -> None:
        check_fields(self, {
            "total_steps": self.total_steps >= 1,
            "frame_stack": self.frame_stack >= 1,
            "pool": self.pool >= 1,
            "eval_every": self.eval_every >= 0,
            "eval_episodes": self.eval_episodes >= 1,
            "eval_envs": self.eval_envs >= 1,
            "checkpoint_every": self.checkpoint_every >= 1,
            "torch_threads": self.torch_threads >= 1,
        })  # fmt: skip
        if self.hidden is not None and self.hidden < 1:
            raise ConfigError(f"hidden: invalid value {self.hidden!r}")
        for name in ("env_kwargs", "eval_env_kwargs"):
            value = getattr(self, name)
            if not isinstance(value, dict) and (value is not None or name == "env_kwargs"):
                raise ConfigError(f"{name}: expected a table of keyword arguments, got {value!r}")


@dataclass
class PolicyGradientArgs(RunArgs):
    """The options of the simple policy-gradient learners (REINFORCE, one-step actor-critic): one Adam step per
    update on the policy gradient, the critic's regression and an entropy bonus."""

    gamma: float = 0.99
    """discount factor"""
    lr: float = 1e-3
    """Adam learning rate"""
    value_coef: float = 0.5
    """weight of the critic's loss"""
    entropy_coef: float = 0.0
    """weight of the entropy bonus"""
    max_grad_norm: float = 1.0
    """global gradient-norm clip of each update"""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(self, {
            "gamma": 0 < self.gamma <= 1,
            "lr": 0 < self.lr < 1,
            "value_coef": self.value_coef >= 0,
            "entropy_coef": self.entropy_coef >= 0,
            "max_grad_norm": self.max_grad_norm > 0,
        })  # fmt: skip


@dataclass
class OffPolicyArgs(RunArgs):
    """The options of the learners that learn from a replay memory (DQN, DDPG): what they remember, when and how
    much they learn from it, and how fast their target networks follow."""

    num_envs: int = 1
    """environments stepped side by side; every step of each goes into the replay memory"""
    buffer_size: int = 10_000
    """transitions the replay memory keeps (the oldest go first)"""
    learning_starts: int = 10_000
    """environment steps of exploration before the first update"""
    train_frequency: int = 10
    """environment steps (over all environments) between rounds of updates"""
    gradient_steps: int = 1
    """updates per round, each on a minibatch drawn from the replay memory"""
    batch_size: int = 128
    """transitions per minibatch"""
    gamma: float = 0.99
    """discount factor"""
    tau: float = 1.0
    """how far each update moves a target network toward the trained one (1: a copy; below 1: Polyak averaging)"""
    max_grad_norm: float = 10.0
    """global gradient-norm clip of each update"""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(self, {
            "num_envs": self.num_envs >= 1,
            "buffer_size": self.buffer_size >= self.batch_size,
            "learning_starts": self.learning_starts >= 0,
            "train_frequency": self.train_frequency >= 1,
            "gradient_steps": self.gradient_steps >= 1,
            "batch_size": self.batch_size >= 1,
            "gamma": 0 <= self.gamma <= 1,
            "tau": 0 < self.tau <= 1,
            "max_grad_norm": self.max_grad_norm > 0,
        })  # fmt: skip


def schedule(start: float, end: float | None, steps: int, total: int) -> float:
    """A value going linearly from ``start`` at step 0 to ``end`` at ``total`` (``end`` None: ``start`` throughout)."""
    if end is None:
        return start
    done = min(max(steps / total, 0.0), 1.0)
    return start + (end - start) * done


def from_config(cls: type[A], config: dict[str, Any], where: str, **overrides: Any) -> A:
    """The options a checkpoint stored (``--resume``), with ``overrides``; a foreign table is one ConfigError."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(config) - names)
    if unknown:
        raise ConfigError(f"{where}: its options do not match this pixelpilot ({unknown[0]}: unknown option)")
    try:
        return cls(**{**config, **overrides})
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: its options do not match this pixelpilot ({exc})") from None


def resumed_options(cls: type[A], checkpoint: Checkpoint, **overrides: Any) -> A:
    """The options of the run ``checkpoint`` belongs to, with ``overrides`` (options given on the command line):
    ``cls``, a learner's options, whose ``label`` the checkpoint's learner must be. An exported policy, or another
    learner's checkpoint, is one ConfigError line."""
    label = cls.label
    if checkpoint.optimizer is None or checkpoint.config is None:
        raise ConfigError(f"{checkpoint.where}: an exported policy cannot be resumed; use --init-from to train on")
    if checkpoint.learner != label:
        raise ConfigError(f"{checkpoint.where}: a checkpoint of {checkpoint.learner}, which --algo {label} cannot "
                          "resume")  # fmt: skip
    return from_config(cls, checkpoint.config, checkpoint.where, **overrides)
