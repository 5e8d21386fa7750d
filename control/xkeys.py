"""Which keys the X server itself holds down: the ground truth for "no key stays pressed"."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from capture.errors import PixelpilotError
from control.keys import SPECIAL_KEYS, parse_key

# Canonical names whose X keysym name is not the name with a capital first letter: the keysyms pynput presses for
# them (tests/test_xkeys.py sends each key and reads it back).
_KEYSYMS = {
    "space": "space",
    "enter": "Return",
    "esc": "Escape",
    "backspace": "BackSpace",
    "page_up": "Prior",
    "page_down": "Next",
    "shift": "Shift_L",
    "ctrl": "Control_L",
    "ctrl_l": "Control_L",
    "ctrl_r": "Control_R",
    "alt": "Alt_L",
    "alt_gr": "Mode_switch",
    "caps_lock": "Caps_Lock",
    "num_lock": "Num_Lock",
    "scroll_lock": "Scroll_Lock",
    "print_screen": "Print",
}


def keysym(key: str) -> int:
    """The X keysym pixelpilot presses for ``key``."""
    from Xlib import XK

    key = parse_key(key)
    if key in _KEYSYMS:
        return int(XK.string_to_keysym(_KEYSYMS[key]))
    if key in SPECIAL_KEYS:  # left → Left, f12 → F12, shift_l → Shift_L
        name = key[0].upper() + key[1:]
        return int(XK.string_to_keysym(name[:-1] + name[-1].upper() if name.endswith(("_l", "_r")) else name))
    code = ord(key)  # X keysyms of Latin-1 characters are their code points; others are 0x01000000 + code point
    return code if code < 0x100 else 0x01000000 + code


def keycode(display: Any, key: str) -> int:
    """The key code of ``key`` on ``display``'s keyboard layout. A key the layout lacks is refused, by the sender
    as by the reader: pressing it would mean remapping the user's keyboard, and reading it would only ever say
    "not held"."""
    code = display.keysym_to_keycode(keysym(key))
    if not code:
        raise PixelpilotError(f"key {key!r} is not on this X keyboard layout")
    return int(code)


class KeyState:
    """Reads which of ``keys`` the X server holds down, over one connection kept open (for a loop that asks
    every step: opening a connection costs milliseconds)."""

    def __init__(self, keys: Iterable[str], display_name: str | None = None) -> None:
        from Xlib import display

        self._display = display.Display(display_name)
        try:
            self._codes = {key: keycode(self._display, key) for key in keys}
        except PixelpilotError:
            self._display.close()
            raise

    def pressed(self) -> set[str]:
        keymap = self._display.query_keymap()
        return {key for key, code in self._codes.items() if keymap[code // 8] & (1 << (code % 8))}

    def close(self) -> None:
        self._display.close()


def pressed(keys: Iterable[str], display_name: str | None = None) -> set[str]:
    """The subset of ``keys`` that the X server reports as held down right now."""
    state = KeyState(keys, display_name)
    try:
        return state.pressed()
    finally:
        state.close()
