"""The status bar: the active window, whether the game window has the focus, and the keys held.

Keys are read from the X server's own key state (``control.xkeys.KeyState``), as the recorder reads them, so
the bar shows what the game and the recorder see, whoever pressed the keys. The X queries run on a task's
thread a few times a second; the watched keys and window are plain attributes the GUI thread replaces.
"""

from __future__ import annotations

from dataclasses import dataclass

from PyQt5.QtWidgets import QLabel, QStatusBar, QWidget

from capture.windows import default_backend
from control.xkeys import KeyState
from gui.worker import Task


@dataclass(frozen=True)
class DesktopState:
    active_title: str | None
    game_focused: bool | None
    """None: no game window chosen"""
    keys: frozenset[str]


class DesktopWatch:
    """What the status poller watches; the GUI thread replaces the attributes, the poller reads them."""

    def __init__(self) -> None:
        self.keys: frozenset[str] = frozenset()
        self.window: int | None = None


def run_status_poller(task: Task, watch: DesktopWatch, every: float = 0.25) -> None:
    backend = default_backend()
    key_state: KeyState | None = None
    watched: frozenset[str] | None = None
    titles: dict[int, str] = {}
    polls = 0
    try:
        while not task.stop_event.is_set():
            polls += 1
            if watch.keys != watched:
                if key_state is not None:
                    key_state.close()
                watched = watch.keys
                key_state = KeyState(watched)
            active = backend.active_handle()
            if active is not None and (active not in titles or polls % 8 == 0):  # titles change too
                titles = {w.handle: w.title for w in backend.list_windows()}
            window = watch.window
            assert key_state is not None
            task.offer(
                DesktopState(
                    titles.get(active) if active is not None else None,
                    None if window is None else active == window,
                    frozenset(key_state.pressed()),
                )
            )
            task.nap(every)
    finally:
        if key_state is not None:
            key_state.close()


class StatusBar(QStatusBar):
    """Permanent fields on the right; transient messages (``showMessage``) on the left."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.active = QLabel("active: -")
        self.focus = QLabel("game: none chosen")
        self.keys = QLabel("keys: -")
        for label in (self.active, self.focus, self.keys):
            self.addPermanentWidget(label)

    def show_state(self, state: DesktopState) -> None:
        title = state.active_title or "-"
        self.active.setText(f"active: {title[:40]}")
        if state.game_focused is None:
            self.focus.setText("game: none chosen")
        else:
            self.focus.setText("game: focused" if state.game_focused else "game: NOT focused")
        self.keys.setText("keys: " + ("+".join(sorted(state.keys)) or "-"))
