"""``pixelpilot record``: a person drives the game window and every step becomes a demonstration.

At the profile's fps: grab the window, read which driving keys the person holds (from the X server's key state,
so keys a test injects count like a person's), map them to an action index (:mod:`control.human`), take the
reward from the profile's source, and append (frame, action, reward, time, keys) to a Minari dataset
(:mod:`agent.demos.writer`). The recorder sends no keys to the game.

Episode boundaries: the game says it is over (the reward source's done, or the profile's time limits), or a
new one begins: the game's telemetry numbers a new episode or, for a game without that telemetry, the person
presses the profile's reset keys. (Where the telemetry numbers episodes, a reset key press and the number's
change are one event, often seen a step apart: counting both made two episodes of one.) After an episode
ends, nothing is recorded until the next one starts.

Hotkeys (global): the profile's toggle key (default F8) pauses and resumes the recording; the discard key
(default F9) forgets the last ``discard_seconds``; the kill switch (default F12) stops and keeps what was
recorded. Ctrl-C and SIGTERM stop the same way. Another thread (the control panel) does the same through a
:class:`RecordControl`, and reads the live :class:`RecordProgress` from it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agent.drive.session import Session, human_action, recording
from agent.envs.profile import GameProfile
from control.actions import LOGICAL_KEYS, ActionTable
from control.hotkeys import KeyCallbacks
from control.keyboard import AgentStopped


@dataclass
class RecordResult:
    path: Path
    steps: int = 0
    """steps written (after discards)"""
    episodes: int = 0
    """game episodes begun"""
    segments: int = 0
    discarded: int = 0
    paused_steps: int = 0
    idle_steps: int = 0
    """steps where the held keys were no action of the table"""
    seconds: float = 0.0
    stopped: str | None = None
    """why recording ended before its limit (the kill switch), else None"""
    actions: dict[str, int] = field(default_factory=dict)
    """kept steps per action name, read back from the dataset written"""
    missing_keys: list[str] = field(default_factory=list)
    """the profile's driving keys that no kept step held (logical names): a key that is never recorded is one
    the clone can never press"""


@dataclass(frozen=True)
class RecordProgress:
    """What a running recording has written so far (kept steps: discarded ones are taken out)."""

    state: str = "starting"
    """recording, paused, waiting (for the next episode) or starting"""
    steps: int = 0
    seconds: float = 0.0
    """recorded time: kept steps / fps"""
    elapsed: float = 0.0
    episodes: int = 0
    discarded: int = 0
    actions: tuple[int, ...] = ()
    """kept steps per action index"""
    idle: int = 0
    """kept steps with no action held"""
    keys: frozenset[str] = frozenset()
    """logical driving keys held"""


class RecordControl:
    """Another thread's hand on a running :func:`record`: the toggle and discard hotkeys as calls, and the live
    :class:`RecordProgress` (replaced whole every step, so a reader never sees a half-updated one)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paused = False
        self._discards: list[float] = []
        self.progress = RecordProgress()
        self._kept: list[int] = []  # the action (-1: idle) of every kept step, to count them again after a discard
        self._counts: dict[int, int] = {}

    def toggle_pause(self) -> None:
        """Pause or resume, as the toggle hotkey does (either one flips the state)."""
        with self._lock:
            self._paused = not self._paused

    @property
    def paused(self) -> bool:
        return self._paused

    def discard(self, seconds: float) -> None:
        """Forget the last ``seconds`` of the current game episode, as the discard hotkey does."""
        if seconds <= 0:
            raise ValueError(f"discard seconds must be > 0, got {seconds}")
        with self._lock:
            self._discards.append(seconds)

    def _take_discards(self) -> list[float]:
        with self._lock:
            taken, self._discards = self._discards, []
        return taken

    def _stepped(self, action: int | None) -> None:
        key = -1 if action is None else action
        self._kept.append(key)
        self._counts[key] = self._counts.get(key, 0) + 1

    def _forgot(self, steps: int) -> None:
        for _ in range(steps):
            key = self._kept.pop()
            self._counts[key] -= 1

    def _publish(self, state: str, result: RecordResult, fps: float, elapsed: float, n_actions: int,
                 held: frozenset[str]) -> None:  # fmt: skip
        kept = len(self._kept)  # the writer's count leaves out its unwritten segment
        actions = tuple(self._counts.get(a, 0) for a in range(n_actions))
        self.progress = RecordProgress(state, kept, kept / fps, elapsed, result.episodes, result.discarded, actions,
                                       self._counts.get(-1, 0), held)  # fmt: skip


