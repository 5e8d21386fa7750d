"""Following a NeonRace window's game exactly, from its telemetry.

The window reports, for every tick, the keys it held; the simulation is deterministic; so replaying those
keys on a copy of the game reproduces the window's state tick for tick. The scripted expert drives the real
window this way (it needs the game's internal state), and the equivalence test renders the copy to compare
with what the screen shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from capture.errors import PixelpilotError
from control.actions import ACTION_NAMES
from games.neonrace.expert import expert_action
from games.neonrace.sim import Game

ACCELERATE = ACTION_NAMES.index("up")


class MirrorLost(PixelpilotError):
    """A tick's telemetry went missing or disagreed: the copy no longer matches the window."""


class StateMirror:
    def __init__(self) -> None:
        self.game: Game | None = None
        self.episode: Any = None

    def feed(self, messages: Iterable[dict[str, Any]]) -> None:
        """Replay the ticks in ``messages`` (the window's telemetry, oldest first)."""
        for msg in messages:
            if self.game is None or msg["episode"] != self.episode or msg["track_seed"] != self.game.track.seed:
                self.game = Game(msg["track_seed"], msg["difficulty"], msg["laps"])
                self.episode = msg["episode"]
            state = self.game.state
            if msg["tick"] == state.ticks:  # the restart message, or a repeat: nothing to replay
                continue
            if msg["tick"] != state.ticks + 1:
                raise MirrorLost(f"telemetry jumped from tick {state.ticks} to {msg['tick']}")
            self.game.tick(frozenset(msg["keys"]))
            if self.game.state.score != msg["score"]:
                raise MirrorLost(f"score {self.game.state.score} != the window's {msg['score']} at tick {msg['tick']}")


class MirroredExpert:
    """The scripted expert at the wheel of a window's game: it decides on the mirrored state, which ``feed``
    (each reset's and step's ``info`` from ``pixelpilot/Screen-v0``) keeps up to date. Before the first
    telemetry arrives it accelerates."""

    def __init__(self) -> None:
        self.mirror = StateMirror()

    def feed(self, info: dict[str, Any]) -> None:
        self.mirror.feed(info["telemetry_messages"])

    def act(self, obs: Any = None) -> int:
        game = self.mirror.game
        return expert_action(game) if game is not None else ACCELERATE
