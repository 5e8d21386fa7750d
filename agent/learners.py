"""The learners ``pixelpilot train --algo`` and the panel's Train tab offer: each one's options, presets and
entry points, found by name. Importing this imports only the options (no torch): the command's parser needs them,
and a learner's module is imported when it trains."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.a3c.args import Args
from agent.config import ConfigError
from agent.ddpg.args import DDPGArgs
from agent.dqn.args import DQNArgs
from agent.learning.args import RunArgs, resumed_options
from agent.one_step.args import OneStepArgs
from agent.ppo.args import DPPOArgs, PPOArgs
from agent.reinforce.args import ReinforceArgs

if TYPE_CHECKING:
    from agent.learning.progress import TrainControl
    from agent.learning.record import TrainResult
    from agent.policy.checkpoint import Checkpoint


@dataclass(frozen=True)
class Learner:
    name: str
    """what ``--algo`` and a checkpoint's ``learner`` call it"""
    title: str
    args: type[RunArgs]
    module: str
    """the module with its ``train(args, resume, control)``"""
    presets: str
    """the module with its ``preset(env_id)``, the settings measured per environment"""

    def preset(self, env_id: str) -> dict[str, Any]:
        """The options that differ from their defaults on ``env_id`` (its preset; none where not measured)."""
        return dict(importlib.import_module(self.presets).preset(env_id))

    def starting_args(self, env_id: str) -> RunArgs:
        """The options a run on ``env_id`` starts from: the defaults, then the environment's preset."""
        return self.args(env_id=env_id, **self.preset(env_id))

    def resume_args(self, checkpoint: Checkpoint) -> RunArgs:
        """The options of the run ``checkpoint`` belongs to; an exported policy, or another learner's checkpoint, is
        refused."""
        return resumed_options(self.args, checkpoint)

    def train(
        self, args: Any, resume: str | Path | Checkpoint | None = None, control: TrainControl | None = None
    ) -> TrainResult:
        return importlib.import_module(self.module).train(args, resume, control)


LEARNERS = {
    "a3c": Learner("a3c", "A3C", Args, "agent.a3c.trainer", "agent.a3c.presets"),
    "ppo": Learner("ppo", "PPO", PPOArgs, "agent.ppo.algorithm", "agent.ppo.presets"),
    "dppo": Learner("dppo", "DPPO", DPPOArgs, "agent.ppo.algorithm", "agent.ppo.presets"),
    "reinforce": Learner(
        "reinforce", "REINFORCE", ReinforceArgs, "agent.reinforce.algorithm", "agent.reinforce.presets"
    ),
    "actor-critic": Learner(
        "actor-critic", "one-step actor-critic", OneStepArgs, "agent.one_step.algorithm", "agent.one_step.presets"
    ),
    "dqn": Learner("dqn", "DQN", DQNArgs, "agent.dqn.algorithm", "agent.dqn.presets"),
    "ddpg": Learner("ddpg", "DDPG", DDPGArgs, "agent.ddpg.algorithm", "agent.ddpg.presets"),
}
DEFAULT = "a3c"


def learner(name: str) -> Learner:
    try:
        return LEARNERS[name]
    except KeyError:
        raise ConfigError(f"algo: unknown learner {name!r}; choose {', '.join(LEARNERS)}") from None
