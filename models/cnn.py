"""The universe-starter CNN actor-critic for frames.

Four 3x3 stride-2 convolutions with 32 filters and ELU, flattened (the size is computed from the observation shape,
so frame stacks and other resolutions work), an LSTM core of 256 units (or a one-layer MLP core), and linear policy
and value heads. The policy head starts with small weights (row norm 0.01) so the first policy is close to uniform;
the value head with row norm 1.0.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.distributions import Categorical, Distribution

from models.actor_critic import ActorCriticModule, State
from models.spec import ModelSpec, SpecError


class CNNActorCritic(ActorCriticModule):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        if spec.kind not in ("cnn-lstm", "cnn-mlp") or spec.n_actions is None:
            raise SpecError(f"kind: a CNN actor-critic is cnn-lstm or cnn-mlp with discrete actions, not {spec.kind}")
        self.spec = spec
        height, width, channels = spec.observation_shape
        self.obs_shape = spec.observation_shape
        self.recurrent = spec.recurrent
        convs: list[nn.Module] = []
        for _ in range(spec.layers):
            convs += [nn.Conv2d(channels, spec.filters, 3, stride=2, padding=1), nn.ELU(inplace=True)]
            channels = spec.filters
        # Channels-last weights and in-place ELUs: on a CPU this runs the stack (forward and backward) about twice
        # as fast as the default layout, and (B, H, W, C) observations are channels-last already.
        self.conv = nn.Sequential(*convs, nn.Flatten()).to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch's stubs lack the argument
        with torch.no_grad():
            probe = torch.zeros(1, spec.observation_shape[2], height, width)
            self.flat_size = int(self.conv(probe).shape[1])
        self.hidden = spec.hidden
        self.core: nn.Module
        if self.recurrent:
            self.core = nn.LSTMCell(self.flat_size, spec.hidden)
            self.core.bias_ih.data.zero_()
            self.core.bias_hh.data.zero_()
        else:
            self.core = nn.Sequential(nn.Linear(self.flat_size, spec.hidden), nn.ELU())
        self.policy_head = nn.Linear(spec.hidden, spec.n_actions)
        self.value_head = nn.Linear(spec.hidden, 1)
        self._init_policy_head()
        self.reset_value_head()

    def initial_state(self, batch: int = 1) -> State:
        if not self.recurrent:
            return None
        zeros = torch.zeros(batch, self.hidden, device=self.policy_head.weight.device)
        return zeros, zeros.clone()

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """The convolution features of observations (B, H, W, C) → (B, flat_size)."""
        return self.conv(obs.permute(0, 3, 1, 2))

    def decide(self, features: torch.Tensor, state: State = None) -> tuple[Distribution, torch.Tensor, State]:
        next_state: State
        if self.recurrent:
            h, c = self.core(features, state if state is not None else self.initial_state(features.shape[0]))
            out, next_state = h, (h, c)
        else:
            out, next_state = self.core(features), None
        return Categorical(logits=self.policy_head(out)), self.value_head(out).squeeze(-1), next_state
