"""The deterministic actor-critic for continuous actions (DDPG's): an actor μ(s), a tanh scaled to the action bounds,
and a critic Q(s, a) over the observation and the action together, each a ReLU MLP.

As an :class:`~models.actor_critic.ActorCriticModule`, so evaluation, the pilot and checkpoints take it as any other
network: its policy is μ(s) (a normal distribution a millionth of the action range wide, the nearest a torch
distribution comes to a point: its mode and any draw are μ(s)), and its value is the critic's value of the actor's
action, Q(s, μ(s)).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.distributions import Distribution, Independent, Normal

from models.actor_critic import ActorCriticModule, State
from models.mlp import mlp
from models.spec import ModelSpec, SpecError

POINT_WIDTH = 1e-6
"""the policy's standard deviation, as a share of each action's half range"""


class DeterministicActorCritic(ActorCriticModule):
    recurrent = False
    action_center: torch.Tensor
    action_scale: torch.Tensor

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        if spec.head != "deterministic" or spec.kind != "mlp" or spec.action_low is None or spec.action_high is None:
            raise SpecError(f"head: a deterministic actor-critic is an MLP over continuous actions, not "
                            f"{spec.kind}/{spec.head}")  # fmt: skip
        self.spec = spec
        observations, actions = spec.observation_shape[0], len(spec.action_low)
        self.actor = mlp([observations] + [spec.hidden] * spec.layers, nn.ReLU)
        self.policy_head = nn.Linear(spec.hidden, actions)
        self.critic = mlp([observations + actions] + [spec.hidden] * spec.layers, nn.ReLU)
        self.value_head = nn.Linear(spec.hidden, 1)
        low = torch.tensor(spec.action_low, dtype=torch.float32)
        high = torch.tensor(spec.action_high, dtype=torch.float32)
        self.register_buffer("action_center", (high + low) / 2)
        self.register_buffer("action_scale", (high - low) / 2)

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        return obs  # actor and critic see the observation itself

    def mu(self, obs: torch.Tensor) -> torch.Tensor:
        """The actor's actions for a batch of observations: (B, D), inside the bounds."""
        return torch.tanh(self.policy_head(self.actor(obs))) * self.action_scale + self.action_center

    def q(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """The critic's Q(s, a) for a batch of observations and actions: (B,)."""
        return self.value_head(self.critic(torch.cat([obs, actions], dim=-1))).squeeze(-1)

    def decide(self, features: torch.Tensor, state: State = None) -> tuple[Distribution, torch.Tensor, State]:
        action = self.mu(features)
        width = (POINT_WIDTH * self.action_scale).expand_as(action)
        return Independent(Normal(action, width), 1), self.q(features, action), None
