"""Environments for A3C's process tests: one whose first copy crashes mid-run (a crashed worker is restarted), one
that checks an environment variable (workers see the parent's variables of the moment they start), one that
allows one copy per process, one that kills its process with SIGKILL (a dead evaluator is restarted).

Used as ``tests.crash_env:CrashOnce-v0`` / ``tests.crash_env:NeedsVariable-v0``: gymnasium imports this module in
the worker process.
"""

import os
import signal
from pathlib import Path
from typing import ClassVar

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


class NeedsVariable(CartPoleEnv):
    def __init__(self, name: str, value: str) -> None:
        if os.environ.get(name) != value:
            raise RuntimeError(f"{name} is {os.environ.get(name)!r} in this process, not {value!r}")
        super().__init__()


class OnePerProcess(CartPoleEnv):
    """Declares what pixelpilot/Screen-v0 declares: one copy per process (it drives a real window)."""

    metadata: ClassVar[dict] = {**CartPoleEnv.metadata, "instances_per_process": 1}


class Killed(CartPoleEnv):
    """With ``die``, kills its process with SIGKILL at a reset while ``marker`` is missing (``always``: at every
    reset); it leaves ``marker`` behind first. Never in process ``spare`` (the test's own, where a run's final
    evaluation happens)."""

    def __init__(self, marker: str, die: bool = False, always: bool = False, spare: int = 0) -> None:
        super().__init__()
        self.marker, self.die, self.always, self.spare = Path(marker), die, always, spare

    def reset(self, **kwargs):
        if self.die and os.getpid() != self.spare and (self.always or not self.marker.exists()):
            self.marker.write_text("killed")
            os.kill(os.getpid(), signal.SIGKILL)
        return super().reset(**kwargs)


if "CrashOnce-v0" not in gym.registry:
    gym.register("CrashOnce-v0", entry_point=CrashOnce, max_episode_steps=500)
    gym.register("NeedsVariable-v0", entry_point=NeedsVariable, max_episode_steps=500)
    gym.register("OnePerProcess-v0", entry_point=OnePerProcess, max_episode_steps=500)
    gym.register("Killed-v0", entry_point=Killed, max_episode_steps=500)
