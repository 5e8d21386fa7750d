"""The focus guard: keys go to a window only while it has the keyboard focus.

Injected key events land in whichever window is focused, so before each change of keys the keyboard asks
the window system who has the focus (one X round trip, ~0.1 ms). When another window has it, the keyboard
releases everything and sends nothing more until the target is focused again.
"""

from __future__ import annotations

from capture.windows import WindowBackend, default_backend


class FocusGuard:
    def __init__(self, handle: int, backend: WindowBackend | None = None) -> None:
        self.handle = handle
        self._backend = backend or default_backend()

    def has_focus(self) -> bool:
        return self._backend.active_handle() == self.handle
