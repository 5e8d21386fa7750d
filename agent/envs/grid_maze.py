"""``pixelpilot/GridMaze-v0``: the seed documents' 4x4 maze for tabular learning (Q-learning, Sarsa, Sarsa(λ)).

The explorer starts in the top-left cell. Two cells are traps (reward -1) and one holds the goal (reward +1); either
ends the episode (*terminated*); every other step gives 0. Actions are 0 up, 1 down, 2 right, 3 left; a move into
the border leaves the explorer where it is. Observations are the cell's index, ``row * 4 + column``.

Renders as text (``ansi``: ``o`` the explorer, ``x`` a trap, ``G`` the goal) or as the documents' picture
(``rgb_array``: 40-pixel cells, black traps, a yellow goal, the explorer a red square).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

SIZE = 4
START = (0, 0)
TRAPS = ((1, 2), (2, 1))
GOAL = (2, 2)
MOVES = ((-1, 0), (1, 0), (0, 1), (0, -1))
"""(row, column) change of each action: up, down, right, left"""
ACTION_NAMES = ("up", "down", "right", "left")
UNIT = 40
"""pixels per cell in the rgb_array picture"""


class GridMaze(gym.Env[np.int64, np.int64]):
    metadata: dict[str, Any] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 10}  # noqa: RUF012 - gymnasium.Env declares it per instance

    def __init__(self, render_mode: str | None = None) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode: {render_mode!r} is not one of {self.metadata['render_modes']}")
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Discrete(SIZE * SIZE)
        self.action_space = gym.spaces.Discrete(len(MOVES))
        self.cell = START

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.int64, dict]:
        super().reset(seed=seed)
        self.cell = START
        return self._obs(), {}

    def step(self, action: np.int64 | int) -> tuple[np.int64, float, bool, bool, dict]:
        if not self.action_space.contains(action):
            raise ValueError(f"action: {action!r} is not one of 0..{len(MOVES) - 1}")
        d_row, d_col = MOVES[int(action)]
        row, col = self.cell[0] + d_row, self.cell[1] + d_col
        if 0 <= row < SIZE and 0 <= col < SIZE:
            self.cell = (row, col)
        reward = 1.0 if self.cell == GOAL else -1.0 if self.cell in TRAPS else 0.0
        return self._obs(), reward, reward != 0.0, False, {}

    def _obs(self) -> np.int64:
        return np.int64(self.cell[0] * SIZE + self.cell[1])

    def render(self) -> str | np.ndarray | None:
        if self.render_mode == "ansi":
            marks = {GOAL: "G", **dict.fromkeys(TRAPS, "x"), self.cell: "o"}
            rows = (" ".join(marks.get((row, col), ".") for col in range(SIZE)) for row in range(SIZE))
            return "\n".join(rows) + "\n"
        if self.render_mode == "rgb_array":
            return self._picture()
        return None

    def _picture(self) -> np.ndarray:
        image = np.full((SIZE * UNIT, SIZE * UNIT, 3), 255, dtype=np.uint8)
        image[::UNIT, :] = image[:, ::UNIT] = 0  # grid lines
        for row, col in TRAPS:
            self._square(image, row, col, (0, 0, 0))
        ys, xs = np.mgrid[0:UNIT, 0:UNIT]
        disc = (ys - UNIT / 2 + 0.5) ** 2 + (xs - UNIT / 2 + 0.5) ** 2 <= 15**2
        goal = image[GOAL[0] * UNIT : (GOAL[0] + 1) * UNIT, GOAL[1] * UNIT : (GOAL[1] + 1) * UNIT]
        goal[disc] = (255, 255, 0)
        self._square(image, *self.cell, (255, 0, 0))
        return image

    @staticmethod
    def _square(image: np.ndarray, row: int, col: int, colour: tuple[int, int, int]) -> None:
        """The documents' 30-pixel square in the middle of a cell."""
        top, left = row * UNIT + 5, col * UNIT + 5
        image[top : top + 30, left : left + 30] = colour
