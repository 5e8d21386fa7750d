"""REINFORCE's options: every policy-gradient run's (:class:`agent.learning.args.PolicyGradientArgs`) and its own, a
docstring per field, checked when made. No torch here: the command's parser is built without it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from agent.config import check_fields
from agent.learning.args import PolicyGradientArgs


@dataclass
class ReinforceArgs(PolicyGradientArgs):
    """REINFORCE's options (and every policy-gradient run's, :class:`PolicyGradientArgs`)."""

    label: ClassVar[str] = "reinforce"

    episodes_per_update: int = 1
    """whole episodes played side by side (one per environment) before each update"""
    lr: float = 0.01
    """Adam learning rate"""
    baseline: bool = False
    """subtract the critic's value from each return (the critic learns alongside, by regression on the returns):
    the same expected gradient with less variance"""
    normalize_returns: bool = True
    """standardise an update's returns (after the baseline) to mean 0 and std 1, as the seed documents do: the
    step no longer grows with the episode's length"""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(self, {"episodes_per_update": self.episodes_per_update >= 1})
