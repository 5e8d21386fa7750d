"""The Play tab: ``agent.drive.play.play`` on a task thread, driven and watched through a ``PlayControl``.

With "Record my corrections" on, every stretch the person drives while the pilot plays is recorded
(``play --record-overrides``) under ``runs/corrections/``; "Learn from my corrections" then retrains the pilot on
them (``agent.demos.corrections.learn_from_corrections``, what ``pixelpilot corrections`` runs) and puts the new
pilot in the checkpoint field, ready to play.

The autopilot button and the kill switch go through the same state as the hotkeys (F8 and F12 keep working
while the panel plays, and the button shows the effective state whichever of them flipped it); the numbers
and the probability bars are the pilot's own (``PlayControl.progress``, from the forward pass that chose the
action), read by a timer, next to the frame that pass saw. With no pilot playing the autopilot button says so
rather than showing "on".
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

from PyQt5.QtCore import QSettings
from PyQt5.QtGui import QFont, QPixmap
from PyQt5.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from agent.demos.corrections import learn_from_corrections
from agent.demos.pretrain import PretrainResult
from agent.drive.play import PlayControl, PlayProgress, PlayResult, play
from capture.preprocess import OBS_HEIGHT, OBS_WIDTH
from gui.bars import Bars
from gui.game_tab import GameTab
from gui.images import gray_image
from gui.readouts import readout_grid
from gui.task_tab import TaskTab
from gui.worker import Task, TaskPool

AUTOPILOT_STYLE = {
    True: "QPushButton { background: #2a8f3c; color: white; padding: 14px; }",
    False: "QPushButton { background: #777; color: white; padding: 14px; }",
    None: "QPushButton { background: #bbb; color: #555; padding: 14px; }",
}
AUTOPILOT_TEXT = {True: "AUTOPILOT ON", False: "AUTOPILOT OFF", None: "AUTOPILOT (no pilot playing)"}
SEEN_SCALE = 2
"""the pilot's 200x128 view is shown at twice its size"""


def ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f} ms"


CORRECTIONS = Path("runs") / "corrections"
"""where recorded corrections go (relative to the panel's working folder)"""