def record(
    profile: str | Path | GameProfile,
    out: str | Path,
    max_seconds: float | None = None,
    episodes: int | None = None,
    segment_seconds: float = 5.0,
    discard_seconds: float = 5.0,
    discard_key: str = "f9",
    launch: bool = True,
    status: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
    control: RecordControl | None = None,
    raw_frames: bool = False,
) -> RecordResult:
    """Record ``profile``'s window into a new dataset at ``out`` until ``max_seconds``, ``episodes`` finished
    episodes, the kill switch or ``stop``. ``control``: pause, resume and discard from another thread, and
    read the progress there."""
    if segment_seconds <= 0 or discard_seconds <= 0:
        raise ValueError(f"segment and discard seconds must be > 0, got {segment_seconds}, {discard_seconds}")
    # The person resets the game; the recorder presses nothing and leaves the window to whoever drives it.
    session = Session(profile, launch=launch, observe_only=True, max_seconds=max_seconds, stop=stop)
    env, table, fps = session.env, session.profile.actions, session.profile.fps
    # The dataset first: a bad path or a full disk fails before any window is touched.
    writer = recording(session.profile, out, segment_seconds, raw_frames)
    result = RecordResult(Path(out))
    discards = []  # appended by the listener thread, consumed by the loop
    # A reset key is heard as a press event, not looked for in the key state once a step: a late step would miss
    # a tap shorter than the step (a person's quick Enter, a driver's one-step press) and the whole race with it.
    reset_heard = threading.Event()  # set by the listener's thread, taken by the loop
    callbacks = {key: reset_heard.set for key in session.profile.reset_keys}
    callbacks[discard_key] = lambda: discards.append(round(discard_seconds * fps))
    listener = KeyCallbacks(callbacks)
    try:
        session.start()
        listener.start()
        t0 = env.last_frame.time if env.last_frame is not None else time.perf_counter()

        def frame_now() -> np.ndarray:
            assert env.last_frame is not None
            return env.last_frame.obs_u8

        def raw_now() -> np.ndarray | None:
            assert env.last_frame is not None
            return env.last_frame.raw if raw_frames else None

        writer.begin(frame_now(), raw=raw_now())
        result.episodes = 1
        state = "recording"  # or "paused", "waiting" (for the next episode)
        held = session.logical(session.pressed())
        episode_id = None
        steps = 0
        while session.running():
            _, reward, terminated, truncated, info = env.step_keys(frozenset())
            pressed = session.pressed()
            reset_now = reset_heard.is_set()
            if reset_now:
                reset_heard.clear()  # a press after is_set() joins this one: one new episode either way
            telemetry_episode = info["telemetry"].get("episode")
            if telemetry_episode is None:
                new_episode = reset_now
            else:
                new_episode = episode_id is not None and telemetry_episode != episode_id
            episode_id = telemetry_episode
            paused = (env.hotkeys is not None and not env.hotkeys.autopilot) != (control is not None and control.paused)
            if control is not None:
                discards.extend(round(seconds * fps) for seconds in control._take_discards())
            while discards:
                forgotten = writer.discard(discards.pop())
                result.discarded += forgotten
                if control is not None:
                    control._forgot(forgotten)
            if state == "waiting" and not new_episode:
                pass
            elif new_episode:
                if episodes is not None and result.episodes >= episodes:
                    break
                env.reset()  # the env's own episode counters; presses nothing
                writer.begin(frame_now(), raw=raw_now())
                result.episodes += 1
                state = "paused" if paused else "recording"
            elif paused:
                if state == "recording":
                    writer.cut()
                state = "paused"
                result.paused_steps += 1
            else:
                if state == "paused":
                    writer.begin(frame_now(), new_episode=False, raw=raw_now())
                    state = "recording"
                else:
                    action, bits = human_action(session, held)
                    result.idle_steps += action is None
                    assert env.last_frame is not None
                    writer.step(action, reward, frame_now(), env.last_frame.time - t0, bits,
                                terminated=terminated, truncated=truncated, raw=raw_now())  # fmt: skip
                    if control is not None:
                        control._stepped(action)
                    if terminated or truncated:
                        state = "waiting"
                        if episodes is not None and result.episodes >= episodes:
                            break
            held = session.logical(pressed)
            steps += 1
            if control is not None:
                control._publish(state, result, fps, session.elapsed, table.n, held)
            if status is not None and steps % 15 == 0:
                status(_status_line(state, held, result.episodes, writer.kept_steps, session.elapsed))
    except AgentStopped as exc:
        result.stopped = str(exc)
    finally:
        try:
            writer.close()
            writer.remove_if_empty()
        finally:
            listener.stop()
            session.close()
    result.steps = writer.kept_steps
    result.segments = writer.segments
    result.seconds = result.steps / fps
    if result.segments:
        _histogram(result, table, writer.action_counts())
    return result


def _histogram(result: RecordResult, table: ActionTable, counts: np.ndarray) -> None:
    """The kept actions of the dataset just written, and the driving keys none of them holds."""
    result.actions = {name: int(count) for name, count in zip(table.names, counts, strict=True)}
    held = {key for action, name in enumerate(table.names) if result.actions.get(name) for key in table.keys(action)}
    result.missing_keys = [k for k in LOGICAL_KEYS if table.keymap.physical(k) not in held]


def _status_line(state: str, held: frozenset[str], episode: int, kept: int, elapsed: float) -> str:
    keys = "+".join(k for k in LOGICAL_KEYS if k in held) or "-"
    return f"{state:9} | {elapsed:6.1f} s | {kept:6d} steps written | episode {episode} | keys {keys}"
