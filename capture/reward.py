"""Reward sources for screen games: where the number the agent maximises comes from.

A source is polled once per environment step with the window's newest raw frame (BGRA, the whole client
area; sources that read the screen use it, others ignore it) and answers with the reward since the last
poll, whether the game says the episode is over, and what it knows of the game for ``info``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from capture.telemetry import TelemetryReceiver, is_number


@dataclass
class RewardReading:
    reward: float = 0.0
    done: bool = False
    info: dict[str, Any] = field(default_factory=dict)  # the newest state the source knows
    messages: list[dict[str, Any]] = field(default_factory=list)  # every telemetry message since the last poll


class RewardSource(Protocol):
    def reset(self, expect_new_episode: bool) -> None:
        """Start a new episode. With ``expect_new_episode`` messages from the old one are ignored."""
        ...

    def ready(self) -> bool:
        """True once the source has heard from the current episode (always true for sources without data)."""
        ...

    def poll(self, frame: np.ndarray) -> RewardReading:
        """Reward and game state since the previous poll; ``frame`` is the window's raw BGRA frame."""
        ...

    def close(self) -> None: ...


class NoReward:
    """For play and recording only: reward 0, and the game never says it is done."""

    def reset(self, expect_new_episode: bool) -> None:
        pass

    def ready(self) -> bool:
        return True

    def poll(self, frame: np.ndarray) -> RewardReading:
        return RewardReading()

    def close(self) -> None:
        pass


class TelemetryReward:
    """Reward = change in the game's reported ``score``, minus ``penalties[field]`` for each unit a counter the game
    reports (``crashes``) grew by; ``done`` from the game's ``done`` flag.

    Penalties are for games whose score does not say what the driver should avoid: NeonRace's score only counts
    distance, so a crash costs its lost seconds and nothing more, where the in-process environment's
    ``crash_penalty`` charges it too. A change of the ``episode`` field means the game restarted: the score and
    counter baselines go back to 0. After a reset that expects a new episode, messages still tagged with the old
    episode id are dropped, so a stale ``done`` cannot end the new episode.
    """

    def __init__(self, port: int, scale: float = 1.0, penalties: dict[str, float] | None = None) -> None:
        if not math.isfinite(scale) or scale == 0:
            raise ValueError(f"reward scale must be a finite non-zero number, got {scale!r}")
        self.penalties = dict(penalties or {})
        for name, penalty in self.penalties.items():
            if not math.isfinite(penalty) or penalty < 0:
                raise ValueError(f"penalty for {name!r} must be a finite number >= 0, got {penalty!r}")
        self.receiver = TelemetryReceiver(port)
        self.scale = scale
        self._episode: Any = None
        self._stale: Any = None
        self._score = 0.0
        self._counters = dict.fromkeys(self.penalties, 0.0)
        self._latest: dict[str, Any] = {}
        self._pending = 0.0  # reward heard by ready() and not yet handed out by poll()
        self._messages: list[dict[str, Any]] = []  # messages heard and not yet handed out by poll()

    def reset(self, expect_new_episode: bool) -> None:
        self._accept(self.receiver.drain(), 0.0)
        self._pending = 0.0
        self._messages = []
        self._stale = self._episode if expect_new_episode else None
        if not expect_new_episode:
            self._latest.pop("done", None)

    def ready(self) -> bool:
        self._pending = self._accept(self.receiver.drain(), self._pending)
        return self._episode is not None and self._episode != self._stale

    def poll(self, frame: np.ndarray) -> RewardReading:
        reward = self._accept(self.receiver.drain(), self._pending)
        messages, self._messages = self._messages, []
        self._pending = 0.0
        return RewardReading(reward * self.scale, bool(self._latest.get("done", False)), dict(self._latest), messages)

    def _accept(self, messages: list[dict[str, Any]], reward: float) -> float:
        """Fold messages into the state; returns ``reward`` plus the score gained in them."""
        for msg in messages:
            episode = msg.get("episode")
            if self._stale is not None and episode == self._stale:
                continue
            self._messages.append(msg)
            self._stale = None
            if episode != self._episode:
                self._episode = episode
                self._score = 0.0
                self._counters = dict.fromkeys(self.penalties, 0.0)
            score = msg.get("score")
            if is_number(score):
                reward += score - self._score
                self._score = float(score)
            for name, penalty in self.penalties.items():
                count = msg.get(name)
                if is_number(count):
                    reward -= penalty * max(0.0, count - self._counters[name])
                    self._counters[name] = float(count)
            self._latest = msg
        return reward

    def close(self) -> None:
        self.receiver.close()
