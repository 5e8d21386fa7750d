"""Continuous-action environments with their actions made discrete, for the learners that choose among a few actions
(DQN): ``pixelpilot/DiscretePendulum-v1`` is Gymnasium's Pendulum-v1 with 11 torques from -2 to 2 by default, the
seed documents' test bed for Double DQN."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


class DiscreteActions(gym.ActionWrapper):
    """A one-dimensional Box action space as ``bins`` evenly spaced actions from its low to its high bound: action
    ``i`` is ``low + i (high - low) / (bins - 1)``."""

    def __init__(self, env: gym.Env, bins: int) -> None:
        super().__init__(env)
        space = env.action_space
        if not isinstance(space, gym.spaces.Box) or space.shape != (1,):
            raise ValueError(f"DiscreteActions needs a one-dimensional Box action space, got {space}")
        if not isinstance(bins, int) or isinstance(bins, bool) or bins < 2:
            raise ValueError(f"bins must be an integer of 2 or more, got {bins!r}")
        self.values = np.linspace(space.low[0], space.high[0], bins, dtype=np.float32)
        self.action_space = gym.spaces.Discrete(bins)

    def action(self, action: Any) -> np.ndarray:
        return self.values[int(action)][None]


def discrete_pendulum(bins: int = 11, **kwargs: Any) -> gym.Env:
    """Pendulum-v1 (its 200-step time limit included) with ``bins`` torques; ``kwargs`` go to Pendulum-v1."""
    return DiscreteActions(gym.make("Pendulum-v1", **kwargs), bins)
