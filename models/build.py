"""Models from specs: the one place that maps a :class:`~models.spec.ModelSpec` to a network."""

from __future__ import annotations

import gymnasium as gym

from models.actor_critic import ActorCriticModule
from models.cnn import CNNActorCritic
from models.deterministic import DeterministicActorCritic
from models.mlp import MLPActorCritic
from models.qnet import QNetwork
from models.spec import ModelSpec, spec_for


def build(spec: ModelSpec) -> ActorCriticModule:
    """The network ``spec`` describes, freshly initialised (seed torch first for reproducible weights)."""
    if spec.q_values:
        return QNetwork(spec)
    if spec.head == "deterministic":
        return DeterministicActorCritic(spec)
    return MLPActorCritic(spec) if spec.kind == "mlp" else CNNActorCritic(spec)


def build_for(
    observation_space: gym.Space,
    action_space: gym.Space,
    kind: str = "auto",
    hidden: int | None = None,
    frame_stack: int = 1,
    pool: int = 1,
    layer_norm: bool = False,
    input_norm: bool = False,
    frame_differences: bool = False,
) -> ActorCriticModule:
    """The actor-critic for these spaces (see :func:`~models.spec.spec_for`)."""
    return build(
        spec_for(
            observation_space, action_space, kind, hidden, frame_stack, pool, layer_norm, input_norm, frame_differences
        )
    )
