"""A horizontal bar chart widget: the action histogram while recording (and the policy's probabilities)."""

from __future__ import annotations

from collections.abc import Sequence

from PyQt5.QtCore import QRectF, QSize, Qt
from PyQt5.QtGui import QColor, QPainter
from PyQt5.QtWidgets import QSizePolicy, QWidget


class Bars(QWidget):
    """One labelled bar per name; ``set_values`` repaints. Bars are scaled to the largest value (or to
    ``full_scale`` when given, e.g. 1.0 for probabilities)."""

    ROW = 18

    def __init__(self, names: Sequence[str] = (), full_scale: float | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.full_scale = full_scale
        self.names: tuple[str, ...] = ()
        self.values: tuple[float, ...] = ()
        self.highlight: int | None = None
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Minimum)
        self.set_names(names)

    def set_names(self, names: Sequence[str]) -> None:
        self.names = tuple(names)
        self.values = (0.0,) * len(self.names)
        self.setMinimumHeight(self.ROW * max(1, len(self.names)))
        self.updateGeometry()
        self.update()

    def set_values(self, values: Sequence[float], highlight: int | None = None) -> None:
        if len(values) != len(self.names):
            raise ValueError(f"{len(values)} values for {len(self.names)} bars")
        self.values = tuple(float(v) for v in values)
        self.highlight = highlight
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(260, self.ROW * max(1, len(self.names)))

    def paintEvent(self, event: object) -> None:
        painter = QPainter(self)
        label_width = 80
        value_width = 96
        scale = self.full_scale or max(self.values, default=0.0) or 1.0
        span = max(1, self.width() - label_width - value_width)
        total = sum(self.values)
        for i, (name, value) in enumerate(zip(self.names, self.values, strict=True)):
            y = i * self.ROW
            painter.setPen(self.palette().windowText().color())
            painter.drawText(
                QRectF(0, y, label_width - 6, self.ROW),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                name,
            )
            length = span * max(0.0, min(value / scale, 1.0))
            color = QColor(230, 140, 20) if i == self.highlight else QColor(40, 140, 220)
            painter.fillRect(QRectF(label_width, y + 3, length, self.ROW - 6), color)
            text = f"{value:.2f}" if self.full_scale else (f"{value:g} ({value / total:.0%})" if total else "0")
            left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
            painter.drawText(QRectF(label_width + span + 4, y, value_width, self.ROW), left, text)
        painter.end()
