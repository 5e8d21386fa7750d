"""NeonRace in a real window: what ``pixelpilot game`` opens and a person (or the screen agent) plays.

The window runs the same simulation as the in-process environment on a fixed schedule of 30 ticks per
second (late ticks are caught up, at most 4 at a time; beyond that they are dropped rather than rushed), and
shows the same renderer's frame at the window's size. Keys: arrows steer/accelerate/brake, x is turbo,
Enter restarts, Esc quits. Held keys are forgotten when the window loses focus.

Telemetry, one JSON datagram per tick to 127.0.0.1:PORT: tick, episode, score, speed (km/h), lap, laps,
progress, x, crashes, lap_time, last_lap_time, done, finished, crashed_out, keys (the logical keys held
during the tick), track_seed, difficulty. The tick and keys let a copy of the game follow this one exactly
(see :mod:`games.neonrace.mirror`).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
from PyQt5 import QtCore, QtGui, QtWidgets

from capture.errors import DisplayError
from capture.telemetry import TelemetrySender
from games.neonrace.render import Renderer
from games.neonrace.sim import DT, MAX_SPEED, Game

KEYS: dict[int, str] = {
    QtCore.Qt.Key.Key_Left: "left",
    QtCore.Qt.Key.Key_Right: "right",
    QtCore.Qt.Key.Key_Up: "up",
    QtCore.Qt.Key.Key_Down: "down",
    QtCore.Qt.Key.Key_X: "turbo",
}
MAX_CATCH_UP = 4


def to_qimage(frame: np.ndarray) -> QtGui.QImage:
    height, width = frame.shape[:2]
    # PyQt takes any buffer here; its stubs name bytes only
    return QtGui.QImage(frame.data, width, height, 3 * width, QtGui.QImage.Format_RGB888)  # type: ignore[call-overload]


class GameWindow(QtWidgets.QWidget):
    def __init__(
        self, game: Game, title: str, size: tuple[int, int], telemetry_ports: list[int], track_per_race: bool = False
    ) -> None:
        super().__init__()
        self.game = game
        self.setWindowTitle(title)
        self.resize(*size)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.held: set[str] = set()
        self.episode = 0
        self.senders = [TelemetrySender(port) for port in telemetry_ports]
        self.first_seed = game.track.seed
        self.track_per_race = track_per_race
        self.renderer: Renderer | None = None
        self.frame: np.ndarray | None = None
        self.next_tick = time.perf_counter()
        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self.advance)
        self.timer.start(4)

    def advance(self) -> None:
        now = time.perf_counter()
        ticks = 0
        while self.next_tick <= now and ticks < MAX_CATCH_UP:
            keys = frozenset(self.held)
            self.game.tick(keys)
            self.publish(keys)
            self.next_tick += DT
            ticks += 1
        if self.next_tick <= now:  # too far behind: drop the backlog instead of rushing through it
            self.next_tick = now + DT
        if ticks:
            self.redraw()

    def publish(self, keys: frozenset[str]) -> None:
        if not self.senders:
            return
        s = self.game.state
        fields = dict(
            tick=s.ticks,
            episode=self.episode,
            score=s.score,
            speed=round(s.speed / MAX_SPEED * 200),
            lap=s.lap,
            laps=self.game.laps,
            progress=round(self.game.progress(), 5),
            x=round(s.x, 4),
            crashes=s.crashes,
            lap_time=round(s.lap_time, 3),
            done=s.done,
            finished=s.finished,
            crashed_out=s.crashed_out,
            keys=sorted(keys),
            track_seed=self.game.track.seed,
            difficulty=self.game.track.difficulty,
            last_lap_time=s.last_lap_time,
        )
        for sender in self.senders:
            sender.send(**fields)

    def redraw(self) -> None:
        width, height = self.width(), self.height()
        if self.renderer is None or (self.renderer.width, self.renderer.height) != (width, height):
            self.renderer = Renderer(self.game, width, height)
        self.frame = self.renderer.render()
        self.update()

    def restart(self) -> None:
        self.episode += 1
        if self.track_per_race:
            track = self.game.track
            self.game = Game((self.first_seed + self.episode) % 2**32, track.difficulty, self.game.laps)
            self.renderer = None  # it draws the game it was made for
        else:
            self.game.reset()
        self.next_tick = time.perf_counter()
        self.publish(frozenset())
        self.redraw()

    def paintEvent(self, event: QtGui.QPaintEvent | None) -> None:
        if self.frame is None:
            self.redraw()
        assert self.frame is not None
        painter = QtGui.QPainter(self)
        painter.drawImage(0, 0, to_qimage(self.frame))
        painter.end()

    def keyPressEvent(self, event: QtGui.QKeyEvent | None) -> None:
        if event is None or event.isAutoRepeat():
            return
        key = event.key()
        if key in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter):
            self.restart()
        elif key == QtCore.Qt.Key.Key_Escape:
            self.close()
        elif key in KEYS:
            self.held.add(KEYS[key])

    def keyReleaseEvent(self, event: QtGui.QKeyEvent | None) -> None:
        if event is not None and not event.isAutoRepeat() and event.key() in KEYS:
            self.held.discard(KEYS[event.key()])

    def focusOutEvent(self, event: QtGui.QFocusEvent | None) -> None:
        self.held.clear()

    def closeEvent(self, event: QtGui.QCloseEvent | None) -> None:
        for sender in self.senders:
            sender.close()
        if event is not None:
            event.accept()


def require_display() -> None:
    """Qt aborts the whole process when it finds no display; fail with an error the user can act on instead."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        raise DisplayError("no display to open a window on: DISPLAY is not set (use pixelpilot --virtual ...)")


def run_game(
    seed: int,
    difficulty_name: str,
    laps: int,
    title: str,
    size: tuple[int, int],
    telemetry_ports: list[int],
    track_per_race: bool = False,
) -> int:
    """Open the game window and run until it is closed; returns the process exit code. Telemetry goes to every
    port of ``telemetry_ports`` (a recorder and a driver can both follow the game)."""
    require_display()
    game = Game(seed, difficulty_name, laps)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    window = GameWindow(game, title, size, telemetry_ports, track_per_race)
    window.show()
    window.activateWindow()
    return app.exec_()


class FrameViewer:
    """A window that shows frames as they come (the in-process environment's ``render_mode="human"``)."""

    def __init__(self, title: str) -> None:
        require_display()
        self.app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
        self.label = QtWidgets.QLabel()
        self.label.setWindowTitle(title)
        self.last = 0.0

    def show_frame(self, frame: np.ndarray, fps: float) -> None:
        self.label.setPixmap(QtGui.QPixmap.fromImage(to_qimage(np.ascontiguousarray(frame))))
        if not self.label.isVisible():
            self.label.show()
        self.app.processEvents()
        wait = self.last + 1.0 / fps - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        self.last = time.perf_counter()

    def close(self) -> None:
        self.label.close()
        self.app.processEvents()
