"""Keyboard injection with the safety rules: full key states, only changes sent, every key released on exit.

Exit paths and what releases the keys:

- normal close or an exception in a ``with Keyboard(...)`` block: ``__exit__``;
- SIGTERM/SIGHUP: a handler (installed while a keyboard is open, from the main thread) marks every open
  keyboard as stopped and raises :class:`Terminated` (a ``SystemExit``) so the ``with`` blocks unwind and
  release. It sends no keys itself: it may have interrupted a send that holds the X connection's lock. SIGINT
  raises KeyboardInterrupt, which unwinds the same way;
- interpreter exit: an ``atexit`` hook releases whatever is still held;
- focus loss: :class:`~control.focus.FocusGuard` makes ``apply`` release everything and hold back presses;
- kill switch: :meth:`Keyboard.stop` releases at once and makes every later ``apply`` raise AgentStopped.

A process killed with SIGKILL cannot release anything: the :mod:`control.guardian` process each sender starts
does it then.
"""

from __future__ import annotations

import atexit
import logging
import signal
import threading
import time
import weakref
from collections.abc import Iterable
from types import FrameType
from typing import Any, Protocol

from capture.errors import PixelpilotError
from capture.timing import TimingStats
from control.focus import FocusGuard
from control.keys import SPECIAL_KEYS, parse_key
from control.xkeys import keycode, keysym

log = logging.getLogger(__name__)


class AgentStopped(PixelpilotError):
    """The kill switch or a termination signal stopped the agent; its keys are released."""


class Terminated(SystemExit):
    """A termination signal arrived while keys were being sent: the ``with`` blocks unwind (releasing every key)
    and the process exits with 128 + the signal's number, as a shell reports it."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signal_name = signal.Signals(signum).name


class KeySender(Protocol):
    """Sends one key event. Names are canonical (see :mod:`control.keys`)."""

    def press(self, key: str) -> None: ...

    def release(self, key: str) -> None: ...

    def close(self) -> None: ...


class PynputSender:
    """Key events through pynput's XTest path, to whichever window has the keyboard focus.

    Every key, characters included, goes through XTest as a key code, exactly like a physical keyboard:
    pynput would send characters as synthetic XSendEvent events, which many games ignore and which bypass
    the server's key state. That is also why keys go through a :class:`Keyboard` with a focus guard and
    never straight through this. X11 only, like the window backend.
    """

    def __init__(self) -> None:
        try:
            from pynput import keyboard
            from Xlib import display
        except ImportError as exc:
            raise PixelpilotError(f"cannot send keys: {exc}".replace("\n", " ")) from exc
        self._keyboard: Any = keyboard
        self._controller = keyboard.Controller()
        self._display = display.Display()
        self._keys: dict[str, Any] = {}

    def _key(self, name: str) -> Any:
        key = self._keys.get(name)
        if key is None:
            keycode(self._display, name)  # what the layout lacks is refused, as the key reader refuses it
            if name in SPECIAL_KEYS:
                key = getattr(self._keyboard.Key, name)
            else:
                key = self._keyboard.KeyCode.from_vk(keysym(name))
            self._keys[name] = key
        return key

    def press(self, key: str) -> None:
        self._controller.press(self._key(key))

    def release(self, key: str) -> None:
        self._controller.release(self._key(key))

    def close(self) -> None:
        """Close the X connections now rather than at garbage collection, when the server may be gone."""
        self._controller = None  # pynput closes its connection when the controller is collected
        self._display.close()


def key_name(key: Any) -> str | None:
    """Canonical name of a pynput key event's key, or None for keys without one."""
    name = getattr(key, "name", None)  # pynput.keyboard.Key members
    if name is None:
        name = getattr(key, "char", None)  # pynput.keyboard.KeyCode
    if not name:
        return None
    try:
        return parse_key(name)
    except ValueError:
        return None


