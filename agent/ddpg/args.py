"""DDPG's options: every replay learner's (:class:`agent.learning.args.OffPolicyArgs`) and its own, a docstring per
field, checked when made. The defaults follow CleanRL's ``ddpg_continuous_action.py``; the presets
(:mod:`agent.ddpg.presets`) change them per environment. No torch here: the command's parser is built without it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from agent.config import check_fields
from agent.learning.args import OffPolicyArgs


@dataclass
class DDPGArgs(OffPolicyArgs):
    """DDPG's options (and every off-policy learner's, :class:`OffPolicyArgs`, with CleanRL's defaults for DDPG)."""

    label: ClassVar[str] = "ddpg"

    env_id: str = "Pendulum-v1"
    buffer_size: int = 1_000_000
    learning_starts: int = 25_000
    """environment steps of uniformly random actions before the first update"""
    train_frequency: int = 1
    batch_size: int = 256
    tau: float = 0.005
    actor_lr: float = 3e-4
    """Adam learning rate of the actor"""
    critic_lr: float = 3e-4
    """Adam learning rate of the critic"""
    exploration_noise: float = 0.1
    """standard deviation of the Gaussian noise added to the actor's actions while collecting, as a share of each
    action's half range"""
    policy_frequency: int = 2
    """critic updates per actor update (and per move of the target networks)"""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(self, {
            "actor_lr": 0 < self.actor_lr < 1,
            "critic_lr": 0 < self.critic_lr < 1,
            "exploration_noise": self.exploration_noise >= 0,
            "policy_frequency": self.policy_frequency >= 1,
        })  # fmt: skip
