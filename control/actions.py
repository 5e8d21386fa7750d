"""The action table: action index → the full set of keys held during that step.

The seven actions are fixed by the design; which physical keys they use comes from the game profile's
key map (arrows + x by default, WASD or anything else by profile). A profile may add an eighth action,
"no keys", at index 7.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, fields

from control.keys import parse_key

# Logical keys of a racing game, and the actions as sets of logical keys.
LOGICAL_KEYS = ("left", "right", "up", "down", "turbo")
ACTIONS: tuple[frozenset[str], ...] = (
    frozenset({"left"}),
    frozenset({"right"}),
    frozenset({"up"}),
    frozenset({"left", "up"}),
    frozenset({"right", "up"}),
    frozenset({"down"}),
    frozenset({"up", "turbo"}),
)
ACTION_NAMES = ("left", "right", "up", "left+up", "right+up", "down", "up+x")
NOOP = frozenset[str]()
NOOP_NAME = "none"


def key_bits(logical: frozenset[str]) -> int:
    """Held logical keys as the bit mask a dataset stores (bit i: ``LOGICAL_KEYS[i]``)."""
    return sum(1 << i for i, key in enumerate(LOGICAL_KEYS) if key in logical)


@dataclass(frozen=True)
class KeyMap:
    """Physical key name for each logical key."""

    left: str = "left"
    right: str = "right"
    up: str = "up"
    down: str = "down"
    turbo: str = "x"

    def __post_init__(self) -> None:
        physical: dict[str, str] = {}
        for f in fields(self):
            key = parse_key(getattr(self, f.name))
            if key in physical:
                raise ValueError(f"keys {physical[key]!r} and {f.name!r} are both mapped to {key!r}")
            physical[key] = f.name
            object.__setattr__(self, f.name, key)

    def physical(self, logical: str) -> str:
        return getattr(self, logical)

    def logical(self) -> dict[str, str]:
        """Physical key → logical key."""
        return {getattr(self, name): name for name in LOGICAL_KEYS}


@dataclass(frozen=True)
class ActionTable:
    """The actions an agent chooses from, with their physical keys."""

    keymap: KeyMap = KeyMap()
    noop: bool = False

    @property
    def n(self) -> int:
        return len(ACTIONS) + (1 if self.noop else 0)

    @property
    def names(self) -> tuple[str, ...]:
        return ACTION_NAMES + ((NOOP_NAME,) if self.noop else ())

    @property
    def managed_keys(self) -> frozenset[str]:
        """Every physical key the agent may hold: all of them are released when it stops."""
        return frozenset(self.keymap.physical(k) for k in LOGICAL_KEYS)

    def logical_keys(self, action: int) -> frozenset[str]:
        try:
            index = operator.index(action)
        except TypeError:
            index = -1
        if not 0 <= index < self.n:
            raise ValueError(f"action must be an integer in 0..{self.n - 1}, got {action!r}")
        return ACTIONS[index] if index < len(ACTIONS) else NOOP

    def keys(self, action: int) -> frozenset[str]:
        """Physical keys held while ``action`` is taken; every other managed key is released."""
        return frozenset(self.keymap.physical(k) for k in self.logical_keys(action))
