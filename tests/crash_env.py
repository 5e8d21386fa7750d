"""An environment whose first copy crashes mid-run, to test that A3C restarts a crashed worker.

Used as ``tests.crash_env:CrashOnce-v0``: gymnasium imports this module in the worker process.
"""

from pathlib import Path

import gymnasium as gym
from gymnasium.envs.classic_control import CartPoleEnv


class CrashOnce(CartPoleEnv):
    def __init__(self, marker: str, crash_at: int = 300) -> None:
        super().__init__()
        self.marker = Path(marker)
        self.crash_at = crash_at
        self.steps = 0

    def step(self, action):
        self.steps += 1
        if self.steps == self.crash_at and not self.marker.exists():
            self.marker.write_text("crashed")
            raise RuntimeError("simulated crash in the environment")
        return super().step(action)


if "CrashOnce-v0" not in gym.registry:
    gym.register("CrashOnce-v0", entry_point=CrashOnce, max_episode_steps=500)
