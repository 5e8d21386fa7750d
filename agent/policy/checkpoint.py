"""The checkpoint format: a trained model as data, rebuilt from its spec, never from the options that trained it.

A checkpoint file (``torch.save`` of plain data, read back with ``weights_only=True``) holds:

- ``format``: :data:`CHECKPOINT_FORMAT`;
- ``spec``: the model spec (:class:`models.spec.ModelSpec`: kind, spaces, sizes), which the model is rebuilt from;
- ``model``: the weights (a state dict; float16 in an exported policy, loaded back into float32);
- ``env_id`` and ``env_kwargs``: the environment it was trained on, as a record. Making it again is the caller's
  decision: :meth:`Checkpoint.builtin_env` lets only pixelpilot's and Gymnasium's own ids through, and never a
  profile named inside the file (a profile says what program to launch);
- ``learner`` (one of :data:`LEARNERS`) and its ``counters`` (steps, updates, episodes, wall-clock; or
  epochs and demonstration frames);
- optionally the training state: ``config`` (the learner's options, for ``--resume``) and ``optimizer``.

Checkpoints of format 1 (before model specs, the shipped pilot among them) still load: :mod:`agent.policy.legacy`
reads their spec off the weights. Every way a file can fail to be a checkpoint is one :class:`ConfigError` line
naming the file; loading one imports, launches and opens nothing it names.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from agent.config import ConfigError
from agent.envs import SCREEN_ENV
from agent.envs.make import check_builtin
from agent.policy import legacy
from models.actor_critic import ActorCriticModule
from models.build import build
from models.spec import ModelSpec, SpecError

CHECKPOINT_FORMAT = 2
A3C = "a3c"
PPO = "ppo"
DPPO = "dppo"
REINFORCE = "reinforce"
ONE_STEP = "actor-critic"
DQN = "dqn"
DDPG = "ddpg"
BEHAVIOUR_CLONING = "behaviour cloning"
LEARNERS = {A3C: "A3C", PPO: "PPO", DPPO: "DPPO", REINFORCE: "REINFORCE", ONE_STEP: "one-step actor-critic", DQN: "DQN",
            DDPG: "DDPG", BEHAVIOUR_CLONING: "behaviour cloning"}  # fmt: skip
"""the learners a checkpoint may name, and how reports spell them"""


@dataclass
class Checkpoint:
    spec: ModelSpec
    weights: dict[str, torch.Tensor]
    env_id: str
    """the environment it was trained on (a record: see :meth:`builtin_env` before making it)"""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    learner: str = A3C
    counters: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] | None = None
    """the learner's options (what ``--resume`` continues with)"""
    optimizer: dict[str, Any] | None = None
    path: Path | None = None
    """where it was read from (for messages)"""

    @property
    def where(self) -> str:
        return str(self.path) if self.path is not None else "the checkpoint"

    @property
    def is_clone(self) -> bool:
        return self.learner == BEHAVIOUR_CLONING

    @property
    def trained(self) -> str:
        """How the policy was trained, for reports."""
        if self.is_clone:
            return f"cloned from {int(self.counters.get('demo_steps', 0)):,} recorded frames"
        return f"{int(self.counters.get('steps', 0)):,} steps of {LEARNERS[self.learner]}"

    def model(self) -> ActorCriticModule:
        """The network, rebuilt from the spec, with the weights loaded (in evaluation mode)."""
        model = build(self.spec)
        load_weights(model, self)
        return model.eval()

    def builtin_env(self) -> tuple[str, dict[str, Any]]:
        """The environment it was trained on, when that is safe to make again from a file: pixelpilot's or
        Gymnasium's own id with its keyword arguments; a game window needs its profile from the user."""
        env_id = check_builtin(self.env_id, self.where)
        if env_id == SCREEN_ENV:
            raise ConfigError(
                f"{self.where}: trained through a game window; name the game's profile with --profile (a profile "
                "named inside a checkpoint is never opened)"
            )
        return env_id, dict(self.env_kwargs)

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "format": CHECKPOINT_FORMAT,
            "spec": self.spec.to_dict(),
            "model": self.weights,
            "env_id": self.env_id,
            "env_kwargs": self.env_kwargs,
            "learner": self.learner,
            "counters": self.counters,
        }
        if self.config is not None:
            payload["config"] = self.config
        if self.optimizer is not None:
            payload["optimizer"] = self.optimizer
        return payload


