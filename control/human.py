"""What a person is doing on the keyboard, as an action index (for recording demos and human override).

People hold key combinations the table does not have. They map like this, in order:

1. ``left`` and ``right`` together cancel: no steering.
2. ``down`` wins over ``up`` and ``turbo`` → ``down`` (5); steering is dropped, the table has no brake+steer.
3. ``turbo`` means accelerate too: ``turbo`` alone or with ``up`` → ``up+x`` (6); with steering, steering wins
   → ``left+up`` (3) / ``right+up`` (4).
4. steering with ``up`` → 3 / 4; steering alone → ``left`` (0) / ``right`` (1); ``up`` alone → 2.
5. nothing held → the table's "no keys" action when it has one, else ``None`` (no action to record).

Keys that are not in the profile's key map are ignored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from control.actions import ACTIONS, ActionTable
from control.listener import GlobalKeyListener


def action_from_keys(held: frozenset[str] | set[str], table: ActionTable) -> int | None:
    """Action index for a set of held *logical* keys (see the module docstring for the rules)."""
    steer = {"left", "right"} & held
    if len(steer) == 2:
        steer = set()
    if "down" in held:
        wanted = frozenset({"down"})
    elif steer and {"up", "turbo"} & held:
        wanted = frozenset(steer | {"up"})
    elif "turbo" in held:
        wanted = frozenset({"up", "turbo"})
    elif "up" in held:
        wanted = frozenset({"up"})
    elif steer:
        wanted = frozenset(steer)
    else:
        return len(ACTIONS) if table.noop else None
    return ACTIONS.index(wanted)


class HumanKeys(GlobalKeyListener):
    """Tracks which of the profile's keys a person holds, via a global keyboard listener.

    The listener runs in its own thread (pynput); ``held()`` and ``action()`` may be called from any thread.
    ``on_change`` is called from the listener thread with the new set of held logical keys.
    """

    def __init__(self, table: ActionTable, on_change: Callable[[frozenset[str]], None] | None = None) -> None:
        self.table = table
        self._physical_to_logical = table.keymap.logical()
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._on_change = on_change

    def held(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._held)

    def action(self) -> int | None:
        return action_from_keys(self.held(), self.table)

    def on_key(self, name: str | None, pressed: bool) -> None:
        logical = self._physical_to_logical.get(name or "")
        if logical is None:
            return
        with self._lock:
            before = frozenset(self._held)
            if pressed:
                self._held.add(logical)
            else:
                self._held.discard(logical)
            after = frozenset(self._held)
        if after != before and self._on_change is not None:
            self._on_change(after)
