"""``pixelpilot/NeonRace-v0``: the bundled game in-process, thousands of steps per second.

The observation is :func:`capture.preprocess.preprocess` applied to the game rendered at 200x128, the same
function the screen agent applies to the game's window, and the geometry is resolution-independent, so a
policy trained here sees what it will see through the screen (the equivalence test checks it).

Actions are the 7 of the design's table; each is held for ``frame_skip`` game ticks (30 ticks per second;
the default 2 matches the screen environment's 15 steps per second).

Reward per step: the distance driven divided by the distance a car at top speed (no turbo) covers in one
step, so 1.0 is flat out and turbo earns up to 1.3; minus ``crash_penalty`` for each crash. ``terminated``
when the race is finished or the car crashed out (3 crashes); ``truncated`` by the time limit
(``max_episode_steps``, 2000 by default = 133 s). ``info``: speed (0..1.3 of top speed), lap, progress
(fraction of the lap), x (road half-widths; |x| > 1 is off the road), z, score, crashes, lap_time,
last_lap_time, distance, track_seed.

The track: ``track_seed`` fixes it; left at None, every reset draws one from the environment's seeded
random generator (``reset(seed=...)``), or ``reset(options={"track_seed": n})`` picks one.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from capture.preprocess import OBS_HEIGHT, OBS_SHAPE, OBS_WIDTH, preprocess
from control.actions import ACTIONS
from games.neonrace.render import Renderer
from games.neonrace.sim import DT, MAX_SPEED, Game
from games.neonrace.track import check_seed, difficulty

WINDOW_SIZE = (800, 500)


class NeonRaceEnv(gym.Env[np.ndarray, np.int64]):
    metadata: dict[str, Any] = {"render_modes": ["rgb_array", "human"], "render_fps": 15}  # noqa: RUF012 - gymnasium.Env declares it per instance

    def __init__(
        self,
        render_mode: str | None = None,
        track_seed: int | None = None,
        difficulty_name: str = "normal",
        laps: int = 1,
        frame_skip: int = 2,
        crash_penalty: float = 5.0,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        difficulty(difficulty_name)
        if track_seed is not None:
            check_seed(track_seed)
        if not isinstance(frame_skip, int) or isinstance(frame_skip, bool) or frame_skip < 1:
            raise ValueError(f"frame_skip must be a positive integer, got {frame_skip!r}")
        if not isinstance(laps, int) or isinstance(laps, bool) or laps < 1:
            raise ValueError(f"laps must be a positive integer, got {laps!r}")
        if crash_penalty < 0:
            raise ValueError(f"crash_penalty must be >= 0, got {crash_penalty!r}")
        self.render_mode = render_mode
        self.track_seed = track_seed
        self.difficulty = difficulty_name
        self.laps = laps
        self.frame_skip = frame_skip
        self.crash_penalty = crash_penalty
        self.metadata = {**self.metadata, "render_fps": 30 / frame_skip}
        self.action_space = gym.spaces.Discrete(len(ACTIONS))
        self.observation_space = gym.spaces.Box(0.0, 1.0, OBS_SHAPE, np.float32)
        self.game: Game | None = None
        self._obs_renderer: Renderer | None = None
        self._view_renderer: Renderer | None = None
        self._viewer: Any = None

    def _new_game(self, track_seed: int) -> None:
        if self.game is None or self.game.track.seed != track_seed:
            self.game = Game(track_seed, self.difficulty, self.laps)
            self._obs_renderer = Renderer(self.game, OBS_WIDTH, OBS_HEIGHT)
            self._view_renderer = None
        else:
            self.game.reset()

    def _obs(self) -> np.ndarray:
        assert self._obs_renderer is not None
        return preprocess(self._obs_renderer.render())

    def _info(self) -> dict[str, Any]:
        assert self.game is not None
        s = self.game.state
        return {
            "speed": s.speed / MAX_SPEED,
            "lap": s.lap,
            "progress": self.game.progress(),
            "x": s.x,
            "z": s.z,
            "score": s.score,
            "crashes": s.crashes,
            "lap_time": s.lap_time,
            "last_lap_time": s.last_lap_time,
            "distance": s.distance,
            "finished": s.finished,
            "track_seed": self.game.track.seed,
        }

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        track_seed = (options or {}).get("track_seed", self.track_seed)
        if track_seed is None:
            track_seed = int(self.np_random.integers(0, 2**31))
        self._new_game(check_seed(track_seed))
        if self.render_mode == "human":
            self.render()
        return self._obs(), self._info()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self.game is None:
            raise RuntimeError("call reset() before step()")
        if not self.action_space.contains(action):
            raise ValueError(f"action must be an integer in 0..{len(ACTIONS) - 1}, got {action!r}")
        keys = ACTIONS[int(action)]
        s = self.game.state
        distance, crashes = s.distance, s.crashes
        for _ in range(self.frame_skip):
            self.game.tick(keys)
            if s.done:
                break
        reward = (s.distance - distance) / (MAX_SPEED * DT * self.frame_skip)
        reward -= self.crash_penalty * (s.crashes - crashes)
        if self.render_mode == "human":
            self.render()
        return self._obs(), float(reward), s.done, False, self._info()

    def render(self) -> np.ndarray | None:
        if self.render_mode is None or self.game is None:
            return None
        if self._view_renderer is None:
            self._view_renderer = Renderer(self.game, *WINDOW_SIZE)
        frame = self._view_renderer.render()
        if self.render_mode == "rgb_array":
            return frame
        if self._viewer is None:
            from games.neonrace.window import FrameViewer

            self._viewer = FrameViewer("NeonRace (in-process)")
        self._viewer.show_frame(frame, self.metadata["render_fps"])
        return None

    def close(self) -> None:
        if self._viewer is not None:
            self._viewer.close()
            self._viewer = None
