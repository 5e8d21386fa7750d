"""DQN's options: every run's (:class:`agent.learning.args.RunArgs`) and its own, a docstring per field, checked when
made. The defaults follow CleanRL's ``dqn.py`` where it has the option; the presets (:mod:`agent.dqn.presets`) change
them per environment. No torch here: the command's parser is built without it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from agent.config import check_fields
from agent.learning.args import RunArgs


@dataclass
class DQNArgs(RunArgs):
    """DQN's options (and every run's, :class:`RunArgs`)."""

    label: ClassVar[str] = "dqn"

    num_envs: int = 1
    """environments stepped side by side; every step of each goes into the replay memory"""
    buffer_size: int = 10_000
    """transitions the replay memory keeps (the oldest go first)"""
    learning_starts: int = 10_000
    """environment steps of ε-greedy play before the first update"""
    train_frequency: int = 10
    """environment steps (over all environments) between rounds of updates"""
    gradient_steps: int = 1
    """updates per round, each on a minibatch drawn from the replay memory"""
    batch_size: int = 128
    """transitions per minibatch"""
    gamma: float = 0.99
    """discount factor"""
    lr: float = 2.5e-4
    """Adam learning rate"""
    target_network_frequency: int = 500
    """environment steps between updates of the target network (the one the targets are computed with)"""
    tau: float = 1.0
    """how far each update moves the target network toward the online one (1: a copy; below 1: Polyak averaging)"""
    start_e: float = 1.0
    """ε at the start: the chance of a random action instead of the greedy one"""
    end_e: float = 0.05
    """ε at the end of the exploration phase and after"""
    exploration_fraction: float = 0.5
    """the share of total_steps over which ε falls linearly from start_e to end_e"""
    double: bool = False
    """Double DQN: the online network picks the next action, the target network values it (a max over noisy
    estimates overestimates; choosing and valuing with different networks does much less)"""
    dueling: bool = False
    """the dueling network: Q(s, ·) = V(s) + A(s, ·) - mean A(s, ·), a state's value learned from every action"""
    prioritized: bool = False
    """prioritised replay: draw transitions in proportion to |TD error|^per_alpha, and weight their losses by
    importance-sampling weights (N·P)^-β, β growing from per_beta to 1 over the run"""
    per_alpha: float = 0.6
    """how much the priorities count (0: uniform draws)"""
    per_beta: float = 0.4
    """the importance-sampling exponent at the start"""
    per_eps: float = 1e-6
    """added to every |TD error|, so no transition's chance falls to 0"""
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
            "lr": 0 < self.lr < 1,
            "target_network_frequency": self.target_network_frequency >= 1,
            "tau": 0 < self.tau <= 1,
            "start_e": 0 <= self.start_e <= 1,
            "end_e": 0 <= self.end_e <= 1,
            "exploration_fraction": 0 < self.exploration_fraction <= 1,
            "per_alpha": self.per_alpha >= 0,
            "per_beta": 0 <= self.per_beta <= 1,
            "per_eps": self.per_eps > 0,
            "max_grad_norm": self.max_grad_norm > 0,
        })  # fmt: skip
