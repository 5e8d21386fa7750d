"""Actor-critic networks: the universe-starter CNN for frames, and an MLP for vector observations.

Every model maps (observation batch, recurrent state) to (action distribution, value, next state), so the
trainer never needs to know which one it has. Sizes come from the spaces given; there is no global config.

- :class:`CNNActorCritic`: four 3x3 stride-2 convolutions with 32 filters and ELU, flattened (the size is
  computed from the observation shape, so frame stacks and other resolutions work), an LSTM core of 256
  units (or an MLP core), and linear policy and value heads. The policy head starts with small weights
  (row norm 0.01) so the first policy is close to uniform; the value head with row norm 1.0.
- :class:`MLPActorCritic`: separate tanh MLPs for policy and value; a categorical head for discrete actions
  or a Gaussian head for continuous ones (mean = tanh scaled to the action bounds, a learned
  state-independent log std).
"""

from __future__ import annotations

import itertools
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical, Distribution, Independent, Normal

State = tuple[torch.Tensor, torch.Tensor] | None


class UnsupportedSpaceError(ValueError):
    """A space the models cannot handle; the message names it."""


def normalized_columns_(weight: torch.Tensor, std: float) -> None:
    """Initialise a linear layer's weight with rows of norm ``std`` (the universe-starter initialiser)."""
    with torch.no_grad():
        weight.normal_()
        weight *= std / weight.norm(dim=1, keepdim=True)


def deterministic_action(dist: Distribution) -> torch.Tensor:
    """The most likely action (the evaluation policy)."""
    return dist.mode


def sampled_action(dist: Distribution, generator: torch.Generator) -> torch.Tensor:
    """An action drawn from ``dist`` with ``generator`` (``Distribution.sample`` only uses the global one, which a
    seeded evaluation must not disturb)."""
    if isinstance(dist, Categorical):
        return torch.multinomial(dist.probs, 1, generator=generator).squeeze(-1)
    if isinstance(dist, Independent) and isinstance(dist.base_dist, Normal):
        base = dist.base_dist
        return base.loc + base.scale * torch.randn(base.loc.shape, generator=generator)
    raise TypeError(f"cannot sample from {type(dist).__name__}")


def reset_value_head(model: nn.Module) -> None:
    """Give ``model`` a fresh value head (``model.value``): rows of norm 1.0, no bias."""
    normalized_columns_(model.value.weight, 1.0)
    nn.init.zeros_(model.value.bias)


class CNNActorCritic(nn.Module):
    recurrent: bool

    def __init__(
        self,
        obs_shape: tuple[int, int, int],
        n_actions: int,
        core: Literal["lstm", "mlp"] = "lstm",
        hidden: int = 256,
        filters: int = 32,
        layers: int = 4,
    ) -> None:
        """
        Args:
            obs_shape: (height, width, channels) of one observation, channels last as environments give it;
                stacked frames are extra channels.
            n_actions: size of the discrete action space.
            core: ``"lstm"`` (recurrent, the original design) or ``"mlp"`` (one ELU layer, stateless).
            hidden: units in the core.
            filters, layers: the convolution stack.
        """
        super().__init__()
        if len(obs_shape) != 3 or min(obs_shape) <= 0:
            raise UnsupportedSpaceError(f"obs_shape must be (height, width, channels), got {obs_shape!r}")
        if n_actions <= 0:
            raise ValueError(f"n_actions must be > 0, got {n_actions}")
        if core not in ("lstm", "mlp"):
            raise ValueError(f"core must be 'lstm' or 'mlp', got {core!r}")
        self.obs_shape = tuple(obs_shape)
        self.recurrent = core == "lstm"
        convs: list[nn.Module] = []
        channels = obs_shape[2]
        for _ in range(layers):
            convs += [nn.Conv2d(channels, filters, 3, stride=2, padding=1), nn.ELU(inplace=True)]
            channels = filters
        # Channels-last weights and in-place ELUs: on a CPU this runs the stack (forward and backward) about twice
        # as fast as the default layout, and (B, H, W, C) observations are channels-last already.
        self.conv = nn.Sequential(*convs, nn.Flatten()).to(memory_format=torch.channels_last)
        with torch.no_grad():
            self.flat_size = int(self.conv(torch.zeros(1, obs_shape[2], obs_shape[0], obs_shape[1])).shape[1])
        if self.recurrent:
            self.core: nn.Module = nn.LSTMCell(self.flat_size, hidden)
            self.core.bias_ih.data.zero_()
            self.core.bias_hh.data.zero_()
        else:
            self.core = nn.Sequential(nn.Linear(self.flat_size, hidden), nn.ELU())
        self.hidden = hidden
        self.policy = nn.Linear(hidden, n_actions)
        self.value = nn.Linear(hidden, 1)
        normalized_columns_(self.policy.weight, 0.01)
        nn.init.zeros_(self.policy.bias)
        reset_value_head(self)

    def initial_state(self, batch: int = 1) -> State:
        if not self.recurrent:
            return None
        zeros = torch.zeros(batch, self.hidden, device=self.policy.weight.device)
        return zeros, zeros.clone()

    def forward(self, obs: torch.Tensor, state: State = None) -> tuple[Distribution, torch.Tensor, State]:
        """One time step for a batch: obs (B, H, W, C) → action distribution, value (B,), next state."""
        return self.decide(self.encode(obs), state)

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """The convolution features of a batch of observations (B, H, W, C) → (B, flat_size). Split from
        :meth:`decide` so that a recurrent rollout can be encoded in one batch and only the core stepped in time."""
        return self.conv(obs.permute(0, 3, 1, 2))

    def decide(self, features: torch.Tensor, state: State = None) -> tuple[Distribution, torch.Tensor, State]:
        """The core and heads on encoded features (B, flat_size): action distribution, value (B,), next state."""
        if self.recurrent:
            h, c = self.core(features, state if state is not None else self.initial_state(features.shape[0]))
            out, next_state = h, (h, c)
        else:
            out, next_state = self.core(features), None
        return Categorical(logits=self.policy(out)), self.value(out).squeeze(-1), next_state


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(sizes):
        layers += [nn.Linear(a, b), nn.Tanh()]
    return nn.Sequential(*layers)


