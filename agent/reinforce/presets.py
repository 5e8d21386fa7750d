"""REINFORCE settings per environment. ``pixelpilot train --algo reinforce`` and the panel start from :func:`preset`
of the chosen environment, and options given on top change it; each preset lists the ``ReinforceArgs`` fields that
differ from their defaults (the seed documents': lr 0.01, returns standardised, one episode per update).

- ``CartPole-v1``: the critic as baseline and four episodes per update, measured here (the learning test's
  settings): the documents' one episode per update without a baseline took over 100k steps to a mean of 475.
- ``MountainCar-v0``: the documents' setting, measured here (single seeds, 2026-12-07): trained on the car without
  its 200-step limit (100,000 steps, far beyond any episode that learns) and evaluated with it. Within 200 steps of
  random actions the car almost never reaches the flag, so every return is -200 and the policy gradient is zero; an
  episode that runs until the flag gives the returns something to tell apart. The documents' 10 units per layer
  and the observation mapped to [-1, 1] inside the model (``input_norm``: the velocity spans only ±0.07): without
  that scaling the documents' recipe was still at 3,000-step episodes after 600k steps, with it the car climbed out
  in 200 steps after 100k. Discount 0.995 as in the documents; learning rate 0.005, since their 0.02 collapsed the
  policy (entropy 0.03 after 170 updates, episodes back to 3,500 steps) and 0.01 learned, then fell back to -200.
"""

from __future__ import annotations

from typing import Any

CLASSIC: dict[str, dict[str, Any]] = {
    "CartPole-v1": {"baseline": True, "episodes_per_update": 4},
    "MountainCar-v0": {
        "env_kwargs": {"max_episode_steps": 100_000},
        "eval_env_kwargs": {"max_episode_steps": 200},
        "hidden": 10,
        "input_norm": True,
        "gamma": 0.995,
        "lr": 0.005,
    },
}


def preset(env_id: str) -> dict[str, Any]:
    """The settings ``env_id`` trains with unless options say otherwise (none for an environment not measured)."""
    return dict(CLASSIC.get(env_id, {}))
