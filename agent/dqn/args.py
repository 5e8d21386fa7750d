"""DQN's options: every replay learner's (:class:`agent.learning.args.OffPolicyArgs`) and its own, a docstring per
field, checked when made. The defaults follow CleanRL's ``dqn.py`` where it has the option; the presets
(:mod:`agent.dqn.presets`) change them per environment. No torch here: the command's parser is built without it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from agent.config import ConfigError, check_fields
from agent.learning.args import OffPolicyArgs


@dataclass
class DQNArgs(OffPolicyArgs):
    """DQN's options (and every off-policy learner's, :class:`OffPolicyArgs`)."""

    label: ClassVar[str] = "dqn"

    lr: float = 2.5e-4
    """Adam learning rate"""
    target_network_frequency: int = 500
    """environment steps between updates of the target network (the one the targets are computed with)"""
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
    demos: list[str] = field(default_factory=list)
    """DQfD: recorded datasets (``pixelpilot record``) whose steps every minibatch draws from for the whole run,
    with a large-margin loss on their actions (start ε low, e.g. start_e 0.01: random actions spoil what the
    demonstrations taught)"""
    demo_share: float = 0.25
    """with demos: the share of each minibatch drawn from them"""
    demo_margin: float = 0.8
    """with demos: how far above every other action's value the demonstrated one's must be before the margin loss
    lets go (DQfD's 0.8)"""
    demo_coef: float = 1.0
    """with demos: the weight of the margin loss (DQfD's λ2)"""
    demo_pretrain_steps: int = 0
    """with demos: updates on the demonstrations alone before the first environment step (DQfD pretrains)"""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(self, {
            "lr": 0 < self.lr < 1,
            "target_network_frequency": self.target_network_frequency >= 1,
            "start_e": 0 <= self.start_e <= 1,
            "end_e": 0 <= self.end_e <= 1,
            "exploration_fraction": 0 < self.exploration_fraction <= 1,
            "per_alpha": self.per_alpha >= 0,
            "per_beta": 0 <= self.per_beta <= 1,
            "per_eps": self.per_eps > 0,
            "demo_share": 0 < self.demo_share < 1,
            "demo_margin": self.demo_margin >= 0,
            "demo_coef": self.demo_coef >= 0,
            "demo_pretrain_steps": self.demo_pretrain_steps >= 0,
        })  # fmt: skip
        if self.demo_pretrain_steps and not self.demos:
            raise ConfigError("demo-pretrain-steps: pretraining learns from demonstrations; give --demos")
