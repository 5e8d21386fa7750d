"""A global keyboard listener (pynput; XRecord on X11) with a clean start and stop.

It hears keys whichever window has the focus. Callbacks run on the listener's thread.
"""

from __future__ import annotations

import contextlib
from typing import Any, Self

from control.keyboard import key_name


class GlobalKeyListener:
    """Subclasses implement ``on_key(name, pressed)``; ``name`` is canonical or None for unnamed keys."""

    _listener: Any = None

    def on_key(self, name: str | None, pressed: bool) -> None:
        raise NotImplementedError

    def start(self) -> None:
        from pynput import keyboard

        self._listener = keyboard.Listener(
            on_press=lambda key, injected=False: self.on_key(key_name(key), True),
            on_release=lambda key, injected=False: self.on_key(key_name(key), False),
        )
        self._listener.start()
        self._listener.wait()

    def stop(self) -> None:
        """Stop and wait for the listener thread, so it never outlives its X connection."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        listener.stop()
        # pynput's X11 listener asks its recording connection to stop, but that connection is blocked in the
        # listener thread until the next key event; its separate control connection delivers the request now.
        control = getattr(listener, "_display_stop", None)
        context = getattr(listener, "_context", None)
        if control is not None and context is not None:
            with contextlib.suppress(Exception):  # already stopped: the connection is closed
                control.record_disable_context(context)
                control.flush()
        listener.join(5.0)
        if listener.is_alive():
            raise RuntimeError("the keyboard listener did not stop within 5 s")

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
