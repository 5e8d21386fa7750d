"""What ``record`` and ``play`` share: a driving session in a game window, the keys the person at it holds, and
recording those steps into a dataset.

A :class:`Session` is the loop's frame: the screen environment, the person's keys read from the X server (so keys a
test injects count like a person's), the clock and the ways a session ends (a time limit, a stop event from another
thread, the kill switch). Each command writes its own step in between; every way out goes through :meth:`close`,
which releases every key the env holds and closes the key reader.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from agent.demos.writer import DemoWriter
from agent.envs.profile import GameProfile, load_profile
from agent.envs.screen import ScreenEnv
from control.actions import LOGICAL_KEYS, key_bits
from control.human import action_from_keys
from control.xkeys import KeyState


class Session:
    """A screen env and the person's keys, between ``start()`` and ``close()``."""

    def __init__(
        self,
        profile: str | Path | GameProfile,
        launch: bool = True,
        observe_only: bool = False,
        max_seconds: float | None = None,
        stop: threading.Event | None = None,
        render_mode: str | None = None,
    ) -> None:
        """``observe_only``: watch without sending keys or claiming the window (a recorder); ``max_seconds`` and
        ``stop``: when the session ends by itself."""
        self.profile = profile if isinstance(profile, GameProfile) else load_profile(profile)
        self.env = ScreenEnv(self.profile, launch=launch, observe_only=observe_only, render_mode=render_mode)
        self.max_seconds, self.stop = max_seconds, stop
        self._reads: KeyState | None = None
        self._to_logical = self.profile.actions.keymap.logical()
        self.started = time.monotonic()

    def start(self) -> tuple[Any, dict[str, Any]]:
        """Connect to the window (launching the game if the profile says how) and start its first episode."""
        obs, info = self.env.reset()
        # After the reset: the env has chosen the display (its own, if private) that the keys are read on.
        self._reads = KeyState(self.profile.actions.managed_keys | set(self.profile.reset_keys))
        self.started = time.monotonic()
        return obs, info

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def running(self) -> bool:
        """Whether neither the time limit nor the stop event has ended the session."""
        if self.max_seconds is not None and self.elapsed >= self.max_seconds:
            return False
        return self.stop is None or not self.stop.is_set()

    def pressed(self) -> set[str]:
        """The physical keys of the profile (driving and reset keys) the X server holds down now."""
        assert self._reads is not None, "start() first"
        return self._reads.pressed()

    def logical(self, physical: set[str] | frozenset[str]) -> frozenset[str]:
        """The driving keys (left, right, up, down, turbo) that physical keys stand for."""
        return frozenset(self._to_logical[k] for k in physical if k in self._to_logical)

    def close(self) -> None:
        try:
            if self._reads is not None:
                self._reads.close()
                self._reads = None
        finally:
            self.env.close()


def human_action(session: Session, logical: frozenset[str]) -> tuple[int | None, int]:
    """The action index that held driving keys make (None: no action of the table) and their bit mask, as a
    dataset stores them."""
    return action_from_keys(logical, session.profile.actions), key_bits(logical)


def dataset_meta(profile: GameProfile, segment_seconds: float) -> dict[str, Any]:
    """What a dataset records about how it was made (Minari metadata ``pixelpilot``)."""
    crop = profile.crop
    return {
        "profile": profile.name,
        "window": profile.window,
        "crop": None if crop is None else dataclasses.asdict(crop),
        "grey": dataclasses.asdict(profile.grey),
        "fps": profile.fps,
        "keymap": {k: profile.actions.keymap.physical(k) for k in LOGICAL_KEYS},
        "actions": list(profile.actions.names),
        "key_bits": list(LOGICAL_KEYS),
        "reward_source": profile.reward.source,
        "segment_seconds": segment_seconds,
        "minari_episodes": "segments of segment_seconds, written as the race goes so that a crash loses one at most; "
        "the segments of a race share game_episode in their episode metadata, and `pixelpilot demos export` writes "
        "a dataset with one Minari episode per race",
        "pixelpilot_version": version("pixelpilot"),
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def recording(
    profile: GameProfile, out: str | Path, segment_seconds: float, raw_frames: bool = False, **meta: Any
) -> DemoWriter:
    """A new dataset at ``out`` for ``profile``'s steps, written every ``segment_seconds``; ``meta`` is added to
    what :func:`dataset_meta` records."""
    steps = max(1, round(segment_seconds * profile.fps))
    return DemoWriter(out, profile.actions.n, dataset_meta(profile, segment_seconds) | meta, steps, raw_frames)
