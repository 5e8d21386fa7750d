"""``pixelpilot gui``: the control panel's main window, and the application around it.

The window holds the tabs, an error banner (every failure of a task lands there as one line, never as a
frozen window or a traceback on a terminal nobody reads) and the status bar. Closing it stops every task
(recording keeps what it wrote, play releases its keys, training saves a checkpoint and joins its workers), stops
TensorBoard and a game the panel launched, and waits for all of them without blocking the GUI thread; only then
does the window really close.
"""

from __future__ import annotations

import gc
import importlib
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from PyQt5.QtCore import QByteArray, QSettings, QTimer
from PyQt5.QtGui import QCloseEvent, QKeySequence
from PyQt5.QtWidgets import (
    QAction,
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from agent.a3c.processes import prepare_optimizer
from capture.windows import default_backend
from gui.game_tab import GameTab
from gui.play_tab import PlayTab
from gui.record_tab import RecordTab
from gui.status_bar import DesktopState, DesktopWatch, StatusBar, run_status_poller
from gui.train_tab import TrainTab
from gui.worker import Task, TaskPool

TITLE = "pixelpilot control panel"


def settle_heap() -> None:
    """Import what the tasks import lazily, then take every object alive now out of the garbage collector's sight.

    A full collection walks every object of the process while holding the GIL: over 100 ms in a large process,
    a frozen GUI each time one runs. What exists when the panel opens (modules, mostly) lives as long as the
    process anyway, so it is frozen (``gc.freeze``) and later collections only walk what the tasks create.
    """
    # DemoWriter's and the hotkey listeners' lazy imports; a training's TensorBoard writer and reward curve
    for module in ("minari.data_collector", "minari.dataset.minari_storage", "pynput.keyboard",
                   "torch.utils.tensorboard", "matplotlib.figure", "matplotlib.backends.backend_agg"):  # fmt: skip
        importlib.import_module(module)
    # Imported by a training's thread, torch._dynamo's modules' initialisation held the GIL long enough to freeze
    # the panel.
    prepare_optimizer()

    gc.collect()
    gc.freeze()


class ErrorBanner(QFrame):
    """The newest error, in red above the tabs, until dismissed."""

    def __init__(self) -> None:
        super().__init__()
        self.setStyleSheet("ErrorBanner { background: #fde2e2; border: 1px solid #d33; }")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setStyleSheet("color: #a00;")
        dismiss = QPushButton("Dismiss")
        dismiss.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(dismiss)
        self.hide()

    def show_error(self, message: str) -> None:
        self.text.setText(message)
        self.show()


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.setWindowTitle(TITLE)
        self.settings = settings if settings is not None else QSettings("pixelpilot", "pixelpilot")
        self.pool = TaskPool(self)
        self.errors: list[str] = []
        self.closing = False
        self.stopped_cleanly = False
        self.watch = DesktopWatch()
        default_backend()  # created here, once: the tasks share it
        settle_heap()

        self.banner = ErrorBanner()
        self.game = GameTab(self.pool, self.settings, lambda: {int(self.winId())})
        self.game.restore()  # the last session's profile, before the other tabs read the target
        self.record = RecordTab(self.pool, self.settings, self.game)
        self.play = PlayTab(self.pool, self.settings, self.game)
        self.train = TrainTab(self.pool, self.settings, self.game)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.game, "&Game")
        self.tabs.addTab(self.record, "&Record")
        self.tabs.addTab(self.play, "Pla&y")
        self.tabs.addTab(self.train, "&Train")
        self.game.error.connect(self.show_error)
        tasks = (self.record, self.play, self.train)
        for tab in tasks:
            tab.error.connect(self.show_error)
            tab.state_changed.connect(lambda state, name=tab.NAME: self._task_state(name, state))
            tab.peers = tuple(peer for peer in tasks if peer is not tab)
        self.game.target_changed.connect(self._target_changed)
        self._target_changed()

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.status = StatusBar()
        self.setStatusBar(self.status)
        self._add_shortcuts()

        geometry = self.settings.value("window/geometry", QByteArray(), QByteArray)
        if geometry.isEmpty() or not self.restoreGeometry(geometry):
            self.resize(1100, 700)
        self._poller: Task | None = None

    def _add_shortcuts(self) -> None:
        shortcuts: tuple[tuple[str, str, Callable[[], object]], ...] = (
            ("Launch game", "Ctrl+L", self.game.launch),
            ("Start/stop recording", "Ctrl+R", self.record.toggle),
            ("Pause/resume recording", "Ctrl+P", self.record.toggle_pause),
            ("Discard last seconds", "Ctrl+D", self.record.discard),
            ("Start/stop playing", "Ctrl+G", self.play.toggle),
            ("Autopilot on/off", "Ctrl+T", self.play.toggle_autopilot),
            ("Kill switch", "Ctrl+K", self.play.kill),
            ("Start/stop training", "Ctrl+Shift+T", self.train.toggle),
            ("Game tab", "Ctrl+1", lambda: self.tabs.setCurrentWidget(self.game)),
            ("Record tab", "Ctrl+2", lambda: self.tabs.setCurrentWidget(self.record)),
            ("Play tab", "Ctrl+3", lambda: self.tabs.setCurrentWidget(self.play)),
            ("Train tab", "Ctrl+4", lambda: self.tabs.setCurrentWidget(self.train)),
            ("Quit", "Ctrl+Q", self.close),
        )
        for name, keys, slot in shortcuts:
            action = QAction(name, self)
            action.setShortcut(QKeySequence(keys))
            action.triggered.connect(lambda _checked=False, slot=slot: slot())
            self.addAction(action)

    def showEvent(self, event: object) -> None:
        if self._poller is None and not self.closing:
            poller = Task("status", lambda t: run_status_poller(t, self.watch), self)
            poller.ready.connect(lambda: self._show_state(poller))
            poller.failed.connect(self.show_error)
            self._poller = self.pool.start(poller)
            self.game.start_listing()

    def _show_state(self, task: Task) -> None:
        state: DesktopState | None = task.latest()
        if state is not None:
            self.status.show_state(state)

    def _target_changed(self) -> None:
        profile = self.game.target_profile()
        keys: set[str] = set()
        if profile is not None:
            keys = set(profile.actions.managed_keys) | set(profile.reset_keys) | {profile.kill_key, profile.toggle_key}
        self.watch.keys = frozenset(keys)
        self.watch.window = self.game.picked.handle if self.game.picked is not None else None

    def _task_state(self, name: str, state: str) -> None:
        self.status.showMessage(f"{name}: {state}", 0 if state != "idle" else 3000)

    def show_error(self, message: str) -> None:
        self.errors.append(message)
        self.banner.show_error(message)
        self.status.showMessage("error: " + message, 10000)

    def _close_when_drained(self) -> None:
        self.close()

    def closeEvent(self, event: QCloseEvent | None) -> None:
        """Stop every task, then the game the panel launched, then close (the GUI keeps running meanwhile)."""
        if not self.closing:
            self.closing = True
            self.settings.setValue("window/geometry", self.saveGeometry())
            self.game.shutdown()
            self.record.shutdown()
            self.play.shutdown()
            self.train.shutdown()
            self.pool.stop_all()
            self.pool.drained.connect(self._close_when_drained)
        if not self.pool.running() and self.game.game is not None:
            self.game.stop_game()  # last: a recording must not see its window vanish
        if self.pool.running():
            self.status.showMessage("stopping: " + ", ".join(sorted({t.name for t in self.pool.running()})))
            self.setEnabled(False)
            if event is not None:
                event.ignore()
            return
        self.settings.sync()
        self.stopped_cleanly = True
        if event is not None:
            event.accept()


def start_demo(window: MainWindow, profile: str, checkpoint: Path) -> None:
    """The demo on a desktop: the Play tab drives ``profile``'s game (launched by play if it is not open) with
    ``checkpoint``, exactly as a user's clicks would have it."""
    window.game.choose_profile(profile)
    window.play.checkpoint.setText(str(checkpoint))
    window.tabs.setCurrentWidget(window.play)
    window.play.start()


def run(argv: list[str] | None = None, demo: tuple[str, Path] | None = None) -> int:
    """Open the panel and run until it is closed; Ctrl-C or SIGTERM close it as the window's close button
    does (work stopped, keys released). ``demo``: (profile, checkpoint) to start playing at once."""
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("pixelpilot")
    window = MainWindow()
    window.show()
    if demo is not None:
        start_demo(window, *demo)
    previous = {sig: signal.signal(sig, lambda *_: window.close()) for sig in (signal.SIGINT, signal.SIGTERM)}
    # Python runs signal handlers only between bytecodes: a timer lets it in while Qt waits for events.
    wakeup = QTimer()
    wakeup.timeout.connect(lambda: None)
    wakeup.start(200)
    try:
        app.exec_()
    finally:
        wakeup.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
