"""The actor-critic interface every pixelpilot model implements and every learner uses.

:class:`ActorCritic` is the contract, as a Protocol: a learner, the evaluator and the pilot only ever call these
methods, so a new network (or one from another library) plugs in by providing them. :class:`ActorCriticModule` is
the shared implementation of the pixelpilot networks: a model splits into ``encode`` (per-frame features, the
expensive part) and ``decide`` (the core and heads, stepped through time when recurrent), and everything else is
derived from those two here, once.

Recurrent state: a tuple of tensors with the batch first (the LSTM's ``(h, c)``), or None for stateless models.
Ended episodes restart from zeros: :func:`mask_state` zeroes their rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import nn
from torch.distributions import Categorical, Distribution, Independent, Normal

from models.spec import ModelSpec

State = tuple[torch.Tensor, ...] | None


@dataclass
class Decision:
    """One step of acting for a batch."""

    action: torch.Tensor
    """(B,) action indices, or (B, D) continuous actions (not clipped to the bounds)"""
    value: torch.Tensor
    """(B,) the critic's estimate of the state"""
    state: State
    """the recurrent state after this step"""
    dist: Distribution
    """the policy's distribution the action came from"""


@dataclass
class Unrolled:
    """A rollout of T steps of E environments run through the model again, with gradients, flattened to T*E."""

    dist: Distribution
    value: torch.Tensor
    state: State
    """the recurrent state after the rollout: what acting on starts from"""


class ActorCritic(Protocol):
    """What learners, evaluation and the pilot need of a model."""

    spec: ModelSpec
    """what the model is (rebuilt from it when a checkpoint is loaded)"""
    recurrent: bool
    value_head: nn.Linear
    """the critic's last layer (fine-tuning may start it afresh, or start it at a known mean return)"""

    def initial_state(self, batch: int = 1) -> State:
        """The state before an episode's first step (None for stateless models)."""
        ...

    def __call__(self, obs: torch.Tensor, state: State = None) -> tuple[Distribution, torch.Tensor, State]:
        """One time step for a batch of observations: action distribution, value (B,), next state."""
        ...

    def act(
        self, obs: torch.Tensor, state: State = None, *, greedy: bool = False, generator: torch.Generator | None = None
    ) -> Decision:
        """Choose actions: drawn from the policy (with ``generator`` when given, else torch's global one), or with
        ``greedy`` the most likely ones."""
        ...

    def value(self, obs: torch.Tensor, state: State = None) -> torch.Tensor:
        """The critic alone: V(obs) for a batch, e.g. to bootstrap from the final observation of a truncation."""
        ...

    def evaluate_actions(self, observations: torch.Tensor, state: State, ends: torch.Tensor) -> Unrolled:
        """A rollout ``observations`` (T, E, ...) again, with gradients: from ``state``, restarting an environment's
        state after each step where ``ends`` (T, E) is 1, exactly as acting did."""
        ...

    def reset_value_head(self) -> None:
        """A fresh critic head."""
        ...

    def health(self, observations: torch.Tensor, state: State, ends: torch.Tensor) -> dict[str, float]:
        """Readings of how alive the network is on a rollout (T, E, ...), for a training's logs: ``feature_std``
        (how much its features change over time), and what a model's core adds (an LSTM's saturation)."""
        ...

    # the torch.nn.Module part learners use
    def parameters(self, recurse: bool = True) -> Iterator[nn.Parameter]: ...
    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]: ...
    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False) -> Any: ...
    def share_memory(self) -> Any: ...
    def requires_grad_(self, requires_grad: bool = True) -> Any: ...
    def zero_grad(self, set_to_none: bool = True) -> None: ...
    def train(self, mode: bool = True) -> Any: ...
    def eval(self) -> Any: ...


def mask_state(state: State, keep: torch.Tensor) -> State:
    """``state`` with the rows of ended episodes zeroed (``keep`` (B,) is 1.0 to keep a row, else 0.0)."""
    if state is None:
        return None
    return tuple(s * keep.unsqueeze(-1) for s in state)


