"""The CNN actor-critic of the original system (universe-starter-agent), for 128x200x1 frames.

Four 3x3 stride-2 convolutions with 32 filters and ELU, flattened (the size is computed from the observation
shape, not hard-coded), an LSTM core of 256 units (or an MLP core), and linear policy and value heads. The
policy head starts with small weights (column norm 0.01) so the first policy is close to uniform; the value
head with column norm 1.0.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

State = tuple[torch.Tensor, torch.Tensor] | None


def normalized_columns_(weight: torch.Tensor, std: float) -> None:
    """Initialise a linear layer's weight with rows of norm ``std`` (the universe-starter initialiser)."""
    with torch.no_grad():
        weight.normal_()
        weight *= std / weight.norm(dim=1, keepdim=True)


class CNNActorCritic(nn.Module):
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
            obs_shape: (height, width, channels) of one observation, channels last as environments give it.
            n_actions: size of the discrete action space.
            core: ``"lstm"`` (recurrent, the original design) or ``"mlp"`` (one ELU layer, stateless).
            hidden: units in the core.
            filters, layers: the convolution stack.
        """
        super().__init__()
        if len(obs_shape) != 3 or min(obs_shape) <= 0:
            raise ValueError(f"obs_shape must be (height, width, channels), got {obs_shape!r}")
        if n_actions <= 0:
            raise ValueError(f"n_actions must be > 0, got {n_actions}")
        if core not in ("lstm", "mlp"):
            raise ValueError(f"core must be 'lstm' or 'mlp', got {core!r}")
        self.obs_shape = tuple(obs_shape)
        self.core_kind = core
        convs: list[nn.Module] = []
        channels = obs_shape[2]
        for _ in range(layers):
            convs += [nn.Conv2d(channels, filters, 3, stride=2, padding=1), nn.ELU()]
            channels = filters
        self.conv = nn.Sequential(*convs, nn.Flatten())
        with torch.no_grad():
            self.flat_size = int(self.conv(torch.zeros(1, obs_shape[2], obs_shape[0], obs_shape[1])).shape[1])
        if core == "lstm":
            self.core: nn.Module = nn.LSTMCell(self.flat_size, hidden)
            self.core.bias_ih.data.zero_()
            self.core.bias_hh.data.zero_()
        else:
            self.core = nn.Sequential(nn.Linear(self.flat_size, hidden), nn.ELU())
        self.hidden = hidden
        self.policy = nn.Linear(hidden, n_actions)
        self.value = nn.Linear(hidden, 1)
        normalized_columns_(self.policy.weight, 0.01)
        normalized_columns_(self.value.weight, 1.0)
        nn.init.zeros_(self.policy.bias)
        nn.init.zeros_(self.value.bias)

    def initial_state(self, batch: int = 1) -> State:
        if self.core_kind != "lstm":
            return None
        zeros = torch.zeros(batch, self.hidden, device=self.policy.weight.device)
        return zeros, zeros.clone()

    def forward(self, obs: torch.Tensor, state: State = None) -> tuple[torch.Tensor, torch.Tensor, State]:
        """One time step for a batch: obs (B, H, W, C) → policy logits (B, A), value (B,), next state."""
        features = self.conv(obs.permute(0, 3, 1, 2))
        if self.core_kind == "lstm":
            h, c = self.core(features, state if state is not None else self.initial_state(obs.shape[0]))
            out, next_state = h, (h, c)
        else:
            out, next_state = self.core(features), None
        return self.policy(out), self.value(out).squeeze(-1), next_state
