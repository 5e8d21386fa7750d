"""The Play tab: ``agent.drive.play.play`` on a task thread, driven and watched through a ``PlayControl``.

The autopilot button and the kill switch go through the same state as the hotkeys (F8 and F12 keep working
while the panel plays, and the button shows the effective state whichever of them flipped it); the numbers
and the probability bars are the pilot's own (``PlayControl.progress``, from the forward pass that chose the
action), read by a timer.
"""

from __future__ import annotations

import math
from pathlib import Path

from PyQt5.QtCore import QSettings
from PyQt5.QtGui import QFont
from PyQt5.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from agent.drive.play import PlayControl, PlayProgress, PlayResult, play
from gui.bars import Bars
from gui.game_tab import GameTab
from gui.readouts import readout_grid
from gui.task_tab import TaskTab
from gui.worker import Task, TaskPool

AUTOPILOT_STYLE = {
    True: "QPushButton { background: #2a8f3c; color: white; padding: 14px; }",
    False: "QPushButton { background: #777; color: white; padding: 14px; }",
}


def ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f} ms"


class PlayTab(TaskTab):
    """States: pilot, human, paused, starting, stopping or idle."""

    NAME = "play"
    SPEAKER = "pilot"
    FIELDS = ("driver", "action", "fps", "decide p50", "decide p99", "steps", "episodes", "override")

    def __init__(self, pool: TaskPool, settings: QSettings, game: GameTab) -> None:
        super().__init__(pool, settings, game)
        self.control: PlayControl | None = None
        self.result: PlayResult | None = None
        self._autopilot_shown: bool | None = None

        self.checkpoint = QLineEdit(self.settings.value("play/checkpoint", "", str))
        self.checkpoint.setPlaceholderText("a checkpoint file (.pt) or a run folder")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.quiet_seconds = QDoubleSpinBox()
        self.quiet_seconds.setRange(0.1, 60)
        self.quiet_seconds.setValue(1.0)
        self.quiet_seconds.setSuffix(" s")
        self.quiet_seconds.setToolTip("After a human's last driving key, wait this long before the pilot takes over")
        where = QHBoxLayout()
        where.addWidget(self.checkpoint, 1)
        where.addWidget(browse)
        form = QFormLayout()
        form.addRow("Checkpoint:", where)
        form.addRow("Take over after:", self.quiet_seconds)

        self.play_button = QPushButton("▶ Play")
        self.play_button.setToolTip("Start or stop the pilot (Ctrl+G)")
        self.play_button.clicked.connect(self.toggle)
        self.autopilot_button = QPushButton()
        self.autopilot_button.setCheckable(True)
        self.autopilot_button.setToolTip("Autopilot on or off (Ctrl+T; the profile's toggle hotkey, F8, too)")
        big = QFont(self.autopilot_button.font())
        big.setPointSize(big.pointSize() + 6)
        big.setBold(True)
        self.autopilot_button.setFont(big)
        self.autopilot_button.clicked.connect(self.toggle_autopilot)
        self.kill_button = QPushButton("KILL")
        self.kill_button.setToolTip("Kill switch: release every key and stop (Ctrl+K; F12 too)")
        self.kill_button.setFont(big)
        self.kill_button.setStyleSheet("QPushButton { background: #c62828; color: white; padding: 14px; }")
        self.kill_button.clicked.connect(self.kill)
        buttons = QHBoxLayout()
        buttons.addWidget(self.play_button)
        buttons.addWidget(self.autopilot_button, 2)
        buttons.addWidget(self.kill_button, 1)

        stats, self.values = readout_grid(self.FIELDS)
        self.probs = Bars(full_scale=1.0)
        probs_box = QGroupBox("Policy probabilities (the chosen action highlighted)")
        QVBoxLayout(probs_box).addWidget(self.probs)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addLayout(stats)
        layout.addWidget(probs_box)
        layout.addWidget(self.log)
        layout.addStretch(1)

        self._target_changed()
        self._set_state("idle")

    # -- choosing ------------------------------------------------------------------------------------------------
    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a checkpoint", self.checkpoint.text(), "Checkpoints (*.pt)")
        if path:
            self.checkpoint.setText(path)

    def _target_changed(self) -> None:
        profile = self.game.target_profile()
        if self._task is None:
            self.probs.set_names(profile.actions.names if profile is not None else ())

    # -- playing -------------------------------------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return self.running

    @property
    def drives_keys(self) -> bool:
        return self.running

    def start(self) -> None:
        profile = self._target()
        if profile is None:
            return
        checkpoint = self.checkpoint.text().strip()
        if not checkpoint:
            self.error.emit("play: choose a checkpoint")
            return
        if self._keys_taken():
            return
        control = PlayControl()
        quiet_seconds = self.quiet_seconds.value()
        self.probs.set_names(profile.actions.names)

        def run(t: Task) -> PlayResult:
            return play(profile, Path(checkpoint).expanduser(), quiet_seconds=quiet_seconds, status=t.status.emit,
                        stop=t.stop_event, control=control)  # fmt: skip

        self.settings.setValue("play/checkpoint", checkpoint)
        self.control, self.result = control, None
        self._begin(Task(self.NAME, run, self), 100)
        self.log.setText(f"{Path(checkpoint).name} drives {profile.window!r}")

    def toggle_autopilot(self) -> None:
        if self.control is not None and self._task is not None:
            self.control.toggle_autopilot()
        self._show_autopilot()

    def kill(self) -> None:
        """What F12 does: every key released at once, and play ends."""
        if self.control is not None and self._task is not None:
            self.control.kill()
            self._set_state("stopping")

    def _succeeded(self, result: PlayResult) -> None:
        self.result = result
        ended = f" ({result.stopped})" if result.stopped else ""
        self.log.setText(f"{result.steps} steps at {result.fps:.1f} fps: pilot {result.pilot_steps}, human "
                         f"{result.human_steps}, paused {result.paused_steps}; {len(result.episodes)} episode(s) "
                         f"finished{ended}")  # fmt: skip

    def _show_progress(self) -> None:
        self._show_autopilot()
        if self.control is None:
            return
        progress: PlayProgress = self.control.progress
        self.updates += 1
        fields = {
            "driver": progress.driver,
            "action": progress.label if progress.driver == "pilot" else "-",
            "fps": f"{progress.fps:.1f}",
            "decide p50": ms(progress.decide_p50),
            "decide p99": ms(progress.decide_p99),
            "steps": f"{progress.steps} (pilot {progress.pilot_steps}, human {progress.human_steps})",
            "episodes": str(progress.episodes),
            "override": f"human: {progress.label}" if progress.driver == "human" else "no",
        }
        for name, text in fields.items():
            self.values[name].setText(text)
        if len(progress.probs) == len(self.probs.names):
            self.probs.set_values(progress.probs, progress.action if progress.driver == "pilot" else None)
        self._follow(progress.driver)

    def _show_autopilot(self) -> None:
        on = self.control.autopilot if self.control is not None and self._task is not None else True
        if on == self._autopilot_shown:
            return  # a style sheet set 10 times a second would re-polish the button 10 times a second
        self._autopilot_shown = on
        self.autopilot_button.setChecked(on)
        self.autopilot_button.setText("AUTOPILOT ON" if on else "AUTOPILOT OFF")
        self.autopilot_button.setStyleSheet(AUTOPILOT_STYLE[on])

    def _show_state(self, state: str) -> None:
        self.values["driver"].setText(state)
        self.play_button.setText("■ Stop" if self._task is not None else "▶ Play")
        self.play_button.setEnabled(state != "stopping")
        live = self._task is not None and state != "stopping"
        self.autopilot_button.setEnabled(live)
        self.kill_button.setEnabled(live)
        self.checkpoint.setEnabled(self._task is None)
        self._show_autopilot()
