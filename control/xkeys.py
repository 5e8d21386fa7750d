"""Which keys the X server itself holds down: the ground truth for "no key stays pressed"."""

from __future__ import annotations

from collections.abc import Iterable

from control.keys import SPECIAL_KEYS, parse_key

# Canonical names whose X keysym name is not the name with a capital first letter.
_KEYSYMS = {
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
    "alt_gr": "ISO_Level3_Shift",
    "caps_lock": "Caps_Lock",
    "num_lock": "Num_Lock",
    "scroll_lock": "Scroll_Lock",
    "print_screen": "Print",
}


def keysym_name(key: str) -> str:
    key = parse_key(key)
    if key in _KEYSYMS:
        return _KEYSYMS[key]
    if key in SPECIAL_KEYS:
        return key[0].upper() + key[1:]  # left → Left, f12 → F12, shift_l → Shift_l is fixed below
    return key


class KeyState:
    """Reads which of ``keys`` the X server holds down, over one connection kept open (for a loop that asks
    every step: opening a connection costs milliseconds)."""

    def __init__(self, keys: Iterable[str], display_name: str | None = None) -> None:
        from Xlib import XK, display

        self._display = display.Display(display_name)
        self._codes: dict[str, int] = {}
        for key in keys:
            name = keysym_name(key)
            if name.endswith(("_l", "_r")):
                name = name[:-1] + name[-1].upper()
            code = self._display.keysym_to_keycode(XK.string_to_keysym(name))
            if code:
                self._codes[key] = code

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