class PlayTab(TaskTab):
    """States: pilot, human, paused, learning, starting, stopping or idle."""

    NAME = "play"
    SPEAKER = "pilot"
    FIELDS = ("driver", "action", "fps", "decide p50", "decide p99", "steps", "episode", "override")

    def __init__(self, pool: TaskPool, settings: QSettings, game: GameTab) -> None:
        super().__init__(pool, settings, game)
        self.control: PlayControl | None = None
        self.result: PlayResult | PretrainResult | None = None
        self._autopilot_shown: bool | str | None = "not yet"
        self.corrections: list[Path] = []
        """datasets of corrections recorded for the pilot in the checkpoint field, not yet learned from"""
        self._recording: Path | None = None
        self._learning = False

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
        self.record_corrections = QCheckBox("Record my corrections")
        self.record_corrections.setChecked(self.settings.value("play/record_corrections", False, bool))
        self.record_corrections.setToolTip(f"Every stretch you drive while the pilot plays is recorded under "
                                           f"{CORRECTIONS}/, to learn from afterwards")  # fmt: skip
        self.learn_button = QPushButton("Learn from my corrections")
        self.learn_button.setToolTip("Retrain the pilot on the corrections recorded since it was chosen (and on the "
                                     "demonstrations it was cloned from), then put the new pilot here")  # fmt: skip
        self.learn_button.clicked.connect(self.learn)
        self.checkpoint.textEdited.connect(self._pilot_changed)
        corrections = QHBoxLayout()
        corrections.addWidget(self.record_corrections)
        corrections.addWidget(self.learn_button)
        corrections.addStretch(1)
        form = QFormLayout()
        form.addRow("Checkpoint:", where)
        form.addRow("Take over after:", self.quiet_seconds)
        form.addRow("Corrections:", corrections)

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
        self.seen = QLabel("not playing")
        self.seen.setFixedSize(OBS_WIDTH * SEEN_SCALE, OBS_HEIGHT * SEEN_SCALE)
        self.seen.setToolTip("What the pilot sees: the processed frame it decides on, live")
        seen_box = QGroupBox("What the pilot sees")
        QVBoxLayout(seen_box).addWidget(self.seen)
        watching = QHBoxLayout()
        watching.addWidget(seen_box)
        watching.addWidget(probs_box, 1)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addLayout(stats)
        layout.addLayout(watching)
        layout.addWidget(self.log)
        layout.addStretch(1)

        self._target_changed()
        self._set_state("idle")

    # -- choosing ------------------------------------------------------------------------------------------------
    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a checkpoint", self.checkpoint.text(), "Checkpoints (*.pt)")
        if path:
            self.checkpoint.setText(path)
            self._pilot_changed()

    def _pilot_changed(self) -> None:
        """Corrections belong to the pilot they corrected."""
        self.corrections = []
        self._show_state(self._state)

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
        return self.running and not self._learning

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
        record = self.record_corrections.isChecked()
        out = CORRECTIONS / f"{Path(checkpoint).stem}__{datetime.now():%Y%m%d-%H%M%S}" if record else None

        def run(t: Task) -> PlayResult:
            return play(profile, Path(checkpoint).expanduser(), quiet_seconds=quiet_seconds, status=t.status.emit,
                        stop=t.stop_event, control=control, record_overrides=out)  # fmt: skip

        self.settings.setValue("play/checkpoint", checkpoint)
        self.settings.setValue("play/record_corrections", record)
        self.control, self.result, self._recording, self._learning = control, None, out, False
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

    def learn(self) -> None:
        """Retrain the pilot on the corrections recorded for it, on a task thread; the new pilot replaces it."""
        checkpoint = self.checkpoint.text().strip()
        if self._task is not None or not self.corrections or not checkpoint:
            return
        corrections = list(self.corrections)

        def run(t: Task) -> PretrainResult:
            return learn_from_corrections(Path(checkpoint).expanduser(), corrections, status=t.status.emit,
                                          stop=t.stop_event)  # fmt: skip

        self.control, self.result, self._learning = None, None, True
        self._begin(Task("learn", run, self), 500)
        self._set_state("learning")

    def _succeeded(self, result: Any) -> None:
        self.result = result
        if isinstance(result, PretrainResult):
            self.checkpoint.setText(str(result.checkpoint))
            self.corrections = []
            warnings = "".join(f"; warning: {w}" for w in result.warnings)
            self.log.setText(f"learned from the corrections (validation accuracy {result.val_accuracy:.0%}); the "
                             f"new pilot is {result.checkpoint}, press Play to drive with it{warnings}")  # fmt: skip
            return
        ended = f" ({result.stopped})" if result.stopped else ""
        recorded = ""
        if result.overrides_recorded and self._recording is not None:
            self.corrections.append(self._recording)
            recorded = f"; {result.overrides_recorded} steps of your driving recorded in {self._recording}"
        self.log.setText(f"{result.steps} steps at {result.fps:.1f} fps: pilot {result.pilot_steps}, human "
                         f"{result.human_steps}, paused {result.paused_steps}; {len(result.episodes)} episode(s) "
                         f"finished{ended}{recorded}")  # fmt: skip

    def _finished(self) -> None:
        self._learning = False
        super()._finished()

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
            "episode": f"{progress.episodes + 1} ({progress.episodes} finished)",
            "override": f"human: {progress.label}" if progress.driver == "human" else "no",
        }
        for name, text in fields.items():
            self.values[name].setText(text)
        if progress.seen is not None:
            self.seen.setPixmap(QPixmap.fromImage(gray_image(progress.seen, SEEN_SCALE)))
        if len(progress.probs) == len(self.probs.names):
            self.probs.set_values(progress.probs, progress.action if progress.driver == "pilot" else None)
        self._follow(progress.driver)

    def _show_autopilot(self) -> None:
        playing = self.control is not None and self._task is not None and not self._learning
        on = self.control.autopilot if playing and self.control is not None else None
        if on is self._autopilot_shown:
            return  # a style sheet set 10 times a second would re-polish the button 10 times a second
        self._autopilot_shown = on
        self.autopilot_button.setChecked(bool(on))
        self.autopilot_button.setText(AUTOPILOT_TEXT[on])
        self.autopilot_button.setStyleSheet(AUTOPILOT_STYLE[on])

    def _show_state(self, state: str) -> None:
        self.values["driver"].setText(state)
        self.play_button.setText("■ Stop" if self._task is not None else "▶ Play")
        self.play_button.setEnabled(state != "stopping" and not self._learning)
        live = self._task is not None and state != "stopping" and not self._learning
        self.autopilot_button.setEnabled(live)
        self.kill_button.setEnabled(live)
        self.checkpoint.setEnabled(self._task is None)
        self.record_corrections.setEnabled(self._task is None)
        self.learn_button.setEnabled(self._task is None and bool(self.corrections))
        self.learn_button.setText(f"Learn from my corrections ({len(self.corrections)})" if self.corrections
                                  else "Learn from my corrections")  # fmt: skip
        self._show_autopilot()
