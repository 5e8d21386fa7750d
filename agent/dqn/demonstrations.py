"""DQfD's demonstrations (Hester et al. 2018): recorded driving as transitions that DQN learns from for its whole
run, beside its own replay memory, and the large-margin loss that makes the greedy policy prefer what was shown.

A dataset keeps each frame once (uint8 128x200). A transition's observation and the one after it are stacked from
those frames as they are drawn (``frame_stack`` of them, a stretch's first frame filling the stack as the
environment's wrapper does), so 30 minutes of driving take 0.7 GB whatever the stack, where stored transitions would
take twice the stack as much.

Which steps are transitions: each step an action was chosen in (idle steps, where no key combination of the action
table was held, are not actions) whose next frame follows in the same stretch, or that ended its game episode by the
game's own end (terminated: nothing follows, and nothing is valued after it). A stretch that stopped otherwise (a
time limit, the recording stopped or paused) has no frame after its last step to bootstrap from: that step is left
out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from agent.config import ConfigError
from agent.demos.dataset import join_demos, load_demos
from agent.demos.errors import DemoError
from agent.demos.pretrain import stacked, stretch_ends, stretch_starts
from agent.learning.replay import Minibatch
from capture.preprocess import OBS_HEIGHT, OBS_WIDTH


@dataclass
class Demonstrations:
    """Every usable step of one or more datasets, drawn as minibatches of transitions."""

    frames: np.ndarray
    """uint8 (N, 128, 200), each recorded frame once"""
    first: np.ndarray
    """per step, the first step of its stretch (where its frame stack stops reaching back)"""
    steps: np.ndarray
    """the steps that are transitions"""
    actions: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    """1.0 at a step that ended its game episode by the game's own end"""
    frame_stack: int

    def __len__(self) -> int:
        return len(self.steps)

    def sample(self, batch_size: int, rng: np.random.Generator) -> Minibatch:
        """``batch_size`` transitions drawn uniformly; their ``indices`` are -1 (none is in the replay memory, so no
        priority is kept for them) and their importance weights 1."""
        index = self.steps[rng.integers(len(self.steps), size=batch_size)]
        following = np.minimum(index + 1, len(self.frames) - 1)  # after a termination: never valued
        return Minibatch(
            observations=stacked(self.frames, index, self.first, self.frame_stack),
            actions=self.actions[index],
            rewards=self.rewards[index],
            next_observations=stacked(self.frames, following, self.first, self.frame_stack),
            terminated=self.terminated[index],
            indices=np.full(batch_size, -1, dtype=np.int64),
            weights=np.ones(batch_size, dtype=np.float32),
        )


def load_demonstrations(
    paths: list[str], n_actions: int, observation_shape: tuple[int, ...], frame_stack: int
) -> Demonstrations:
    """The datasets at ``paths`` as transitions for a network of ``n_actions`` that sees ``observation_shape``
    (``frame_stack`` recorded frames); a dataset of another action table or an environment that does not observe
    recorded frames is one ConfigError line."""
    if tuple(observation_shape) != (OBS_HEIGHT, OBS_WIDTH, frame_stack):
        raise ConfigError(f"demos: recordings hold {OBS_HEIGHT}x{OBS_WIDTH} frames; this environment's network sees "
                          f"{observation_shape}")  # fmt: skip
    demos = join_demos([load_demos(Path(path), n_actions) for path in paths])
    ends = stretch_ends(demos)
    usable = ~demos.idle & (~ends | demos.terminated)
    if not usable.any():
        raise DemoError(f"demos: {', '.join(paths)} hold no step with an action")
    return Demonstrations(
        frames=demos.frames,
        first=stretch_starts(ends),
        steps=np.flatnonzero(usable),
        actions=demos.actions,
        rewards=demos.rewards,
        terminated=demos.terminated.astype(np.float32),
        frame_stack=frame_stack,
    )


def margin_loss(q: torch.Tensor, demonstrated: torch.Tensor, margin: float) -> torch.Tensor:
    """DQfD's large-margin loss, ``max_a [Q(s, a) + margin·(a ≠ a_E)] − Q(s, a_E)``, mean over demonstrated steps
    (``q`` (B, actions), ``demonstrated`` (B,) the actions a_E). It is 0 once the demonstrated action's value lies
    ``margin`` above every other's: the greedy policy then takes it, while the values stay free to follow the TD
    targets (a cross-entropy would keep pushing them apart)."""
    shown = demonstrated[:, None]
    penalty = torch.full_like(q, margin).scatter(1, shown, 0.0)
    return ((q + penalty).max(dim=1).values - q.gather(1, shown).squeeze(1)).mean()
