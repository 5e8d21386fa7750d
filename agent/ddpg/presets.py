"""DDPG settings per environment. ``pixelpilot train --algo ddpg`` and the panel start from :func:`preset` of the
chosen environment, and options given on top change it; each preset lists the ``DDPGArgs`` fields that differ from
their defaults (CleanRL's).

- ``CLASSIC``: RL Baselines3 Zoo's tuned DDPG hyperparameters (its ``train_freq`` of one episode, 200 steps on
  Pendulum, as ``train_frequency``, and its ``gradient_steps: -1``, as many updates as steps, as ``gradient_steps``;
  Stable-Baselines3's DDPG updates the actor with every critic update: ``policy_frequency`` 1). Its ``net_arch``
  [400, 300] becomes two layers of 256, the one width this MLP has; its ``noise_std`` 0.1 (in torque units) is
  ``exploration_noise`` 0.05 of Pendulum's half range 2.
"""

from __future__ import annotations

from typing import Any

CLASSIC: dict[str, dict[str, Any]] = {
    "Pendulum-v1": {"hidden": 256, "gamma": 0.98, "buffer_size": 200_000, "learning_starts": 10_000,
                    "train_frequency": 200, "gradient_steps": 200, "actor_lr": 1e-3, "critic_lr": 1e-3,
                    "exploration_noise": 0.05, "policy_frequency": 1, "total_steps": 20_000, "eval_every": 2_000},
}  # fmt: skip


def preset(env_id: str) -> dict[str, Any]:
    """The settings ``env_id`` trains with unless options say otherwise (none for an environment not measured)."""
    return dict(CLASSIC.get(env_id, {}))
