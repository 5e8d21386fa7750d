"""Running the CLI's functions off the GUI thread.

A :class:`Task` runs one callable on a thread of its own and reports back through Qt signals, which Qt
delivers on the GUI thread: ``status`` lines, ``failed`` with a one-line message (so an error is shown in the
panel rather than lost on a thread), ``succeeded`` with the return value. Loops that produce a stream (frames,
window lists) hand their newest item to :meth:`Task.offer`; the GUI takes it with :meth:`Task.latest` when
``ready`` fires. Only one ``ready`` is ever queued, so a slow GUI sees fewer items, never a growing backlog.

A :class:`TaskPool` keeps every running task referenced (a ``QThread`` collected while it runs aborts the
process) and says when the last one has finished, which is how the panel closes without orphans.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PyQt5.QtCore import QObject, QThread, pyqtSignal

from capture.errors import PixelpilotError

log = logging.getLogger(__name__)


def error_message(exc: BaseException) -> str:
    """One line for the panel: a PixelpilotError's own message, else the exception's type and message."""
    if isinstance(exc, PixelpilotError):
        return str(exc)
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class Task(QThread):
    """Runs ``fn(task)`` on its own thread. ``fn`` reaches its hooks through the task it is given:
    ``task.stop_event`` (set by :meth:`request_stop`), ``task.status.emit``, :meth:`offer` and :meth:`nap`."""

    status = pyqtSignal(str)
    ready = pyqtSignal()
    failed = pyqtSignal(str)
    succeeded = pyqtSignal(object)

    def __init__(self, name: str, fn: Callable[[Task], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._fn = fn
        self.stop_event = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._latest: Any = None
        self._pending = False

    def run(self) -> None:
        try:
            result = self._fn(self)
        except Exception as exc:
            if not isinstance(exc, PixelpilotError):
                log.exception("%s failed", self.name)
            self.failed.emit(f"{self.name}: {error_message(exc)}")
        else:
            self.succeeded.emit(result)

    def request_stop(self) -> None:
        """Ask ``fn`` to end (it watches ``stop_event``); returns at once."""
        self.stop_event.set()
        self._wake.set()

    def poke(self) -> None:
        """Cut the current :meth:`nap` short (e.g. list the windows now, not in two seconds)."""
        self._wake.set()

    def nap(self, seconds: float) -> None:
        """From the task's thread: sleep up to ``seconds``, less when poked or asked to stop."""
        self._wake.wait(seconds)
        if not self.stop_event.is_set():
            self._wake.clear()

    def offer(self, item: Any) -> None:
        """From the task's thread: make ``item`` the newest one; signal ``ready`` unless a signal is queued."""
        with self._lock:
            self._latest = item
            signal = not self._pending
            self._pending = True
        if signal:
            self.ready.emit()

    def latest(self) -> Any:
        """From the GUI thread: the newest offered item (None when it was already taken)."""
        with self._lock:
            item, self._latest = self._latest, None
            self._pending = False
        return item


class TaskPool(QObject):
    """The panel's running tasks. ``drained`` fires when the last one has finished."""

    drained = pyqtSignal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: set[Task] = set()

    def start(self, task: Task) -> Task:
        self._tasks.add(task)
        task.finished.connect(lambda: self._finished(task))
        task.start()
        return task

    def _finished(self, task: Task) -> None:
        self._tasks.discard(task)
        task.deleteLater()
        if not self._tasks:
            self.drained.emit()

    def running(self) -> list[Task]:
        """Tasks started and not yet reported finished on the GUI thread."""
        return list(self._tasks)

    def stop_all(self) -> None:
        for task in self._tasks:
            task.request_stop()
