"""A3C settings per environment, found by measurement on these 2-core machines. ``pixelpilot train`` and the panel
start from :func:`preset` of the chosen environment, and options given on top change it; each preset lists the
``Args`` fields that differ from their defaults (which suit small vector environments).

- ``CLASSIC``: the classic Gymnasium benchmarks (the gym benchmark runs them next to Stable-Baselines3).
- ``PIXELS``: the recipe for pixel racing games (``benchmarks/neonrace_learning.py`` chose it, docs/benchmarks.md
  "Learning to race NeonRace from scratch"): NeonRace-v0 in-process and any game through its window.
"""

from __future__ import annotations

from typing import Any

from agent.learning.presets import NEONRACE_EPISODES, PIXEL_NETWORK

CLASSIC: dict[str, dict[str, Any]] = {
    # Trials over seeds 1-8 (median wall-clock to threshold, slowest seed): 16 envs per worker and 5 steps run 25k
    # steps/s (1 env and 20 steps: 6k). Clipping the gradient norm at 0.5: CartPole 0.69 s, 1.36 s (at the default
    # 40: 1.14 s, 6.0 s).
    "CartPole-v1": {"envs_per_worker": 16, "n_steps": 5, "max_grad_norm": 0.5},
    # Acrobot's returns of -100s also need rewards scaled by 0.1, else the value loss dominates the clipped
    # gradient: 0.31 s, 0.67 s (unscaled: 1.24 s, 6.5 s).
    "Acrobot-v1": {"envs_per_worker": 16, "n_steps": 5, "max_grad_norm": 0.5, "reward_scale": 0.1},
    # A3C's defaults stay near -1,300 after 260k steps; rl-zoo3's gamma/λ, no entropy bonus (it only widens the
    # Gaussian) and a smaller step reached -192 at 270k in a trial.
    "Pendulum-v1": {"gamma": 0.9, "gae_lambda": 0.9, "entropy_coef": 0.0, "lr": 3e-4},
    # With one env per worker and 20 steps no seed reached 200 in 1M steps; with 16 envs, 5 steps, rewards scaled
    # by 0.01 and the gradient clipped at 0.5, one of two did (42 s) in a trial.
    "LunarLander-v3": {"envs_per_worker": 16, "n_steps": 5, "max_grad_norm": 0.5, "reward_scale": 0.01},
}

PIXELS: dict[str, Any] = {
    **PIXEL_NETWORK,
    # 8 environments per worker and 10-step rollouts, GAE 0.95, rewards scaled by 0.1 and advantages normalised. An
    # entropy bonus of 0.03: at 0.01 the policy collapsed to up+x within 5,000 steps, after 130,000 steps of
    # learning to steer.
    "envs_per_worker": 8,
    "n_steps": 10,
    "gae_lambda": 0.95,
    "lr": 3e-4,
    "entropy_coef": 0.03,
    "reward_scale": 0.1,
    "normalize_advantages": True,
    "max_grad_norm": 0.5,
}
NEONRACE: dict[str, Any] = {**PIXELS, **NEONRACE_EPISODES}
SCREEN: dict[str, Any] = {**PIXELS, "envs_per_worker": 1}
"""a game window takes a process (and a virtual desktop) of its own"""


def preset(env_id: str) -> dict[str, Any]:
    """The settings ``env_id`` trains with unless options say otherwise (none for an environment not measured)."""
    from agent.envs import NEONRACE_ENV, SCREEN_ENV

    presets = {**CLASSIC, NEONRACE_ENV: NEONRACE, SCREEN_ENV: SCREEN}
    return dict(presets.get(env_id, {}))
