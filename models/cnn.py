"""The CNN actor-critic for frames: the universe-starter network and its variations.

Four 3x3 stride-2 convolutions with 32 filters and ELU, flattened (the size is computed from the observation shape,
so frame stacks and other resolutions work), an LSTM core of 256 units (or a one-layer MLP core), and linear policy
and value heads. The policy head starts with small weights (row norm 0.01) so the first policy is close to uniform;
the value head with row norm 1.0. The spec can average-pool the frame first (``pool``: the convolutions then cost a
``pool``² part), layer-normalise the LSTM's gates (``layer_norm``: its cell cannot saturate the way a plain one
does over 1000-step episodes), show stacked frames as what moved between them (``frame_differences``) and
standardise each observation before the convolutions (``input_norm``). Both input transforms have no weights and
run inside the model, so training, evaluation and play see them alike and a checkpoint carries them in its spec.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Categorical, Distribution

from models.actor_critic import ActorCriticModule, State, mask_state, time_std
from models.spec import ModelSpec, SpecError

SATURATED = 0.99
"""an LSTM output this close to ±1 no longer follows its input (tanh's slope there is below 0.02)"""
SATURATED_GATE = 4.6
"""a gate pre-activation beyond ±4.6 holds its sigmoid within 1% of 0 or 1"""
NORM_FLOOR = 0.01
"""the smallest spread ``input_norm`` divides by: a flat channel (a frame difference with nothing moving) stays
near 0 instead of turning sensor noise into full-contrast patterns"""


def frame_differences(obs: torch.Tensor, frames: int) -> torch.Tensor:
    """Stacked frames (B, H, W, frames·C), oldest first, as the newest frame then newest − previous, previous −
    the one before, ... (same shape): the picture once, and what moved in each step."""
    stack = obs.unflatten(-1, (frames, -1))
    moved = stack[..., 1:, :] - stack[..., :-1, :]
    return torch.cat((stack[..., -1:, :], moved.flip(-2)), dim=-2).flatten(-2)


def standardised(obs: torch.Tensor) -> torch.Tensor:
    """Each observation's channels (B, H, W, C) shifted to mean 0 and scaled to spread 1 over their pixels."""
    mean = obs.mean(dim=(1, 2), keepdim=True)
    spread = obs.std(dim=(1, 2), keepdim=True).clamp_min(NORM_FLOOR)
    return (obs - mean) / spread


class LSTMCore(nn.Module):
    """An LSTM cell written out: PyTorch's parameter names and gate order (input, forget, cell, output), so weights
    of ``nn.LSTMCell`` load unchanged, with the gate pre-activations in reach (for the health readings) and an
    optional layer norm on them."""

    def __init__(self, input_size: int, hidden: int, layer_norm: bool = False) -> None:
        super().__init__()
        self.hidden = hidden
        bound = 1.0 / math.sqrt(hidden)  # nn.LSTMCell's initialisation
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden, input_size).uniform_(-bound, bound))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden, hidden).uniform_(-bound, bound))
        self.bias_ih = nn.Parameter(torch.zeros(4 * hidden))
        self.bias_hh = nn.Parameter(torch.zeros(4 * hidden))
        self.norm_ih = nn.LayerNorm(4 * hidden) if layer_norm else None
        self.norm_hh = nn.LayerNorm(4 * hidden) if layer_norm else None
        self.norm_c = nn.LayerNorm(hidden) if layer_norm else None

    def gates(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """The pre-activations of the four gates, (B, 4 * hidden)."""
        ih, hh = F.linear(x, self.weight_ih), F.linear(h, self.weight_hh)
        if self.norm_ih is not None and self.norm_hh is not None:
            ih, hh = self.norm_ih(ih), self.norm_hh(hh)
        return ih + self.bias_ih + hh + self.bias_hh

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.step(self.gates(x, state[0]), state[1])

    def step(self, gates: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        i, f, g, o = gates.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        shown = self.norm_c(c) if self.norm_c is not None else c
        return torch.sigmoid(o) * torch.tanh(shown), c


class AveragePool(nn.Module):
    """``nn.AvgPool2d(k)``'s result (to float rounding) as the mean of the k² strided views of the frame: on a CPU,
    for the two channels of a frame stack in channels-last layout, 1.6–2x faster (AvgPool2d vectorises over
    channels, and two are too few); the pooling is a sixth of the recipe's forward pass."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.k
        x = x[:, :, : x.shape[2] // k * k, : x.shape[3] // k * k]  # AvgPool2d drops what does not fill a window
        views = [x[:, :, i::k, j::k] for i in range(k) for j in range(k)]
        total = views[0]
        for view in views[1:]:
            total = total + view
        return total * (1.0 / (k * k))


def conv_stack(spec: ModelSpec) -> tuple[nn.Sequential, int]:
    """The convolutions of a CNN spec (pooling first when it asks for it), flattened, and how many features they
    give for its observation shape. Shared by the actor-critic and the Q-network, so a clone's or an A3C run's
    convolutions and a DQN's are the same layers."""
    height, width, channels = spec.observation_shape
    convs: list[nn.Module] = [AveragePool(spec.pool)] if spec.pool > 1 else []
    for _ in range(spec.layers):
        convs += [nn.Conv2d(channels, spec.filters, 3, stride=2, padding=1), nn.ELU(inplace=True)]
        channels = spec.filters
    # Channels-last weights and in-place ELUs: on a CPU this runs the stack (forward and backward) about twice
    # as fast as the default layout, and (B, H, W, C) observations are channels-last already.
    conv = nn.Sequential(*convs, nn.Flatten()).to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch's stubs lack the argument
    with torch.no_grad():
        flat_size = int(conv(torch.zeros(1, spec.observation_shape[2], height, width)).shape[1])
    return conv, flat_size


def conv_input(spec: ModelSpec, obs: torch.Tensor) -> torch.Tensor:
    """Observations (B, H, W, C) as the convolutions take them: the spec's input transforms applied, channels
    first (a view: the memory stays channels-last)."""
    if spec.frame_differences:
        obs = frame_differences(obs, spec.frame_stack)
    if spec.input_norm:
        obs = standardised(obs)
    return obs.permute(0, 3, 1, 2)


class CNNActorCritic(ActorCriticModule):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        if spec.kind not in ("cnn-lstm", "cnn-mlp") or spec.n_actions is None:
            raise SpecError(f"kind: a CNN actor-critic is cnn-lstm or cnn-mlp with discrete actions, not {spec.kind}")
        self.spec = spec
        self.obs_shape = spec.observation_shape
        self.recurrent = spec.recurrent
        self.conv, self.flat_size = conv_stack(spec)
        self.hidden = spec.hidden
        self.core: nn.Module
        if self.recurrent:
            self.core = LSTMCore(self.flat_size, spec.hidden, spec.layer_norm)
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
        return self.conv(conv_input(self.spec, obs))

    def decide(self, features: torch.Tensor, state: State = None) -> tuple[Distribution, torch.Tensor, State]:
        next_state: State
        if self.recurrent:
            h, c = self.core(features, state if state is not None else self.initial_state(features.shape[0]))
            out, next_state = h, (h, c)
        else:
            out, next_state = self.core(features), None
        return Categorical(logits=self.policy_head(out)), self.value_head(out).squeeze(-1), next_state

    def health(self, observations: torch.Tensor, state: State, ends: torch.Tensor) -> dict[str, float]:
        """How alive the network is on a rollout (T, E, ...): how much its convolution features change over time
        (``feature_std``: near 0, the policy cannot see the picture), and for the LSTM the share of saturated outputs
        and gates (near 1, the core follows its own state, not the frame)."""
        with torch.no_grad():
            features = self.encode_rollout(observations)
            readings = {"feature_std": time_std(features)}
            if not self.recurrent or state is None:
                return readings
            assert isinstance(self.core, LSTMCore)
            h, c = state
            outputs, gates = [], []
            for t in range(len(features)):
                g = self.core.gates(features[t], h)
                h, c = self.core.step(g, c)
                outputs.append(h)
                gates.append(g)
                masked = mask_state((h, c), 1.0 - ends[t])
                assert masked is not None
                h, c = masked
            readings["lstm_saturation"] = float((torch.stack(outputs).abs() > SATURATED).float().mean())
            readings["gate_saturation"] = float((torch.stack(gates).abs() > SATURATED_GATE).float().mean())
        return readings