def load_weights(model: torch.nn.Module, checkpoint: Checkpoint) -> None:
    """``checkpoint``'s weights into ``model``; a model of another shape is one ConfigError line."""
    try:
        model.load_state_dict(checkpoint.weights)
    except RuntimeError as exc:
        lines = str(exc).splitlines()
        first = lines[1].strip() if len(lines) > 1 else str(exc)
        raise ConfigError(f"{checkpoint.where}: the weights do not fit the model (trained on {checkpoint.env_id}): "
                          f"{first}") from None  # fmt: skip


def save_checkpoint(checkpoint: Checkpoint, path: Path) -> None:
    save_atomically(checkpoint.to_payload(), path)


def save_atomically(payload: dict[str, Any], path: Path) -> None:
    """Write then rename: a crash mid-write leaves the previous file intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def checkpoint_path(path: str | Path) -> Path:
    """A checkpoint file, or the latest one of a run folder."""
    path = Path(path)
    return path / "checkpoints" / "latest.pt" if path.is_dir() else path


def load_checkpoint(path: str | Path) -> Checkpoint:
    """A checkpoint file, or the latest one of a run folder; anything else is one ConfigError line."""
    path = checkpoint_path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such checkpoint")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        named = re.search(r"GLOBAL (\S+)", str(exc))  # what torch's safe loader refused to import
        why = (
            f"it names code to run ({named.group(1)}), which is never loaded" if named else "not a readable torch file"
        )
        raise ConfigError(f"{path}: not a pixelpilot checkpoint ({why})") from None
    try:
        return _from_payload(payload, path)
    except (SpecError, TypeError, ValueError, KeyError) as exc:
        raise ConfigError(f"{path}: not a usable pixelpilot checkpoint ({exc})".split("\n")[0]) from None


def _from_payload(payload: Any, path: Path) -> Checkpoint:
    if not isinstance(payload, dict) or payload.get("format") not in (CHECKPOINT_FORMAT, legacy.FORMAT):
        raise ConfigError(f"{path}: not a pixelpilot checkpoint (format {CHECKPOINT_FORMAT} or {legacy.FORMAT})")
    weights = payload.get("model")
    if (
        not isinstance(weights, dict)
        or not weights
        or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in weights.items())
    ):
        raise ValueError("its 'model' entry is not a set of named weights")
    if payload["format"] == legacy.FORMAT:
        payload = legacy.upgrade(payload)
        weights = payload["model"]
    spec = ModelSpec.from_dict(payload.get("spec"))
    env_id, env_kwargs = payload.get("env_id"), payload.get("env_kwargs", {})
    if not isinstance(env_id, str) or not isinstance(env_kwargs, dict):
        raise ValueError("its environment record is not an id and keyword arguments")
    counters = payload.get("counters", {})
    if not isinstance(counters, dict) or not all(isinstance(v, int | float) for v in counters.values()):
        raise ValueError("its counters are not numbers")
    learner = payload.get("learner", A3C)
    if learner not in LEARNERS:
        raise ValueError(f"unknown learner {learner!r}")
    for name in ("config", "optimizer"):
        if not isinstance(payload.get(name, {}), dict):
            raise ValueError(f"its {name} is not a table")
    return Checkpoint(spec, weights, env_id, env_kwargs, learner, counters, payload.get("config"),
                      payload.get("optimizer"), path)  # fmt: skip


def export_policy(source: str | Path, out: str | Path, half: bool = True) -> Path:
    """A checkpoint without its optimizer state, weights in float16 by default (a third of the
    size on disk, loaded back into float32): what a pilot needs to drive, be evaluated or be trained on with
    ``init_from``."""
    checkpoint = load_checkpoint(source)
    weights = {k: v.half() if half and v.is_floating_point() else v for k, v in checkpoint.weights.items()}
    policy = replace(checkpoint, weights=weights, optimizer=None)
    out = Path(out)
    save_checkpoint(policy, out)
    return out
