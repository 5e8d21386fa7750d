"""One-step actor-critic settings per environment. ``pixelpilot train --algo actor-critic`` and the panel start from
:func:`preset` of the chosen environment, and options given on top change it; each preset lists the ``OneStepArgs``
fields that differ from their defaults.

- ``CartPole-v1``: eight environments side by side (an update after every step of all eight), measured here (the
  learning test's settings).
"""

from __future__ import annotations

from typing import Any

CLASSIC: dict[str, dict[str, Any]] = {
    "CartPole-v1": {"num_envs": 8},
}


def preset(env_id: str) -> dict[str, Any]:
    """The settings ``env_id`` trains with unless options say otherwise (none for an environment not measured)."""
    return dict(CLASSIC.get(env_id, {}))
