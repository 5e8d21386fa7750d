"""The pilot: a checkpoint's deterministic policy deciding one window step at a time (``play``, the lap demo and
the control panel drive with it)."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch.distributions import Categorical

from agent.config import ConfigError
from agent.envs.wrappers import FrameStack
from agent.policy.checkpoint import load_checkpoint


class Pilot:
    """Observation in, action out, one step at a time: the recurrent state (or the frame stack) carries over until
    :meth:`reset`, which each new episode calls."""

    def __init__(self, checkpoint: str | Path, env: gym.Env) -> None:
        loaded = load_checkpoint(checkpoint)
        self.training = loaded.trained
        """how the checkpoint was trained, for reports"""
        spec = loaded.spec
        frame = getattr(env.observation_space, "shape", None)
        if frame is None or (*frame[:-1], frame[-1] * spec.frame_stack) != tuple(spec.observation_shape):
            raise ConfigError(f"{loaded.where}: takes observations of shape {spec.observation_shape}"
                              f"{f' ({spec.frame_stack} frames stacked)' if spec.frame_stack > 1 else ''}; "
                              f"the window gives {frame}")  # fmt: skip
        if spec.n_actions is None or not isinstance(env.action_space, gym.spaces.Discrete):
            raise ConfigError(
                f"{loaded.where}: a pilot chooses among discrete actions; this model gives continuous ones"
            )
        if int(env.action_space.n) != spec.n_actions:
            raise ConfigError(f"{loaded.where}: chooses among {spec.n_actions} actions; the profile has "
                              f"{int(env.action_space.n)}")  # fmt: skip
        self.model = loaded.model()
        self.stack = FrameStack(spec.frame_stack) if spec.frame_stack > 1 else None
        self.reset()

    def reset(self) -> None:
        self.state = self.model.initial_state(1)
        self._first = True
        self.probs: torch.Tensor | None = None
        """the action probabilities of the last decision (shown by the control panel; no second forward pass)"""

    def act(self, obs: np.ndarray) -> int:
        if self.stack is not None:
            obs = self.stack.start(obs) if self._first else self.stack.push(obs)
        self._first = False
        with torch.no_grad():
            decision = self.model.act(torch.as_tensor(obs[None], dtype=torch.float32), self.state, greedy=True)
        self.state = decision.state
        assert isinstance(decision.dist, Categorical)
        self.probs = decision.dist.probs[0]
        return int(decision.action[0])
