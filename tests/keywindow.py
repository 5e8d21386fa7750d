"""A small game window for end-to-end tests: it shows and reports which keys it receives.

Layout (client area, default 800x600): the top half is a fixed pattern (a horizontal gradient with a white
cross) used to check that captures of a moved window are right; the bottom half has five boxes, for
left, right, up, down and x from left to right, white while the key is held and dark grey otherwise.

Telemetry (``--telemetry-port``), 30 times a second: ``score`` (+1 per tick while up is held), ``held``
(key names), ``presses`` (key press events seen per key), ``episode`` (+1 on Enter), ``done`` (score has
reached ``--done-score``), ``focused``. Held keys are cleared when the window loses focus, as SDL games do.
Esc quits.

Run: python tests/keywindow.py --title KeyWindow --telemetry-port 47800
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from PyQt5 import QtCore, QtGui, QtWidgets

from capture.telemetry import TelemetrySender

BOX_KEYS = ("left", "right", "up", "down", "x")
QT_KEYS = {
    QtCore.Qt.Key.Key_Left: "left",
    QtCore.Qt.Key.Key_Right: "right",
    QtCore.Qt.Key.Key_Up: "up",
    QtCore.Qt.Key.Key_Down: "down",
    QtCore.Qt.Key.Key_Return: "enter",
    QtCore.Qt.Key.Key_Enter: "enter",
    QtCore.Qt.Key.Key_Escape: "esc",
    QtCore.Qt.Key.Key_Space: "space",
}


def box_rect(index: int, width: int, height: int) -> tuple[int, int, int, int]:
    """(left, top, width, height) of key box ``index`` in a window of the given size."""
    cell = width // len(BOX_KEYS)
    return index * cell + cell // 8, height // 2 + height // 8, cell - cell // 4, height // 4


class KeyWindow(QtWidgets.QWidget):
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__()
        self.setWindowTitle(args.title)
        self.resize(args.width, args.height)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.held: set[str] = set()
        self.presses: dict[str, int] = {}
        self.score = 0
        self.episode = 0
        self.done_score = args.done_score
        self.sender = TelemetrySender(args.telemetry_port) if args.telemetry_port else None
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.tick)
        self.timer.start(33)

    @staticmethod
    def name(event: QtGui.QKeyEvent) -> str | None:
        if event.key() in QT_KEYS:
            return QT_KEYS[event.key()]
        text = event.text().lower()
        return text if len(text) == 1 and text.isprintable() else None

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        name = self.name(event)
        if event.isAutoRepeat() or name is None:
            return
        self.presses[name] = self.presses.get(name, 0) + 1
        if name == "esc":
            QtWidgets.QApplication.quit()
        elif name == "enter":
            self.episode += 1
            self.score = 0
        self.held.add(name)
        self.update()

    def keyReleaseEvent(self, event: QtGui.QKeyEvent) -> None:
        name = self.name(event)
        if not event.isAutoRepeat() and name is not None:
            self.held.discard(name)
            self.update()

    def focusOutEvent(self, event: QtGui.QFocusEvent) -> None:
        self.held.clear()
        self.update()

    def tick(self) -> None:
        if "up" in self.held and not self.done():
            self.score += 1
        if self.sender is not None:
            self.sender.send(
                score=self.score,
                held=sorted(self.held),
                presses=self.presses,
                episode=self.episode,
                done=self.done(),
                focused=self.isActiveWindow(),
            )

    def done(self) -> bool:
        return self.done_score > 0 and self.score >= self.done_score

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        w, h = self.width(), self.height()
        p = QtGui.QPainter(self)
        gradient = QtGui.QLinearGradient(0, 0, w, 0)
        gradient.setColorAt(0.0, QtGui.QColor(20, 20, 80))
        gradient.setColorAt(1.0, QtGui.QColor(200, 120, 20))
        p.fillRect(0, 0, w, h // 2, gradient)
        p.fillRect(0, h // 2, w, h - h // 2, QtGui.QColor(10, 10, 10))
        p.fillRect(w // 2 - 4, 0, 8, h // 2, QtCore.Qt.white)
        p.fillRect(0, h // 4 - 4, w, 8, QtCore.Qt.white)
        for i, key in enumerate(BOX_KEYS):
            color = QtCore.Qt.white if key in self.held else QtGui.QColor(60, 60, 60)
            p.fillRect(*box_rect(i, w, h), color)
        p.end()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--title", default="KeyWindow")
    parser.add_argument("--width", type=int, default=800)
    parser.add_argument("--height", type=int, default=600)
    parser.add_argument("--telemetry-port", type=int, default=0)
    parser.add_argument("--done-score", type=int, default=0, help="report done at this score (0: never)")
    args = parser.parse_args()
    app = QtWidgets.QApplication(sys.argv[:1])
    window = KeyWindow(args)
    window.show()
    window.activateWindow()
    sys.exit(app.exec_())


if __name__ == "__main__":
    main()
