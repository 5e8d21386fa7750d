"""Named live values laid out in a grid of label/value pairs (the Record and Play tabs' readouts)."""

from __future__ import annotations

from PyQt5.QtWidgets import QGridLayout, QLabel


def readout_grid(names: tuple[str, ...], columns: int = 4) -> tuple[QGridLayout, dict[str, QLabel]]:
    """The grid, and the value label of each name (showing "-" until set)."""
    grid = QGridLayout()
    values: dict[str, QLabel] = {}
    for i, name in enumerate(names):
        values[name] = QLabel("-")
        grid.addWidget(QLabel(name.capitalize() + ":"), i // columns, (i % columns) * 2)
        grid.addWidget(values[name], i // columns, (i % columns) * 2 + 1)
    return grid, values
