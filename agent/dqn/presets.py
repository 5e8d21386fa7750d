"""DQN settings per environment. ``pixelpilot train --algo dqn`` and the panel start from :func:`preset` of the
chosen environment, and options given on top change it; each preset lists the ``DQNArgs`` fields that differ from
their defaults (CleanRL's).

- ``CLASSIC``: RL Baselines3 Zoo's tuned DQN hyperparameters for these environments (its ``net_arch`` [256, 256]
  as ``hidden``, ``train_freq`` as ``train_frequency``, ``target_update_interval`` as
  ``target_network_frequency``, ``exploration_final_eps`` as ``end_e``).
- ``pixelpilot/DiscretePendulum-v1`` (Pendulum with 11 torques, the seed documents' Double DQN test bed; rl-zoo3
  has no DQN settings for it): measured here, reaching a mean of -200 in about 12k steps.
- ``NEONRACE``: the pixel racer's network and episodes (:mod:`agent.learning.presets`) with every improvement
  switched on (Double, Dueling, prioritised replay) and CleanRL's Atari settings (``dqn_atari.py``: lr 1e-4, a
  target network copied every 1,000 steps, ε down to 0.01 over a tenth of the run, an update of 32 transitions per
  4 steps), the memory 50k transitions (5 GB of uint8 frame pairs) where Atari's holds 1M. Two torch threads: an
  update of 32 transitions per 4 steps keeps its one process in the convolutions, and a second thread took it from
  50 to 75 steps/s on 2 cores (2026-12-07).
"""

from __future__ import annotations

from typing import Any

from agent.learning.presets import NEONRACE_EPISODES, PIXEL_NETWORK

CLASSIC: dict[str, dict[str, Any]] = {
    "CartPole-v1": {"hidden": 256, "lr": 2.3e-3, "batch_size": 64, "buffer_size": 100_000, "learning_starts": 1000,
                    "target_network_frequency": 10, "train_frequency": 256, "gradient_steps": 128,
                    "exploration_fraction": 0.16, "end_e": 0.04, "total_steps": 50_000},
    "MountainCar-v0": {"hidden": 256, "lr": 4e-3, "batch_size": 128, "buffer_size": 10_000, "learning_starts": 1000,
                       "gamma": 0.98, "target_network_frequency": 600, "train_frequency": 16, "gradient_steps": 8,
                       "exploration_fraction": 0.2, "end_e": 0.07, "total_steps": 120_000},
    "pixelpilot/DiscretePendulum-v1": {"gamma": 0.98, "lr": 1e-3, "batch_size": 64, "buffer_size": 50_000,
                                       "learning_starts": 1000, "train_frequency": 4, "exploration_fraction": 0.1,
                                       "total_steps": 40_000, "eval_every": 4_000},
}  # fmt: skip


NEONRACE: dict[str, Any] = {
    **PIXEL_NETWORK,
    **NEONRACE_EPISODES,
    "double": True,
    "dueling": True,
    "prioritized": True,
    "lr": 1e-4,
    "num_envs": 4,
    "buffer_size": 50_000,
    "learning_starts": 10_000,
    "train_frequency": 4,
    "batch_size": 32,
    "target_network_frequency": 1000,
    "exploration_fraction": 0.1,
    "end_e": 0.01,
    "torch_threads": 2,
}


def preset(env_id: str) -> dict[str, Any]:
    """The settings ``env_id`` trains with unless options say otherwise (none for an environment not measured)."""
    from agent.envs import NEONRACE_ENV

    presets = {**CLASSIC, NEONRACE_ENV: NEONRACE}
    return dict(presets.get(env_id, {}))
