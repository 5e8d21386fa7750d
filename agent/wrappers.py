"""Gymnasium wrappers, one job each."""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np


class StackFrames(gym.ObservationWrapper):
    """The last ``k`` image observations concatenated on the channel axis: (H, W, C) → (H, W, k·C).

    The CNN sees motion this way without a recurrent core. At reset the first frame fills the stack.
    """

    def __init__(self, env: gym.Env, k: int) -> None:
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 3:
            raise ValueError(f"frame stacking needs (height, width, channels) image observations, got {space}")
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.k = k
        self.frames: deque[np.ndarray] = deque(maxlen=k)
        low = np.concatenate([space.low] * k, axis=2)
        high = np.concatenate([space.high] * k, axis=2)
        self.observation_space = gym.spaces.Box(low, high, dtype=space.dtype)

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict]:
        obs, info = self.env.reset(**kwargs)
        self.frames.clear()
        self.frames.extend([obs] * self.k)
        return np.concatenate(self.frames, axis=2), info

    def observation(self, observation: np.ndarray) -> np.ndarray:
        self.frames.append(observation)
        return np.concatenate(self.frames, axis=2)
