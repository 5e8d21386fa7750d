"""Global hotkeys: the kill switch (default F12) and the autopilot toggle (default F8).

They are heard through a global keyboard listener (pynput; XRecord on X11), so they work whichever window
has the focus. Callbacks run on the listener's thread: keep them short (``Keyboard.stop`` is).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from control.keys import parse_key
from control.listener import GlobalKeyListener


class Hotkeys(GlobalKeyListener):
    def __init__(
        self,
        kill: str = "f12",
        toggle: str = "f8",
        on_kill: Callable[[], None] | None = None,
        on_toggle: Callable[[bool], None] | None = None,
        autopilot: bool = True,
    ) -> None:
        self.kill_key = parse_key(kill)
        self.toggle_key = parse_key(toggle)
        if self.kill_key == self.toggle_key:
            raise ValueError(f"the kill switch and the autopilot toggle are both {self.kill_key!r}")
        self.killed = threading.Event()
        self.autopilot = autopilot
        self._on_kill = on_kill
        self._on_toggle = on_toggle

    def on_key(self, name: str | None, pressed: bool) -> None:
        if not pressed:
            return
        if name == self.kill_key:
            self.killed.set()
            if self._on_kill is not None:
                self._on_kill()
        elif name == self.toggle_key:
            self.autopilot = not self.autopilot
            if self._on_toggle is not None:
                self._on_toggle(self.autopilot)


class KeyCallbacks(GlobalKeyListener):
    """Calls a function when one of some keys is pressed, whichever window has the focus (e.g. the recorder's
    "discard the last seconds" key). Callbacks run on the listener's thread."""

    def __init__(self, callbacks: dict[str, Callable[[], None]]) -> None:
        self._callbacks = {parse_key(key): callback for key, callback in callbacks.items()}

    def on_key(self, name: str | None, pressed: bool) -> None:
        callback = self._callbacks.get(name or "")
        if pressed and callback is not None:
            callback()
