"""One-step actor-critic's options: every policy-gradient run's (:class:`agent.learning.args.PolicyGradientArgs`) and
its own, a docstring per field, checked when made. No torch here: the command's parser is built without it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from agent.config import check_fields
from agent.learning.args import PolicyGradientArgs


@dataclass
class OneStepArgs(PolicyGradientArgs):
    """One-step actor-critic's options (and every policy-gradient run's, :class:`PolicyGradientArgs`)."""

    label: ClassVar[str] = "actor-critic"

    num_envs: int = 1
    """environments stepped side by side; each step of each one is a sample of the update that follows it"""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(self, {"num_envs": self.num_envs >= 1})