class MLPActorCritic(nn.Module):
    recurrent = False

    def __init__(self, obs_dim: int, action_space: gym.spaces.Space, hidden: int = 64, layers: int = 2) -> None:
        """
        Args:
            obs_dim: length of the (flat) observation vector.
            action_space: ``Discrete`` (categorical head) or a 1-D bounded ``Box`` (Gaussian head).
            hidden, layers: width and depth of each of the two MLPs.
        """
        super().__init__()
        if obs_dim <= 0 or hidden <= 0 or layers <= 0:
            raise ValueError(f"obs_dim, hidden and layers must be > 0, got {obs_dim}, {hidden}, {layers}")
        sizes = [obs_dim] + [hidden] * layers
        self.actor, self.critic = _mlp(sizes), _mlp(sizes)
        self.value = nn.Linear(hidden, 1)
        reset_value_head(self)
        if isinstance(action_space, gym.spaces.Discrete):
            self.continuous = False
            self.policy = nn.Linear(hidden, int(action_space.n))
        elif isinstance(action_space, gym.spaces.Box) and len(action_space.shape) == 1:
            low, high = action_space.low, action_space.high
            if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
                raise UnsupportedSpaceError(f"continuous actions need finite bounds, got {action_space}")
            self.continuous = True
            self.policy = nn.Linear(hidden, action_space.shape[0])
            self.register_buffer("action_center", torch.as_tensor((high + low) / 2, dtype=torch.float32))
            self.register_buffer("action_scale", torch.as_tensor((high - low) / 2, dtype=torch.float32))
            self.log_std = nn.Parameter(torch.zeros(action_space.shape[0]))
        else:
            raise UnsupportedSpaceError(f"the MLP actor-critic handles Discrete or 1-D Box actions, not {action_space}")
        normalized_columns_(self.policy.weight, 0.01)
        nn.init.zeros_(self.policy.bias)

    def initial_state(self, batch: int = 1) -> State:
        return None

    def forward(self, obs: torch.Tensor, state: State = None) -> tuple[Distribution, torch.Tensor, State]:
        """obs (B, obs_dim) → action distribution, value (B,), None."""
        out = self.policy(self.actor(obs))
        value = self.value(self.critic(obs)).squeeze(-1)
        if not self.continuous:
            return Categorical(logits=out), value, None
        mean = torch.tanh(out) * self.action_scale + self.action_center
        dist = Independent(Normal(mean, self.log_std.exp().expand_as(mean)), 1)
        return dist, value, None


def build(
    obs_space: gym.spaces.Space, action_space: gym.spaces.Space, kind: str = "auto", hidden: int | None = None
) -> nn.Module:
    """The actor-critic for these spaces. ``kind``: auto, mlp, cnn-lstm or cnn-mlp."""
    if not isinstance(obs_space, gym.spaces.Box):
        raise UnsupportedSpaceError(f"observations must be a Box (a vector or an image), got {obs_space}")
    if kind == "auto":
        kind = "mlp" if len(obs_space.shape) == 1 else "cnn-lstm"
    if kind == "mlp":
        if len(obs_space.shape) != 1:
            raise UnsupportedSpaceError(f"the MLP needs vector observations, got shape {obs_space.shape}")
        return MLPActorCritic(obs_space.shape[0], action_space, hidden or 64)
    if kind in ("cnn-lstm", "cnn-mlp"):
        if not isinstance(action_space, gym.spaces.Discrete):
            raise UnsupportedSpaceError(f"the CNN actor-critic needs Discrete actions, got {action_space}")
        if len(obs_space.shape) != 3:
            raise UnsupportedSpaceError(f"the CNN needs (height, width, channels) images, got {obs_space.shape}")
        core: Any = kind.split("-")[1]
        return CNNActorCritic(obs_space.shape, int(action_space.n), core=core, hidden=hidden or 256)
    raise ValueError(f"unknown model kind {kind!r}; choose auto, mlp, cnn-lstm or cnn-mlp")
