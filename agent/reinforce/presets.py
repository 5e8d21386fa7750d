"""REINFORCE settings per environment. ``pixelpilot train --algo reinforce`` and the panel start from :func:`preset`
of the chosen environment, and options given on top change it; each preset lists the ``ReinforceArgs`` fields that
differ from their defaults (the seed documents': lr 0.01, returns standardised, one episode per update).

- ``CartPole-v1``: the critic as baseline and four episodes per update, measured here (the learning test's
  settings): the documents' one episode per update without a baseline took over 100k steps to a mean of 475.
"""

from __future__ import annotations

from typing import Any

CLASSIC: dict[str, dict[str, Any]] = {
    "CartPole-v1": {"baseline": True, "episodes_per_update": 4},
}


def preset(env_id: str) -> dict[str, Any]:
    """The settings ``env_id`` trains with unless options say otherwise (none for an environment not measured)."""
    return dict(CLASSIC.get(env_id, {}))