def state_rows(state: State, rows: torch.Tensor) -> State:
    """The rows ``rows`` of a batched state."""
    return None if state is None else tuple(s[rows] for s in state)


def time_std(features: torch.Tensor) -> float:
    """The standard deviation over time (axis 0) of (T, E, F) features, mean over environments and units."""
    return float(features.std(0).mean()) if len(features) > 1 else 0.0


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


def normalized_columns_(weight: torch.Tensor, std: float) -> None:
    """Initialise a linear layer's weight with rows of norm ``std`` (the universe-starter initialiser)."""
    with torch.no_grad():
        weight.normal_()
        weight *= std / weight.norm(dim=1, keepdim=True)


class ActorCriticModule(nn.Module):
    """The pixelpilot networks' shared part: subclasses give ``encode``, ``decide``, ``initial_state`` and the heads
    ``policy_head`` and ``value_head``; acting, the critic alone and the replay of a rollout come from here."""

    spec: ModelSpec
    recurrent: bool
    policy_head: nn.Linear
    value_head: nn.Linear

    def initial_state(self, batch: int = 1) -> State:
        return None

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """Per-observation features of a batch (no time dependence, so a whole rollout goes in one batch)."""
        raise NotImplementedError

    def decide(self, features: torch.Tensor, state: State = None) -> tuple[Distribution, torch.Tensor, State]:
        """The core and heads on encoded features: action distribution, value (B,), next state."""
        raise NotImplementedError

    def forward(self, obs: torch.Tensor, state: State = None) -> tuple[Distribution, torch.Tensor, State]:
        return self.decide(self.encode(obs), state)

    def act(
        self, obs: torch.Tensor, state: State = None, *, greedy: bool = False, generator: torch.Generator | None = None
    ) -> Decision:
        dist, value, next_state = self(obs, state)
        if greedy:
            action = deterministic_action(dist)
        elif generator is not None:
            action = sampled_action(dist, generator)
        else:
            action = dist.sample()
        return Decision(action, value, next_state, dist)

    def value(self, obs: torch.Tensor, state: State = None) -> torch.Tensor:
        return self(obs, state)[1]

    def evaluate_actions(self, observations: torch.Tensor, state: State, ends: torch.Tensor) -> Unrolled:
        """Every frame is encoded in one batch (the convolutions are most of the work); a recurrent core is then
        stepped through time from ``state``, zeroing an environment's state after its episode ends."""
        if not self.recurrent:
            dist, value, _ = self.decide(self.encode(observations.flatten(0, 1)))
            return Unrolled(dist, value, None)
        features = self.encode_rollout(observations)
        logits: list[torch.Tensor] = []
        values: list[torch.Tensor] = []
        for t in range(len(observations)):
            step, step_value, state = self.decide(features[t], state)
            assert isinstance(step, Categorical), "recurrent cores choose discrete actions"
            logits.append(step.logits)
            values.append(step_value)
            state = mask_state(state, 1.0 - ends[t])
        return Unrolled(Categorical(logits=torch.cat(logits)), torch.cat(values), state)

    def health(self, observations: torch.Tensor, state: State, ends: torch.Tensor) -> dict[str, float]:
        """``feature_std``: the encoded features' standard deviation over the rollout's time, mean over units and
        environments. Near 0, what the model decides no longer depends on what it sees."""
        with torch.no_grad():
            return {"feature_std": time_std(self.encode_rollout(observations))}

    def encode_rollout(self, observations: torch.Tensor) -> torch.Tensor:
        """The features of a rollout (T, E, ...) → (T, E, features), encoded in one batch."""
        return self.encode(observations.flatten(0, 1)).unflatten(0, observations.shape[:2])

    def reset_value_head(self) -> None:
        """A fresh critic head: rows of norm 1.0, no bias (e.g. before fine-tuning on another reward)."""
        normalized_columns_(self.value_head.weight, 1.0)
        nn.init.zeros_(self.value_head.bias)

    def _init_policy_head(self) -> None:
        """Rows of norm 0.01: the first policy is close to uniform."""
        normalized_columns_(self.policy_head.weight, 0.01)
        nn.init.zeros_(self.policy_head.bias)
