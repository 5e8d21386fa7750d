"""Key names: the words profiles and options use for keys, checked without touching any keyboard.

A name is a special key (``left``, ``enter``, ``f12``, ...; the names of ``pynput.keyboard.Key``) or one
printable character (``x``, ``a``, ``1``). Letters are case-insensitive. Checking names needs no display,
so a profile with a typo fails at load time on any machine.
"""

from __future__ import annotations

SPECIAL_KEYS = frozenset(
    [
        "left", "right", "up", "down", "enter", "space", "tab", "esc", "backspace", "delete", "insert",
        "home", "end", "page_up", "page_down", "shift", "shift_l", "shift_r", "ctrl", "ctrl_l", "ctrl_r",
        "alt", "alt_l", "alt_r", "alt_gr", "caps_lock", "menu", "pause", "print_screen", "scroll_lock",
        "num_lock",
    ]
    + [f"f{i}" for i in range(1, 21)]
)  # fmt: skip

ALIASES = {
    "return": "enter",
    "escape": "esc",
    "control": "ctrl",
    "del": "delete",
    "pgup": "page_up",
    "pgdn": "page_down",
    "arrow_left": "left",
    "arrow_right": "right",
    "arrow_up": "up",
    "arrow_down": "down",
}


class KeyNameError(ValueError):
    """A key name that no keyboard has."""


def parse_key(name: str) -> str:
    """The canonical form of a key name; raises KeyNameError naming the bad value."""
    if not isinstance(name, str) or not name:
        raise KeyNameError(f"a key name must be a non-empty string, got {name!r}")
    if len(name) == 1:
        if not name.isprintable() or name.isspace():
            raise KeyNameError(f"unknown key name {name!r}: use 'space', 'tab', ... for whitespace keys")
        return name.lower()
    key = name.lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key not in SPECIAL_KEYS:
        raise KeyNameError(
            f"unknown key name {name!r}: use a single character or one of {', '.join(sorted(SPECIAL_KEYS))}"
        )
    return key
