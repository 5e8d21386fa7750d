"""The Q-network for DQN: action values Q(s, ·) of discrete actions, from an MLP over vector observations or from
frames (``cnn-mlp``: the CNN actor-critic's convolutions, :func:`models.cnn.conv_stack`, then one hidden layer, as
the Nature DQN network has them).

With the ``q`` head the last layer gives one value per action; with ``dueling-q`` (Wang et al.'s dueling network)
two heads share the MLP, a state value V(s) and advantages A(s, ·), and ``Q = V + A - mean(A)`` (the mean keeps V
and A identifiable). As an :class:`~models.actor_critic.ActorCriticModule`, so evaluation, the pilot and checkpoints
take it as any other network: its policy is greedy (all the probability on the action of the highest value), its
value ``max_a Q(s, a)``, and its critic head the one that gives the values.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.distributions import Categorical, Distribution

from models.actor_critic import ActorCriticModule, State
from models.cnn import conv_input, conv_stack
from models.mlp import mlp
from models.spec import ModelSpec, SpecError


class QNetwork(ActorCriticModule):
    recurrent = False

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        if not spec.q_values or spec.kind not in ("mlp", "cnn-mlp") or spec.n_actions is None:
            raise SpecError(f"head: a Q-network is an MLP or a CNN-MLP with a q or dueling-q head, not "
                            f"{spec.kind}/{spec.head}")  # fmt: skip
        self.spec = spec
        self.conv: nn.Sequential | None = None
        if spec.kind == "mlp":
            self.torso = mlp([spec.observation_shape[0]] + [spec.hidden] * spec.layers, nn.ReLU)
        else:
            self.conv, flat_size = conv_stack(spec)
            self.torso = mlp([flat_size, spec.hidden], nn.ReLU)
        self.policy_head = nn.Linear(spec.hidden, spec.n_actions)
        """the action values (dueling: the advantages)"""
        self.state_value = nn.Linear(spec.hidden, 1) if spec.head == "dueling-q" else None

    @property
    def value_head(self) -> nn.Linear:  # type: ignore[override]
        """The critic's last layer: for a Q-network, the head that gives the action values."""
        return self.policy_head

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        if self.conv is not None:
            obs = self.conv(conv_input(self.spec, obs))
        return self.torso(obs)

    def q(self, obs: torch.Tensor) -> torch.Tensor:
        """Q(s, ·) for a batch of observations: (B, actions)."""
        return self.values_of(self.encode(obs))

    def values_of(self, features: torch.Tensor) -> torch.Tensor:
        advantages = self.policy_head(features)
        if self.state_value is None:
            return advantages
        return self.state_value(features) + advantages - advantages.mean(dim=-1, keepdim=True)

    def decide(self, features: torch.Tensor, state: State = None) -> tuple[Distribution, torch.Tensor, State]:
        q = self.values_of(features)
        greedy = nn.functional.one_hot(q.argmax(dim=-1), q.shape[-1]).to(q.dtype)
        return Categorical(probs=greedy), q.max(dim=-1).values, None
