"""Gymnasium wrappers, one job each, and the frame stack they share with the pilot."""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np


class FrameStack:
    """The last ``k`` image observations concatenated on the channel axis: (H, W, C) → (H, W, k·C). An episode's
    first frame fills the whole stack. One implementation for training (:class:`StackFrames`) and for a pilot that
    steps a window one frame at a time."""

    def __init__(self, k: int) -> None:
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.k = k
        self.frames: deque[np.ndarray] = deque(maxlen=k)

    def start(self, observation: np.ndarray) -> np.ndarray:
        """The stack at an episode's first observation."""
        self.frames.clear()
        self.frames.extend([observation] * self.k)
        return np.concatenate(self.frames, axis=2)

    def push(self, observation: np.ndarray) -> np.ndarray:
        """The stack after the next observation."""
        self.frames.append(observation)
        return np.concatenate(self.frames, axis=2)


class StackFrames(gym.ObservationWrapper):
    """Observations of the last ``k`` steps stacked as channels (:class:`FrameStack`): the CNN sees motion this way
    without a recurrent core."""

    def __init__(self, env: gym.Env, k: int) -> None:
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 3:
            raise ValueError(f"frame stacking needs (height, width, channels) image observations, got {space}")
        self.stack = FrameStack(k)
        self.k = k
        low = np.concatenate([space.low] * k, axis=2)
        high = np.concatenate([space.high] * k, axis=2)
        self.observation_space = gym.spaces.Box(low, high, dtype=space.dtype)

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict]:
        obs, info = self.env.reset(**kwargs)
        return self.stack.start(obs), info

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return self.stack.push(observation)
