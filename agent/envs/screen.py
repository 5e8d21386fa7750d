"""``pixelpilot/Screen-v0``: a real game window as a Gymnasium environment.

What the game is comes from its profile (window, crop, keys, reward, done rules); when things happen comes
from the frame source's fixed-rate ticker. One ``step``:

1. hold the action's keys (only changes are sent; nothing while the window lacks focus),
2. wait for the next tick and grab + preprocess the window,
3. read the reward source.

Per-step timings (``capture_ms``, ``decide_ms`` = time the caller spent between steps, ``send_ms``) are kept
in ``timing`` and returned in ``info["timing"]``; a step that overruns its period is counted and logged.

The profile's kill switch (default F12) releases every key at once and makes the next ``step`` raise
:class:`~control.keyboard.AgentStopped`. A minimised or off-screen window pauses the episode (keys
released) until it comes back, up to ``pause_timeout`` seconds; a closed window raises
:class:`~capture.errors.WindowClosedError`.
Episodes are *terminated* when the game says ``done`` and *truncated* by ``max_episode_seconds`` or
``no_progress_seconds`` (counted in steps at the profile's fps), so learners bootstrap on truncation.

With ``private_display`` the env starts a virtual desktop of its own (Xvfb + window manager) and launches the
game there: nothing reaches the user's screen, keys cannot land in another window, and several processes (the
workers of a screen training) each drive their own copy of the game side by side.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from agent.envs.launcher import GameProcess, wait_for_window
from agent.envs.profile import GameProfile, load_profile
from capture.display import VirtualDesktop
from capture.errors import DisplayError, WindowClosedError, WindowMinimizedError, WindowNotFoundError
from capture.frame_source import Frame, FrameSource
from capture.grabber import WindowGrabber
from capture.preprocess import OBS_SHAPE
from capture.reward import NoReward, RewardSource, TelemetryReward
from capture.timing import TimingStats
from capture.windows import WindowInfo, default_backend, find_window
from control.claim import WindowClaim
from control.focus import FocusGuard
from control.guardian import Guardian
from control.hotkeys import Hotkeys
from control.keyboard import Keyboard, PynputSender
from control.xkeys import pressed

log = logging.getLogger(__name__)


def display_kwargs(profile: str | Path, display: str, env_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The env keyword arguments for ``profile``'s window on ``display``: ``"virtual"`` gives every process that
    makes the env a desktop of its own; a display name (":0") becomes this process's DISPLAY, which the processes
    it starts later inherit."""
    if display != "virtual":
        os.environ["DISPLAY"] = display
    return {**env_kwargs, "profile": profile, "private_display": display == "virtual"}


def make_reward_source(profile: GameProfile, any_port: bool = False) -> RewardSource:
    """The profile's reward source; ``any_port``: telemetry listens on a free port (a game launched with it)."""
    reward = profile.reward
    if reward.source == "telemetry":
        assert reward.port is not None
        return TelemetryReward(0 if any_port else reward.port, reward.scale, dict(reward.penalties))
    if profile.reward.source == "digits":
        from capture.digits import DigitReader, DigitsError, DigitsReward

        digits = profile.reward
        assert digits.region is not None and digits.glyphs is not None
        if not digits.glyphs.exists():  # a new profile: the font is learned after the profile is written
            raise DigitsError(f"{digits.glyphs}: no such glyph file yet; make it with: pixelpilot digits learn "
                              f"--profile {profile.path} --labels LABELS.csv (window frames from pixelpilot capture, "
                              "one IMAGE,NUMBER line each, the number as drawn), or --telemetry-port PORT instead of "
                              "--labels while the game runs and sends its score there")  # fmt: skip
        return DigitsReward(DigitReader.load(digits.glyphs), digits.region, digits.scale, digits.settle_seconds)
    return NoReward()


