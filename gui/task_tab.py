"""What the Record, Play and Train tabs share: one library call at a time on a task thread, started and stopped by
one toggle, its control's progress shown by a timer, and its state reported to the panel.

Keys: playing and training through a window of this desktop both press the game's keys, and two drivers would
fight over them, so each refuses to start while another tab drives (``drives_keys``). Recording only watches,
so it runs beside either (recording the pilot is how corrections are collected).
"""

from __future__ import annotations

from typing import Any

from PyQt5.QtCore import QSettings, QTimer, pyqtSignal
from PyQt5.QtWidgets import QLabel, QWidget

from agent.envs.profile import GameProfile
from gui.game_tab import GameTab
from gui.worker import Task, TaskPool


class TaskTab(QWidget):
    error = pyqtSignal(str)
    state_changed = pyqtSignal(str)
    """the library's own states (recording, pilot, training, ...), starting, stopping or idle"""

    NAME = ""
    """the task's name in messages (record, play, train)"""
    SPEAKER = ""
    """who writes the status lines shown in the log (recorder, pilot, trainer)"""

    def __init__(self, pool: TaskPool, settings: QSettings, game: GameTab) -> None:
        super().__init__()
        self.pool = pool
        self.settings = settings
        self.game = game
        self.updates = 0
        """progress reads since the task started"""
        self.peers: tuple[TaskTab, ...] = ()
        """the panel's other task tabs, asked before this one presses keys on the desktop"""
        self.log = QLabel("")
        self.log.setWordWrap(True)
        self._task: Task | None = None
        self._state = "idle"
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._show_progress)
        game.target_changed.connect(self._target_changed)

    # -- what each tab does --------------------------------------------------------------------------------------
    def start(self) -> None:
        raise NotImplementedError

    def _succeeded(self, result: Any) -> None:
        """The library call returned ``result``."""
        raise NotImplementedError

    def _show_progress(self) -> None:
        """Show the control's progress (the timer's tick, and once more when the task has finished)."""
        raise NotImplementedError

    def _show_state(self, state: str) -> None:
        """Buttons and readouts for ``state``."""
        raise NotImplementedError

    def _target_changed(self) -> None:
        """The Game tab's profile or window changed."""
        raise NotImplementedError

    # -- shared ----------------------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._task is not None

    @property
    def drives_keys(self) -> bool:
        """Whether the running task presses keys on this desktop."""
        return False

    def toggle(self) -> None:
        if self._task is None:
            self.start()
        else:
            self.stop()

    def stop(self) -> None:
        """Ask the task to end as its own stop does (a time limit, Ctrl-C); the tab goes idle when it has."""
        if self._task is not None:
            self._task.request_stop()
            self._set_state("stopping")

    def shutdown(self) -> None:
        """The panel closes: stop the task."""
        if self._task is not None:
            self._task.request_stop()

    def _target(self) -> GameProfile | None:
        """The Game tab's profile (or window), or None with a message."""
        profile = self.game.target_profile()
        if profile is None:
            self.error.emit(f"{self.NAME}: choose a profile or a window in the Game tab first")
        return profile

    def _keys_taken(self) -> bool:
        """True, with a message, when another tab already presses keys on this desktop."""
        for peer in self.peers:
            if peer.drives_keys:
                self.error.emit(f"{self.NAME}: {peer.NAME} is pressing keys on this desktop; stop it first (one "
                                "driver at a time)")  # fmt: skip
                return True
        return False

    def _begin(self, task: Task, interval_ms: int) -> None:
        """Run ``task`` (named ``NAME``), its progress shown every ``interval_ms``."""
        task.status.connect(lambda line: self.log.setText(f"{self.SPEAKER}: {line}"))
        task.succeeded.connect(self._succeeded)
        task.failed.connect(self.error)
        task.finished.connect(self._finished)
        self.updates = 0
        self._task = self.pool.start(task)
        self._timer.start(interval_ms)
        self._set_state("starting")

    def _finished(self) -> None:
        self._show_progress()
        self._task = None
        self._timer.stop()
        self._set_state("idle")

    def _follow(self, state: str) -> None:
        """Show the state the library reports, once it has one, unless the tab is stopping it."""
        if self._task is not None and self._state != "stopping" and state != "starting":
            self._set_state(state)

    def _set_state(self, state: str) -> None:
        if state == self._state and state != "idle":
            return
        self._state = state
        self._show_state(state)
        self.state_changed.emit(state)
