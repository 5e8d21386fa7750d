"""PPO settings per environment. ``pixelpilot train --algo ppo`` and the panel start from :func:`preset` of the
chosen environment, and options given on top change it; each preset lists the ``PPOArgs`` fields that differ from
their defaults (CleanRL's).

- ``CLASSIC``: RL Baselines3 Zoo's tuned PPO hyperparameters for these environments (its batch size as
  ``num_minibatches`` = ``num_envs`` × ``n_steps`` / batch size; its linear schedules as ``anneal_lr``).
  Pendulum-v1's critic is not clipped (SB3 clips none): its rewards reach -16 a step and its values -160, and a
  critic whose values may move only ``clip_coef`` (0.2) per update lagged so far behind them that 1 of 3 seeds never
  reached -200 in 1M steps and the others took 242k and 283k; unclipped, seeds 1 and 2 reached it at 53k
  (2026-12-07).
  LunarLander-v3 keeps the clip: without it seed 1 reached 200 at 835k steps instead of 491k, and seed 2 not in 1M.
- ``NEONRACE``: the pixel racer's network and episodes (:mod:`agent.learning.presets`) with CleanRL's Atari settings
  (``ppo_atari.py``: clip 0.1, 4 passes of 4 minibatches) and A3C's reward scale. Two torch threads: PPO's one
  process spends most of its time in the convolutions' four passes, and a second thread took it from 134 to 211
  steps/s on 2 cores (2026-12-07).
"""

from __future__ import annotations

from typing import Any

from agent.learning.presets import NEONRACE_EPISODES, PIXEL_NETWORK

CLASSIC: dict[str, dict[str, Any]] = {
    "CartPole-v1": {"num_envs": 8, "n_steps": 32, "num_minibatches": 1, "gae_lambda": 0.8, "gamma": 0.98,
                    "update_epochs": 20, "entropy_coef": 0.0, "lr": 1e-3},
    "Acrobot-v1": {"num_envs": 16, "n_steps": 256, "num_minibatches": 64, "gae_lambda": 0.94, "entropy_coef": 0.0},
    "Pendulum-v1": {"num_envs": 4, "n_steps": 1024, "num_minibatches": 64, "gamma": 0.9, "update_epochs": 10,
                    "entropy_coef": 0.0, "lr": 1e-3, "anneal_lr": False, "clip_vloss": False},
    "LunarLander-v3": {"num_envs": 16, "n_steps": 1024, "num_minibatches": 256, "gae_lambda": 0.98,
                       "gamma": 0.999},
}  # fmt: skip
NEONRACE: dict[str, Any] = {
    **PIXEL_NETWORK,
    **NEONRACE_EPISODES,
    "clip_coef": 0.1,
    "reward_scale": 0.1,
    "torch_threads": 2,
}


def preset(env_id: str) -> dict[str, Any]:
    """The settings ``env_id`` trains with unless options say otherwise (none for an environment not measured)."""
    from agent.envs import NEONRACE_ENV

    presets = {**CLASSIC, NEONRACE_ENV: NEONRACE}
    return dict(presets.get(env_id, {}))
