"""``pixelpilot play``: a trained pilot drives a real game window through the screen loop.

Every step at the profile's fps: grab and preprocess the window, run the model (deterministic action), hold the
action's keys. Control goes back and forth between the pilot and the person at the keyboard:

- the autopilot toggle (default F8) pauses and resumes the pilot; paused, it holds no keys;
- when a driving key is down that the pilot does not hold, a human is driving: the pilot lets go of every key
  at once and takes over again after ``quiet_seconds`` without such a key (a human holding the very key the
  pilot holds is indistinguishable from the pilot, and is not seen);
- the kill switch (default F12) stops it; every key is released on every way out (see ``Keyboard``).

A console line shows who drives, the action, fps and the decision latency. Another thread (the control panel)
gets the same through a :class:`PlayControl`: the autopilot toggle and the kill switch as calls, and the live
:class:`PlayProgress`, the policy's probabilities included.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agent.drive.session import Session, human_action, recording
from agent.envs.profile import GameProfile
from agent.envs.screen import ScreenEnv
from agent.policy.pilot import Pilot
from capture.timing import TimingStats
from control.hotkeys import Hotkeys
from control.keyboard import AgentStopped, Keyboard


@dataclass
class PlayResult:
    steps: int = 0
    episodes: list[float] = field(default_factory=list)
    """the return of each finished episode"""
    pilot_steps: int = 0
    human_steps: int = 0
    paused_steps: int = 0
    stopped: str | None = None
    """why play ended early (the kill switch), else None"""
    timing: TimingStats = field(default_factory=TimingStats)
    fps: float = 0.0
    overrides_recorded: int = 0
    """steps of human driving written to the ``record_overrides`` dataset"""


@dataclass(frozen=True)
class PlayProgress:
    """What a running :func:`play` is doing, as of its last step."""

    driver: str = "starting"
    """pilot, human, paused or starting"""
    label: str = "-"
    """the pilot's action name, or the keys of the human driving"""
    action: int | None = None
    """the pilot's last decision (None before the first)"""
    probs: tuple[float, ...] = ()
    """the policy's probabilities at that decision"""
    steps: int = 0
    pilot_steps: int = 0
    human_steps: int = 0
    paused_steps: int = 0
    episodes: int = 0
    """episodes finished"""
    fps: float = 0.0
    """over the last two seconds or so"""
    decide_p50: float = math.nan
    decide_p99: float = math.nan
    """decision latency (ms) over the last 1000 decisions"""
    seen: np.ndarray | None = None
    """what the pilot sees: the latest observation frame, uint8 (128, 200)"""


class PlayControl:
    """Another thread's hand on a running :func:`play`: the autopilot toggle and the kill switch as calls, and
    the live :class:`PlayProgress` (replaced whole every step, so a reader never sees a half-updated one)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._toggled = False
        self._kill_reason: str | None = None
        self._keyboard: Keyboard | None = None
        self._hotkeys: Hotkeys | None = None
        self.progress = PlayProgress()

    def toggle_autopilot(self) -> None:
        """Turn the autopilot off or on, as the toggle hotkey does (either one flips the state)."""
        with self._lock:
            self._toggled = not self._toggled

    @property
    def autopilot(self) -> bool:
        """The effective state: the hotkey's, flipped by every :meth:`toggle_autopilot`."""
        hotkeys = self._hotkeys
        return (hotkeys.autopilot if hotkeys is not None else True) != self._toggled

    def kill(self, reason: str = "kill switch pressed") -> None:
        """The kill switch: every key released now and play ends (before it drives, when it has not yet)."""
        with self._lock:
            self._kill_reason = reason
            keyboard = self._keyboard
        if keyboard is not None:
            keyboard.stop(reason)

    def _attach(self, keyboard: Keyboard, hotkeys: Hotkeys | None) -> None:
        with self._lock:
            self._keyboard, self._hotkeys = keyboard, hotkeys
            reason = self._kill_reason
        if reason is not None:
            keyboard.stop(reason)