class ScreenEnv(gym.Env[np.ndarray, np.int64]):
    # One per process: two would find the same window by title and fight over its keys (trainers read this).
    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 15, "instances_per_process": 1}  # noqa: RUF012 - gymnasium.Env declares it per instance

    def __init__(
        self,
        profile: str | Path | GameProfile,
        render_mode: str | None = None,
        launch: bool = True,
        focus_guard: bool = True,
        kill_switch: bool = True,
        pause_timeout: float = 300.0,
        private_display: bool = False,
        observe_only: bool = False,
    ) -> None:
        """
        Args:
            profile: a profile name, a path to a profile file, or a loaded profile.
            render_mode: ``"rgb_array"`` to get the last captured frame from ``render()``.
            launch: start the game from the profile's ``launch`` command when its window is not open.
            focus_guard: send keys only while the game window has focus (turn off only on a private display).
            kill_switch: listen for the profile's kill-switch hotkey; once pressed, keys are released and every
                later ``step`` raises AgentStopped. ``hotkeys.autopilot`` follows the profile's toggle key.
            pause_timeout: how long a minimised window may pause an episode before the env gives up.
            private_display: start a virtual desktop for this env and launch the game on it (the profile needs a
                ``launch`` command; with a telemetry reward, ``{port}`` in it). It must be the first X display
                the process uses; the kill switch is off there (nobody can press keys on it: stop the process).
            observe_only: watch without driving (the recorder): no keys are sent, reset keys included, and no
                claim is taken on the window, so a person or another process can drive it meanwhile.
        """
        self.profile = profile if isinstance(profile, GameProfile) else load_profile(profile)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        if pause_timeout <= 0:
            raise ValueError(f"pause_timeout must be > 0, got {pause_timeout!r}")
        if private_display and not self.profile.launch:
            raise ValueError(f"profile {self.profile.name!r} has no launch command: a private display needs one")
        if private_display and self.profile.reward.source == "telemetry" and not self.profile.launch_takes_port:
            raise ValueError(
                f"profile {self.profile.name!r}: a private display's game needs its telemetry port; put {{port}} "
                "in the launch command"
            )
        if observe_only and self.profile.reset_keys:
            self.profile = dataclasses.replace(self.profile, reset_keys=())
        self._private = private_display
        self._observe_only = observe_only
        self.desktop: VirtualDesktop | None = None
        self._outer_display: str | None = None
        self.render_mode = render_mode
        self.metadata = {**self.metadata, "render_fps": self.profile.fps}
        self.action_space = gym.spaces.Discrete(self.profile.actions.n)
        self.observation_space = gym.spaces.Box(0.0, 1.0, OBS_SHAPE, np.float32)
        self._launch = launch
        self._focus_guard = focus_guard
        self._kill_switch = kill_switch and not private_display
        self.hotkeys: Hotkeys | None = None
        self._pause_timeout = pause_timeout
        self.timing = TimingStats()
        self.window: WindowInfo | None = None
        self.game: GameProcess | None = None
        self.keyboard: Keyboard | None = None
        self.frames: FrameSource | None = None
        self._reward: RewardSource | None = None
        self.claim: WindowClaim | None = None
        self.guardian: Guardian | None = None
        self._last_frame: Frame | None = None
        self._obs_time = 0.0
        self._steps = 0
        self._since_progress = 0
        self._episodes = 0
        fps = self.profile.fps
        self._max_steps = (
            None
            if self.profile.done.max_episode_seconds is None
            else round(self.profile.done.max_episode_seconds * fps)
        )
        self._no_progress_steps = (
            None
            if self.profile.done.no_progress_seconds is None
            else round(self.profile.done.no_progress_seconds * fps)
        )

    # -- connecting ------------------------------------------------------------------------------------
    def _connect(self) -> None:
        """Open everything; if any part fails, close what was opened (a launched game included) and re-raise."""
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def _open(self) -> None:
        profile = self.profile
        managed = profile.actions.managed_keys | set(profile.reset_keys)
        if self._private:
            self._open_private_display()
        # From here on a SIGKILL leaves nothing behind: the guardian releases this env's keys and stops what it
        # starts (its desktop now, its game once launched).
        self.guardian = Guardian(() if self._observe_only else managed, self.desktop.groups() if self.desktop else [])
        window = None
        if not self._private:  # a new private display has no windows yet: its game is always launched
            try:
                window = find_window(profile.window)
            except WindowNotFoundError:
                if not (self._launch and profile.launch):
                    raise
        if window is not None:  # first the claim: another driver is named as such, not as a busy port
            self._claim(window)
        # Then the reward: a busy port must fail before a game is launched.
        self._reward = make_reward_source(profile, any_port=self._private)
        port = self._reward.receiver.port if isinstance(self._reward, TelemetryReward) else None
        if window is None:
            self.game = GameProcess(profile.launch_command(port))
            self.guardian.watch(self.game.proc.pid)
            window = wait_for_window(profile.window, profile.launch_timeout, self.game)
            self._claim(window)
        self.window = window
        handle = self.window.handle
        self.frames = FrameSource(WindowGrabber(handle), profile.crop, profile.fps, grey=profile.grey)
        focus = FocusGuard(handle) if self._focus_guard else None
        self.keyboard = Keyboard(PynputSender(), managed, focus).open()
        if not self._observe_only:
            stale = pressed(managed)
            if stale:
                log.warning("%s held down before this run pressed anything (left by a run that was killed?): "
                            "released", ", ".join(sorted(stale)))  # fmt: skip
                self.keyboard.release_stale(stale)
        if self._kill_switch:
            self.hotkeys = Hotkeys(profile.kill_key, profile.toggle_key, on_kill=self.keyboard.stop)
            self.hotkeys.start()
        default_backend().activate(handle)

    def _claim(self, window: WindowInfo) -> None:
        """One driver per window: claim it before sending keys (a recorder only watches)."""
        if not self._observe_only:
            self.claim = WindowClaim(os.environ.get("DISPLAY", ""), window.handle, window.title)

    def _open_private_display(self) -> None:
        """Start this env's desktop and make it the process's X display (what window lookup, capture, keys and
        the launched game connect to)."""
        if "pywinctl" in sys.modules:  # it binds to one display when imported (capture.windows)
            raise DisplayError("a private display must be the first X display of the process; this one has used one")
        self.desktop = VirtualDesktop().start()
        self._outer_display = os.environ.get("DISPLAY")
        assert self.desktop.display is not None
        os.environ["DISPLAY"] = self.desktop.display

    # -- the loop --------------------------------------------------------------------------------------
    def _read(self) -> Frame:
        """The next frame; waits out a minimised window with every key released."""
        assert self.frames is not None and self.keyboard is not None
        paused_since = None
        while True:
            try:
                frame = self.frames.read()
            except WindowClosedError:
                self.keyboard.release_all()  # the X server holds injected keys after their window is gone
                raise
            except WindowMinimizedError as exc:
                if paused_since is None:
                    paused_since = time.monotonic()
                    self.keyboard.release_all()
                    log.warning("%s: pausing until it is back", exc)
                elif time.monotonic() - paused_since > self._pause_timeout:
                    raise
                time.sleep(0.25)
                continue
            if paused_since is not None:
                self.timing.count("paused_s", round(time.monotonic() - paused_since))
                self.frames.restart()
                paused_since = None
                continue  # start the schedule afresh from the restored window
            self._last_frame = frame
            return frame

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if self.keyboard is None:
            self._connect()
        assert self.keyboard is not None and self._reward is not None and self.frames is not None
        self.keyboard.apply(())
        reset_keys = self.profile.reset_keys
        # The first reset restarts the game too: an episode joined midway cannot be followed tick by tick
        # (the expert's mirror), and its score so far is not the agent's.
        self._reward.reset(expect_new_episode=bool(reset_keys))
        if reset_keys:
            self.keyboard.apply(reset_keys)
            time.sleep(1.0 / self.profile.fps)
            self.keyboard.apply(())
        deadline = time.monotonic() + self.profile.done.reset_timeout
        while not self._reward.ready():
            if time.monotonic() > deadline:
                log.warning(
                    "the game did not start a new episode within %.1f s of the reset keys; going on with the one it "
                    "is in",
                    self.profile.done.reset_timeout,
                )
                self._reward.reset(expect_new_episode=False)
                break
            time.sleep(0.02)
        self.frames.restart()
        frame = self._read()
        reading = self._reward.poll(frame.raw)  # its reward is not the agent's doing, so it is dropped
        self._steps = self._since_progress = 0
        self._episodes += 1
        self._obs_time = time.perf_counter()
        info = {"episode_number": self._episodes, "telemetry": reading.info, "telemetry_messages": reading.messages}
        return frame.obs, info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        return self.step_keys(self.profile.actions.keys(action))

    def step_keys(self, keys: frozenset[str]) -> tuple[np.ndarray, float, bool, bool, dict]:
        """A step holding ``keys`` (managed keys) instead of an action's: ``frozenset()`` lets a human drive, or
        waits while the autopilot is off, with the capture, reward and time limits going on as usual."""
        if self.keyboard is None:
            raise RuntimeError("call reset() before step()")
        if keys and self._observe_only:
            raise ValueError(f"an observe-only env sends no keys, got {sorted(keys)}")
        assert self.frames is not None and self._reward is not None
        t0 = time.perf_counter()
        agent_ms = (t0 - self._obs_time) * 1000.0  # the caller's turn: its decision and whatever else it did
        sent = self.keyboard.apply(keys)
        t1 = time.perf_counter()
        frame = self._read()
        t2 = time.perf_counter()
        reading = self._reward.poll(frame.raw)
        self._steps += 1
        self._since_progress = 0 if reading.reward > 0 else self._since_progress + 1
        truncated = (self._max_steps is not None and self._steps >= self._max_steps) or (
            self._no_progress_steps is not None and self._since_progress >= self._no_progress_steps
        )
        timing = {
            "agent_ms": agent_ms,
            "send_ms": (t1 - t0) * 1000.0,
            "capture_ms": (t2 - frame.time) * 1000.0,  # from the tick to the processed frame
        }
        for name, value in timing.items():
            self.timing.add(name, value)
        self._obs_time = time.perf_counter()
        info = {
            "keys_sent": sent,
            "keys": sorted(keys),
            "timing": timing,
            "telemetry": reading.info,
            "telemetry_messages": reading.messages,
        }
        return (
            frame.obs,
            float(reading.reward),
            bool(reading.done),
            bool(truncated and not reading.done),
            info,
        )

    @property
    def last_frame(self) -> Frame | None:
        """The newest captured frame: raw pixels, and the observation in storage form (``obs_u8``)."""
        return self._last_frame

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        if self._last_frame is None:
            return np.zeros((*OBS_SHAPE[:2], 3), dtype=np.uint8)
        return np.ascontiguousarray(self._last_frame.raw[:, :, 2::-1])

    def close(self) -> None:
        try:
            if self.keyboard is not None:
                self.keyboard.close()
        finally:
            self.keyboard = None
            if self.hotkeys is not None:
                self.hotkeys.stop()
                self.hotkeys = None
            if self.frames is not None:
                self.frames.grabber.close()
                self.frames = None
            if self.claim is not None:
                self.claim.release()
                self.claim = None
            if self._reward is not None:
                self._reward.close()
                self._reward = None
            if self.game is not None:
                self.game.stop()
                self.game = None
            if self.desktop is not None:
                self.desktop.stop()
                self.desktop = None
                if self._outer_display is None:
                    os.environ.pop("DISPLAY", None)
                else:
                    os.environ["DISPLAY"] = self._outer_display
            if self.guardian is not None:  # last: everything it would clean up is cleaned up
                self.guardian.close()
                self.guardian = None
