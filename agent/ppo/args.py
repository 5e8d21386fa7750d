"""PPO's options: every run's (:class:`agent.learning.args.RunArgs`) and its own, a docstring per field, checked
when made. The defaults are CleanRL's (``ppo.py``/``ppo_atari.py``); the presets (:mod:`agent.ppo.presets`) change
them per environment. No torch here: the command's parser is built without it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from agent.config import ConfigError, check_fields
from agent.learning.args import RunArgs


@dataclass
class PPOArgs(RunArgs):
    """PPO's options (and every run's, :class:`RunArgs`)."""

    label: ClassVar[str] = "ppo"

    num_envs: int = 8
    """environments stepped side by side with one batched forward pass"""
    n_steps: int = 128
    """steps each environment rolls out per update: a batch is num_envs × n_steps samples"""
    gamma: float = 0.99
    """discount factor"""
    gae_lambda: float = 0.95
    """GAE(lambda) of the advantages"""
    lr: float = 2.5e-4
    """Adam learning rate"""
    anneal_lr: bool = True
    """the learning rate falls linearly to 0 over the run"""
    update_epochs: int = 4
    """passes over each batch"""
    num_minibatches: int = 4
    """minibatches each pass splits the batch into (a recurrent network's by environment, whole sequences; the
    number must then divide num_envs)"""
    clip_coef: float = 0.2
    """how far the probability ratio of a sampled action may move from 1 before its gradient is cut"""
    clip_vloss: bool = True
    """clip the value's change per update the same way"""
    normalize_advantages: bool = True
    """scale each minibatch's advantages to mean 0 and std 1"""
    entropy_coef: float = 0.01
    """weight of the entropy bonus"""
    value_coef: float = 0.5
    """weight of the value loss"""
    max_grad_norm: float = 0.5
    """global gradient-norm clip of each minibatch's gradient"""
    target_kl: float | None = None
    """stop a batch's passes early once the approximate KL to the policy that collected it passes this"""
    reward_scale: float = 1.0
    """rewards are multiplied by this for learning (episode returns and evaluations stay the environment's own)"""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(self, {
            "num_envs": self.num_envs >= 1,
            "n_steps": self.n_steps >= 1,
            "gamma": 0 < self.gamma <= 1,
            "gae_lambda": 0 <= self.gae_lambda <= 1,
            "lr": 0 < self.lr < 1,
            "update_epochs": self.update_epochs >= 1,
            "num_minibatches": 1 <= self.num_minibatches <= self.num_envs * self.n_steps,
            "clip_coef": self.clip_coef > 0,
            "entropy_coef": self.entropy_coef >= 0,
            "value_coef": self.value_coef >= 0,
            "max_grad_norm": self.max_grad_norm > 0,
            "reward_scale": self.reward_scale > 0,
        })  # fmt: skip
        if self.target_kl is not None and self.target_kl <= 0:
            raise ConfigError(f"target-kl: invalid value {self.target_kl!r}")


@dataclass
class DPPOArgs(PPOArgs):
    """DPPO's options: PPO's. DPPO is PPO whose environments each step in a worker process of their own, the seed
    documents' distributed PPO: the workers collect side by side, then wait while the one policy updates on what
    they collected. The learner still picks every worker's actions with one batched forward pass, so the workers
    run only their environments: it pays where stepping an environment costs more than choosing its action (a
    rendered game such as NeonRace), on a machine with a core for each."""

    label: ClassVar[str] = "dppo"
