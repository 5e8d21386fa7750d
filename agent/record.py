"""``pixelpilot record``: a person drives the game window and every step becomes a demonstration.

At the profile's fps: grab the window, read which driving keys the person holds (from the X server's key state,
so keys a test injects count like a person's), map them to an action index (:mod:`control.human`), take the
reward from the profile's source, and append (frame, action, reward, time, keys) to a Minari dataset
(:mod:`agent.demos`). The recorder sends no keys to the game.

Episode boundaries: the game says it is over (the reward source's done, or the profile's time limits), or the
person presses the profile's reset keys, or the game's telemetry starts a new episode. After an episode ends,
nothing is recorded until the next one starts.

Hotkeys (global): the profile's toggle key (default F8) pauses and resumes the recording; the discard key
(default F9) forgets the last ``discard_seconds``; the kill switch (default F12) stops and keeps what was
recorded. Ctrl-C and SIGTERM stop the same way.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np

from agent.demos import DemoWriter
from agent.profile import GameProfile, load_profile
from agent.screen_env import ScreenEnv
from control.actions import LOGICAL_KEYS
from control.hotkeys import KeyCallbacks
from control.human import action_from_keys
from control.keyboard import AgentStopped
from control.xkeys import KeyState


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


def dataset_meta(profile: GameProfile, segment_seconds: float) -> dict:
    """What a dataset records about how it was made (Minari metadata ``pixelpilot``)."""
    crop = profile.crop
    return {
        "profile": profile.name,
        "window": profile.window,
        "crop": None if crop is None else dataclasses.asdict(crop),
        "fps": profile.fps,
        "keymap": {k: profile.actions.keymap.physical(k) for k in LOGICAL_KEYS},
        "actions": list(profile.actions.names),
        "key_bits": list(LOGICAL_KEYS),
        "reward_source": profile.reward.source,
        "segment_seconds": segment_seconds,
        "pixelpilot_version": version("pixelpilot"),
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def key_bits(logical: frozenset[str]) -> int:
    return sum(1 << i for i, key in enumerate(LOGICAL_KEYS) if key in logical)


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
) -> RecordResult:
    """Record ``profile``'s window into a new dataset at ``out`` until ``max_seconds``, ``episodes`` finished
    episodes, the kill switch or ``stop``."""
    profile = profile if isinstance(profile, GameProfile) else load_profile(profile)
    if segment_seconds <= 0 or discard_seconds <= 0:
        raise ValueError(f"segment and discard seconds must be > 0, got {segment_seconds}, {discard_seconds}")
    table = profile.actions
    fps = profile.fps
    # The dataset first: a bad path or a full disk fails before any window is touched.
    writer = DemoWriter(out, table.n, dataset_meta(profile, segment_seconds), max(1, round(segment_seconds * fps)))
    result = RecordResult(Path(out))
    # The person resets the game; the recorder presses nothing.
    env = ScreenEnv(dataclasses.replace(profile, reset_keys=()), launch=launch)
    discards = []  # appended by the listener thread, consumed by the loop
    discard_listener = KeyCallbacks({discard_key: lambda: discards.append(round(discard_seconds * fps))})
    key_state: KeyState | None = None
    to_logical = table.keymap.logical()
    reset_physical = frozenset(profile.reset_keys)
    try:
        env.reset()
        key_state = KeyState(table.managed_keys | reset_physical)  # after reset: the env has chosen the display
        discard_listener.start()
        started = time.monotonic()
        t0 = env.last_frame.time if env.last_frame is not None else time.perf_counter()

        def frame_now() -> np.ndarray:
            assert env.last_frame is not None
            return env.last_frame.obs_u8

        writer.begin(frame_now())
        result.episodes = 1
        state = "recording"  # or "paused", "waiting" (for the next episode)
        held = frozenset(to_logical[k] for k in key_state.pressed() if k in to_logical)
        pressed_before = key_state.pressed()
        episode_id = None
        steps = 0
        while stop is None or not stop.is_set():
            if max_seconds is not None and time.monotonic() - started >= max_seconds:
                break
            _, reward, terminated, truncated, info = env.step_keys(frozenset())
            pressed = key_state.pressed()
            reset_now = bool((pressed - pressed_before) & reset_physical)
            pressed_before = pressed
            telemetry_episode = info["telemetry"].get("episode")
            new_episode = reset_now or (episode_id is not None and telemetry_episode != episode_id)
            episode_id = telemetry_episode
            paused = env.hotkeys is not None and not env.hotkeys.autopilot
            while discards:
                result.discarded += writer.discard(discards.pop())
            if state == "waiting" and not new_episode:
                pass
            elif new_episode:
                if episodes is not None and result.episodes >= episodes:
                    break
                env.reset()  # the env's own episode counters; presses nothing
                writer.begin(frame_now())
                result.episodes += 1
                state = "paused" if paused else "recording"
            elif paused:
                if state == "recording":
                    writer.cut()
                state = "paused"
                result.paused_steps += 1
            else:
                if state == "paused":
                    writer.begin(frame_now(), new_episode=False)
                    state = "recording"
                else:
                    action = action_from_keys(held, table)
                    result.idle_steps += action is None
                    assert env.last_frame is not None
                    writer.step(action, reward, frame_now(), env.last_frame.time - t0, key_bits(held),
                                terminated=terminated, truncated=truncated)  # fmt: skip
                    if terminated or truncated:
                        state = "waiting"
                        if episodes is not None and result.episodes >= episodes:
                            break
            held = frozenset(to_logical[k] for k in pressed if k in to_logical)
            steps += 1
            if status is not None and steps % 15 == 0:
                status(_status_line(state, held, result.episodes, writer.kept_steps, time.monotonic() - started))
    except AgentStopped as exc:
        result.stopped = str(exc)
    finally:
        try:
            writer.close()
        finally:
            discard_listener.stop()
            if key_state is not None:
                key_state.close()
            env.close()
    result.steps = writer.kept_steps
    result.segments = writer.segments
    result.seconds = result.steps / fps
    return result


def _status_line(state: str, held: frozenset[str], episode: int, kept: int, elapsed: float) -> str:
    keys = "+".join(k for k in LOGICAL_KEYS if k in held) or "-"
    return f"{state:9} | {elapsed:6.1f} s | {kept:6d} steps written | episode {episode} | keys {keys}"
