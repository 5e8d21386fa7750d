"""Checkpoints of format 1 (pixelpilot before model specs): read as format 2.

They stored the training options instead of a spec, so the spec is read off the weights, which say everything the
builders need: the convolutions and core of a CNN (its input is pixelpilot's 128x200 observation, channels from
the first convolution), or the MLP's widths and, for continuous actions, the bounds kept as buffers. The heads were
named ``policy`` and ``value``; they are ``policy_head`` and ``value_head`` now. Nothing in the stored options is
used beyond the environment record and, for ``--resume``, the options themselves.
"""

from __future__ import annotations

from typing import Any

import torch

from capture.preprocess import OBS_HEIGHT, OBS_WIDTH
from models.spec import ModelSpec, SpecError

FORMAT = 1
RENAMED = {"policy.": "policy_head.", "value.": "value_head."}


def upgrade(payload: dict[str, Any]) -> dict[str, Any]:
    """A format-1 payload as a format-2 one (the caller has checked that ``model`` is a dict of tensors)."""
    weights = {_renamed(k): v for k, v in payload["model"].items()}
    config = payload.get("config", {})
    if not isinstance(config, dict):
        raise ValueError("its config is not a table")
    counters = payload.get("counters", {})
    clone = isinstance(counters, dict) and "pretrain_epochs" in counters
    upgraded = {
        "format": 2,
        "spec": spec_from_weights(weights, config.get("frame_stack", 1)).to_dict(),
        "model": weights,
        "env_id": config.get("env_id"),
        "env_kwargs": config.get("env_kwargs", {}),
        "learner": "behaviour cloning" if clone else "a3c",
        "counters": counters,
        "config": config,
    }
    if "optimizer" in payload:
        upgraded["optimizer"] = payload["optimizer"]
    return upgraded


def _renamed(key: str) -> str:
    for old, new in RENAMED.items():
        if key.startswith(old):
            return new + key[len(old) :]
    return key


def spec_from_weights(weights: dict[str, torch.Tensor], frame_stack: Any = 1) -> ModelSpec:
    if "conv.0.weight" in weights:
        return _cnn_spec(weights, frame_stack)
    if "actor.0.weight" in weights:
        return _mlp_spec(weights)
    raise SpecError("the weights are neither pixelpilot's CNN nor its MLP")


def _cnn_spec(weights: dict[str, torch.Tensor], frame_stack: Any) -> ModelSpec:
    convs = sorted(int(k.split(".")[1]) for k in weights if k.startswith("conv.") and k.endswith(".weight"))
    first = weights["conv.0.weight"]
    channels, filters = int(first.shape[1]), int(first.shape[0])
    recurrent = "core.weight_hh" in weights
    core_in = weights["core.weight_ih" if recurrent else "core.0.weight"]
    hidden = int(weights["core.weight_hh"].shape[1]) if recurrent else int(core_in.shape[0])
    stack = frame_stack if isinstance(frame_stack, int) and frame_stack >= 1 else 1
    spec = ModelSpec(
        "cnn-lstm" if recurrent else "cnn-mlp",
        (OBS_HEIGHT, OBS_WIDTH, channels),
        n_actions=int(weights["policy_head.weight"].shape[0]),
        hidden=hidden,
        layers=len(convs),
        filters=filters,
        frame_stack=stack if channels % stack == 0 else 1,
    )
    height, width = OBS_HEIGHT, OBS_WIDTH
    for _ in convs:  # 3x3, stride 2, padding 1
        height, width = (height + 1) // 2, (width + 1) // 2
    if filters * height * width != int(core_in.shape[1]):
        raise SpecError(f"the convolutions do not take {OBS_HEIGHT}x{OBS_WIDTH} observations")
    return spec


def _mlp_spec(weights: dict[str, torch.Tensor]) -> ModelSpec:
    layers = sum(1 for k in weights if k.startswith("actor.") and k.endswith(".weight"))
    first = weights["actor.0.weight"]
    hidden, features = int(first.shape[0]), int(first.shape[1])
    if "log_std" in weights:
        center, scale = weights["action_center"].double(), weights["action_scale"].double()
        low, high = (center - scale).tolist(), (center + scale).tolist()
        return ModelSpec("mlp", (features,), action_low=tuple(low), action_high=tuple(high), hidden=hidden,
                         layers=layers)  # fmt: skip
    return ModelSpec("mlp", (features,), n_actions=int(weights["policy_head.weight"].shape[0]), hidden=hidden,
                     layers=layers)  # fmt: skip
