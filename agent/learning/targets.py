"""Target networks: the slowly following copy of a network that off-policy learners (DQN, DDPG) compute their
regression targets with, so a target does not move with every update of what is regressed on it."""

from __future__ import annotations

import copy
from typing import TypeVar

import torch
from torch import nn

M = TypeVar("M", bound=nn.Module)


def frozen_copy(model: M) -> M:
    """A copy of ``model`` that no gradient reaches: the target network at the start."""
    return copy.deepcopy(model).requires_grad_(False)


def soft_update(target: nn.Module, online: nn.Module, tau: float) -> None:
    """``target ← τ·online + (1 - τ)·target``, parameter by parameter (τ = 1: a copy)."""
    with torch.no_grad():
        for t, o in zip(target.parameters(), online.parameters(), strict=True):
            t.lerp_(o, tau)
