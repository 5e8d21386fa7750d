"""The MLP actor-critic for vector observations: separate tanh MLPs for policy and value; a categorical head for
discrete actions or a Gaussian head for continuous ones (mean = tanh scaled to the action bounds, a learned
state-independent log std). With ``input_norm`` the observation is first mapped from its space's bounds to [-1, 1]
(:func:`bounded_scale`): inside the model, so a checkpoint carries it and evaluation and play see it alike."""

from __future__ import annotations

import itertools

import torch
from torch import nn
from torch.distributions import Categorical, Distribution, Independent, Normal

from models.actor_critic import ActorCriticModule, State
from models.spec import ModelSpec, SpecError


def mlp(sizes: list[int], activation: type[nn.Module] = nn.Tanh) -> nn.Sequential:
    """Linear layers of these sizes, each followed by ``activation`` (the actor-critics' tanh; ReLU for the
    value-based and deterministic networks, as their papers have it)."""
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(sizes):
        layers += [nn.Linear(a, b), activation()]
    return nn.Sequential(*layers)


def bounded_scale(low: tuple[float, ...], high: tuple[float, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """(center, half-width) that map each feature with finite bounds onto [-1, 1] as (x - center) / half-width; a
    feature without them (or with a single value) gets (0, 1) and passes unchanged."""
    lo, hi = torch.tensor(low, dtype=torch.float64), torch.tensor(high, dtype=torch.float64)
    scaled = torch.isfinite(lo) & torch.isfinite(hi) & (hi > lo)
    center = torch.where(scaled, (hi + lo) / 2, torch.zeros_like(lo))
    half = torch.where(scaled, (hi - lo) / 2, torch.ones_like(lo))
    return center.float(), half.float()


class MLPActorCritic(ActorCriticModule):
    recurrent = False
    action_center: torch.Tensor
    action_scale: torch.Tensor
    obs_center: torch.Tensor
    obs_half_width: torch.Tensor

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        if spec.kind != "mlp":
            raise SpecError(f"kind: an MLP actor-critic is mlp, not {spec.kind}")
        self.spec = spec
        sizes = [spec.observation_shape[0]] + [spec.hidden] * spec.layers
        self.actor, self.critic = mlp(sizes), mlp(sizes)
        self.value_head = nn.Linear(spec.hidden, 1)
        self.reset_value_head()
        self.continuous = spec.n_actions is None
        if spec.n_actions is not None:
            self.policy_head = nn.Linear(spec.hidden, spec.n_actions)
        else:
            low = torch.tensor(spec.action_low, dtype=torch.float32)
            high = torch.tensor(spec.action_high, dtype=torch.float32)
            self.policy_head = nn.Linear(spec.hidden, len(low))
            self.register_buffer("action_center", (high + low) / 2)
            self.register_buffer("action_scale", (high - low) / 2)
            self.log_std = nn.Parameter(torch.zeros(len(low)))
        self._init_policy_head()
        # the spec holds both bounds or neither (ModelSpec checks it)
        self.scales_input = spec.observation_low is not None
        if self.scales_input:
            center, half = bounded_scale(spec.observation_low or (), spec.observation_high or ())
            # not in the state dict: the spec defines them, and checkpoints without them stay loadable
            self.register_buffer("obs_center", center, persistent=False)
            self.register_buffer("obs_half_width", half, persistent=False)

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        if self.scales_input:
            return (obs - self.obs_center) / self.obs_half_width
        return obs  # the two MLPs see the observation itself

    def decide(self, features: torch.Tensor, state: State = None) -> tuple[Distribution, torch.Tensor, State]:
        out = self.policy_head(self.actor(features))
        value = self.value_head(self.critic(features)).squeeze(-1)
        if not self.continuous:
            return Categorical(logits=out), value, None
        mean = torch.tanh(out) * self.action_scale + self.action_center
        return Independent(Normal(mean, self.log_std.exp().expand_as(mean)), 1), value, None