def play(
    profile: str | Path | GameProfile,
    checkpoint: str | Path,
    episodes: int | None = None,
    max_seconds: float | None = None,
    quiet_seconds: float = 1.0,
    launch: bool = True,
    status: Callable[[str], None] | None = None,
    record_overrides: str | Path | None = None,
    stop: threading.Event | None = None,
    control: PlayControl | None = None,
) -> PlayResult:
    """Drive ``profile``'s window with ``checkpoint``'s policy for ``episodes`` episodes (None: until stopped)
    or ``max_seconds``, or until ``stop`` is set. ``status`` receives the console line every few steps.
    ``record_overrides``: a new dataset where every stretch a human drives is recorded as a demonstration
    (learning from corrections). ``control``: the autopilot and kill switch from another thread, and the live
    progress there."""
    session = Session(profile, launch=launch, max_seconds=max_seconds, stop=stop)
    env = session.env
    result = PlayResult()
    overrides = None
    if record_overrides is not None:
        overrides = recording(env.profile, record_overrides, 5.0, source="play --record-overrides")
    try:
        pilot = Pilot(checkpoint, env)
        managed = env.profile.actions.managed_keys
        names = env.profile.actions.names
        obs, _ = session.start()
        assert env.keyboard is not None
        if control is not None:
            control._attach(env.keyboard, env.hotkeys)
        human_until = 0.0
        episode_return = 0.0
        recording_now = False  # a human override being written to ``overrides``
        action: int | None = None
        ticks: deque[float] = deque(maxlen=2 * round(env.profile.fps) + 1)  # step times, for a recent fps
        while (episodes is None or len(result.episodes) < episodes) and session.running():
            if control is not None:
                autopilot = control.autopilot
            else:
                autopilot = env.hotkeys.autopilot if env.hotkeys is not None else True
            human = (session.pressed() & managed) - env.keyboard.held
            if human:
                human_until = time.monotonic() + quiet_seconds
            keys: frozenset[str] = frozenset()
            if not autopilot:
                driver, label = "paused", "-"
                result.paused_steps += 1
            elif human or time.monotonic() < human_until:
                driver, label = "human", "+".join(sorted(human)) or "-"
                result.human_steps += 1
                if overrides is not None:
                    if not recording_now:
                        overrides.begin(_frame(env))
                        recording_now = True
                    correction, correction_keys = human_action(session, session.logical(human))
            else:
                t0 = time.perf_counter()
                action = pilot.act(obs)
                result.timing.add("decide_ms", (time.perf_counter() - t0) * 1000.0)
                driver, keys, label = "pilot", env.profile.actions.keys(action), names[action]
                result.pilot_steps += 1
            if driver != "human" and recording_now and overrides is not None:
                overrides.cut()
                recording_now = False
            obs, reward, terminated, truncated, info = env.step_keys(keys)
            if driver == "human" and overrides is not None:
                overrides.step(correction, reward, _frame(env), session.elapsed, correction_keys,
                               terminated=terminated, truncated=truncated)  # fmt: skip
                recording_now = not (terminated or truncated)
            result.steps += 1
            episode_return += reward
            if status is not None and result.steps % 5 == 0:
                status(_status_line(driver, label, result, session.elapsed, info))
            if control is not None:
                ticks.append(time.monotonic())
                control.progress = _progress(driver, label, action, pilot, result, ticks, _frame(env))
            if terminated or truncated:
                result.episodes.append(episode_return)
                episode_return = 0.0
                if episodes is None or len(result.episodes) < episodes:
                    obs, _ = env.reset()
                    pilot.reset()
        result.fps = result.steps / max(session.elapsed, 1e-9)
    except AgentStopped as exc:
        result.stopped = str(exc)
    finally:
        try:
            if overrides is not None:
                overrides.close()
                result.overrides_recorded = overrides.kept_steps
        finally:
            session.close()
    return result


def _progress(driver: str, label: str, action: int | None, pilot: Pilot, result: PlayResult,
              ticks: deque[float], seen: np.ndarray | None) -> PlayProgress:  # fmt: skip
    decide = result.timing.summary().get("decide_ms", {})
    span = ticks[-1] - ticks[0]
    return PlayProgress(
        driver=driver,
        label=label,
        action=action,
        probs=() if pilot.probs is None else tuple(pilot.probs.tolist()),
        steps=result.steps,
        pilot_steps=result.pilot_steps,
        human_steps=result.human_steps,
        paused_steps=result.paused_steps,
        episodes=len(result.episodes),
        fps=(len(ticks) - 1) / span if span > 0 else 0.0,
        decide_p50=decide.get("p50", math.nan),
        decide_p99=decide.get("p99", math.nan),
        seen=seen,
    )


def _frame(env: ScreenEnv) -> np.ndarray:
    assert env.last_frame is not None
    return env.last_frame.obs_u8


def _status_line(driver: str, label: str, result: PlayResult, elapsed: float, info: dict) -> str:
    decide = result.timing.summary().get("decide_ms", {})
    p50, p99 = decide.get("p50", float("nan")), decide.get("p99", float("nan"))
    score = info.get("telemetry", {}).get("score")
    return (
        f"{driver:6} {label:10} | {result.steps / max(elapsed, 1e-9):5.1f} fps | decide p50 {p50:4.1f} ms "
        f"p99 {p99:4.1f} ms | episode {len(result.episodes) + 1}" + (f" score {score}" if score is not None else "")
    )