class Keyboard:
    """Holds exactly the keys of the current action, and releases them on every way out.

    ``apply(keys)`` makes ``keys`` the full set of held keys among ``managed``: keys no longer wanted are
    released, new ones pressed, unchanged ones left alone. Thread-safe: the kill switch calls ``stop`` from
    the hotkey listener's thread.
    """

    def __init__(self, sender: KeySender, managed: Iterable[str], focus: FocusGuard | None = None) -> None:
        self.managed = frozenset(parse_key(k) for k in managed)
        self._sender = sender
        self._focus = focus
        self._held: set[str] = set()
        self._lock = threading.RLock()
        self._stop_requested = False
        self._stop_reason = "the agent was stopped"
        self.stats = TimingStats()
        self.focused = True

    @property
    def held(self) -> frozenset[str]:
        return frozenset(self._held)

    @property
    def stopped(self) -> bool:
        return self._stop_requested

    def apply(self, keys: Iterable[str]) -> bool:
        """Hold exactly ``keys``. Returns False when held back because the target window lost focus."""
        wanted = frozenset(keys)
        unknown = wanted - self.managed
        if unknown:
            raise ValueError(f"keys {sorted(unknown)} are not managed by this keyboard ({sorted(self.managed)})")
        with self._lock:
            if self._stop_requested:
                self._release_locked()
                raise AgentStopped(self._stop_reason)
            t0 = time.perf_counter()
            if self._focus is not None:
                focused = self._focus.has_focus()
                if focused != self.focused:
                    log.warning(
                        "target window %s focus; %s",
                        *(("got", "sending keys again") if focused else ("lost", "keys released and held back")),
                    )
                    self.focused = focused
                if not focused:
                    self._release_locked()
                    self.stats.count("held_back")
                    return False
            for key in sorted(self._held - wanted):
                self._sender.release(key)
                self._held.discard(key)
            for key in sorted(wanted - self._held):
                self._sender.press(key)
                self._held.add(key)
            self.stats.add("send_ms", (time.perf_counter() - t0) * 1000.0)
            return True

    def release_stale(self, keys: Iterable[str]) -> None:
        """Release managed ``keys`` that the X server holds down although this keyboard never pressed them: left
        by a run that was killed (a person still holding one presses it again with the next key repeat)."""
        with self._lock:
            for key in sorted(frozenset(keys) & self.managed - self._held):
                self._sender.release(key)

    def release_all(self) -> None:
        """Release every key this keyboard holds (each one is tried even if another fails)."""
        with self._lock:
            self._release_locked()

    def _release_locked(self) -> None:
        error: Exception | None = None
        for key in sorted(self._held):
            try:
                self._sender.release(key)
            except Exception as exc:  # keep releasing the others; the first failure is raised after
                error = error or exc
            self._held.discard(key)
        if error is not None:
            raise error

    def request_stop(self, reason: str) -> None:
        """Mark as stopped without sending anything (safe from a signal handler); ``apply`` will raise."""
        self._stop_reason = reason
        self._stop_requested = True

    def stop(self, reason: str = "kill switch pressed") -> None:
        """The kill switch: release everything now; every later ``apply`` raises AgentStopped."""
        self.request_stop(reason)
        self.release_all()

    def open(self) -> Keyboard:
        _registry.add(self)
        return self

    def close(self) -> None:
        try:
            self.release_all()
        finally:
            _registry.discard(self)
            self._sender.close()

    def __enter__(self) -> Keyboard:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Registry:
    """Open keyboards, for the exit hooks. Signal handlers live only while a keyboard is open."""

    SIGNALS = (signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self._open: weakref.WeakSet[Keyboard] = weakref.WeakSet()
        self._previous: dict[int, Any] = {}
        self._lock = threading.Lock()
        self._atexit = False

    def add(self, keyboard: Keyboard) -> None:
        with self._lock:
            self._open.add(keyboard)
            if not self._atexit:
                atexit.register(self.release_everything)
                self._atexit = True
            if not self._previous and threading.current_thread() is threading.main_thread():
                for sig in self.SIGNALS:
                    self._previous[sig] = signal.signal(sig, self._on_signal)

    def discard(self, keyboard: Keyboard) -> None:
        with self._lock:
            self._open.discard(keyboard)
            if not self._open and self._previous and threading.current_thread() is threading.main_thread():
                for sig, handler in self._previous.items():
                    signal.signal(sig, handler)
                self._previous.clear()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        for keyboard in list(self._open):
            keyboard.request_stop(f"stopped by {name}")
        raise Terminated(signum)

    def release_everything(self) -> None:
        for keyboard in list(self._open):
            try:
                keyboard.release_all()
            except Exception:
                log.exception("could not release keys at exit")


_registry = _Registry()
