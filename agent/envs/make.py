"""Making environments by id, for every learner, evaluation and the pilot: one place that turns an id, keyword
arguments and a frame stack into environments, and that knows which ids are safe to take from a file.

A Gymnasium id can name a module to import (``"package.module:Env-v0"``), and a registered id's keyword arguments
can point at files (``pixelpilot/Screen-v0``'s profile, which says what program to launch). An id the user types
is the user's choice; an id read from a checkpoint is data, and :func:`check_builtin` lets only pixelpilot's own
environments and Gymnasium's through.
"""

from __future__ import annotations

import sys
from typing import Any

import gymnasium as gym

from agent.config import ConfigError
from agent.envs.wrappers import StackFrames

TRUSTED_ENTRY_POINTS = ("gymnasium.", "agent.envs.")
"""where the entry points of the ids :func:`check_builtin` accepts live: Gymnasium's own environments and ours"""


def make_env(
    env_id: str, env_kwargs: dict[str, Any] | None = None, frame_stack: int = 1, render_mode: str | None = None
) -> gym.Env:
    """The environment ``env_id`` made with ``env_kwargs``, its observations stacked ``frame_stack`` deep; unknown
    ids and bad keyword arguments are ConfigErrors."""
    kwargs = dict(env_kwargs or {})
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    try:
        env = gym.make(env_id, **kwargs)
    except gym.error.Error as exc:
        raise ConfigError(f"unknown environment {env_id!r}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"cannot make {env_id!r} with {env_kwargs or {}}: {exc}") from None
    if frame_stack > 1:
        env = StackFrames(env, frame_stack)
    return env


def instances_per_process(env: gym.Env) -> int:
    """How many copies of ``env`` one process may run side by side (an env that drives a real window: one)."""
    return int(env.unwrapped.metadata.get("instances_per_process", sys.maxsize))


def make_envs(
    env_id: str,
    env_kwargs: dict[str, Any] | None,
    count: int,
    frame_stack: int = 1,
    render_mode: str | None = None,
) -> list[gym.Env]:
    """``count`` environments, or as many as one process may run; if making one fails, those made are closed."""
    envs: list[gym.Env] = []
    try:
        envs.append(make_env(env_id, env_kwargs, frame_stack, render_mode))
        for _ in range(min(count, instances_per_process(envs[0])) - 1):
            envs.append(make_env(env_id, env_kwargs, frame_stack, render_mode))
    except BaseException:
        close_all(envs)
        raise
    return envs


def close_all(envs: list[gym.Env]) -> None:
    for env in envs:
        env.close()


def check_builtin(env_id: Any, where: str) -> str:
    """``env_id`` if it is one of pixelpilot's environments or one Gymnasium registered itself, else a ConfigError
    naming ``where`` it came from. Making such an id imports nobody else's code; for pixelpilot/Screen-v0 the
    caller must still take the profile from the user, never from ``where``."""
    if not isinstance(env_id, str) or ":" in env_id or env_id not in gym.registry:
        raise ConfigError(
            f"{where}: names the environment {env_id!r}, which is not one of pixelpilot's or Gymnasium's; "
            "name the environment to use with --env (or --profile)"
        )
    entry = gym.registry[env_id].entry_point
    if not isinstance(entry, str) or not entry.startswith(TRUSTED_ENTRY_POINTS):
        raise ConfigError(
            f"{where}: names the environment {env_id!r}, registered by {entry!r}, not by pixelpilot or Gymnasium; "
            "name the environment to use with --env (or --profile)"
        )
    return env_id
