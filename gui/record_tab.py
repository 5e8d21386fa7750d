"""The Record tab: ``agent.drive.record.record`` on a task thread, driven and watched through a ``RecordControl``.

Pause/resume and discard go through the same state as the recorder's hotkeys (F8 and F9 keep working while
the panel records), and the numbers shown are the recorder's own (``RecordControl.progress``), read by a
timer; disk use is measured on a task of its own, since a long recording has many files.
"""

from __future__ import annotations

from pathlib import Path

from PyQt5.QtCore import QSettings
from PyQt5.QtWidgets import (
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

from agent.drive.record import RecordControl, RecordProgress, RecordResult, record
from agent.runs import free_path, timestamp
from gui.bars import Bars
from gui.game_tab import GameTab
from gui.readouts import readout_grid
from gui.task_tab import TaskTab
from gui.worker import Task, TaskPool


def folder_bytes(path: Path) -> int:
    """Bytes in the files under ``path`` (files replaced while it counts are skipped)."""
    total = 0
    for file in path.rglob("*"):
        try:
            if file.is_file():
                total += file.stat().st_size
        except OSError:
            continue
    return total


def run_disk_usage(task: Task, path: Path, every: float = 1.0) -> None:
    """Offer the size of ``path`` every ``every`` seconds, and once more when asked to stop (the final size)."""
    while True:
        task.offer(folder_bytes(path) if path.exists() else 0)
        if task.stop_event.is_set():
            return
        task.nap(every)


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


class RecordTab(TaskTab):
    """States: recording, paused, waiting (for the next episode), starting, stopping or idle."""

    NAME = "record"
    SPEAKER = "recorder"
    FIELDS = ("state", "frames", "duration", "elapsed", "episodes", "idle frames", "discarded", "disk use")

    def __init__(self, pool: TaskPool, settings: QSettings, game: GameTab) -> None:
        super().__init__(pool, settings, game)
        self.control: RecordControl | None = None
        self.result: RecordResult | None = None
        self.disk_bytes = 0
        self._disk: Task | None = None

        self.dataset = QLineEdit()
        self.dataset.setPlaceholderText("a new folder for the dataset")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.max_seconds = QDoubleSpinBox()
        self.max_seconds.setRange(0, 24 * 3600)
        self.max_seconds.setSpecialValueText("no limit")
        self.max_seconds.setSuffix(" s")
        self.discard_seconds = QDoubleSpinBox()
        self.discard_seconds.setRange(0.5, 600)
        self.discard_seconds.setValue(5.0)
        self.discard_seconds.setSuffix(" s")
        where = QHBoxLayout()
        where.addWidget(self.dataset, 1)
        where.addWidget(browse)
        form = QFormLayout()
        form.addRow("Dataset:", where)
        limits = QHBoxLayout()
        for label, spin in (("Stop after:", self.max_seconds), ("Discard span:", self.discard_seconds)):
            spin.setMinimumWidth(110)
            limits.addWidget(QLabel(label))
            limits.addWidget(spin)
        limits.addStretch(1)
        form.addRow(limits)

        self.record_button = QPushButton("● Record")
        self.record_button.setToolTip("Start or stop recording (Ctrl+R)")
        self.record_button.clicked.connect(self.toggle)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause or resume (Ctrl+P; the profile's toggle hotkey, F8, too)")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.discard_button = QPushButton("Discard last 5 s")
        self.discard_button.setToolTip("Forget the last seconds of this episode (Ctrl+D; F9 too)")
        self.discard_button.clicked.connect(self.discard)
        self.discard_seconds.valueChanged.connect(lambda v: self.discard_button.setText(f"Discard last {v:g} s"))
        buttons = QHBoxLayout()
        for button in (self.record_button, self.pause_button, self.discard_button):
            buttons.addWidget(button)
        buttons.addStretch(1)

        stats, self.values = readout_grid(self.FIELDS)
        self.histogram = Bars()
        histogram_box = QGroupBox("Actions recorded")
        QVBoxLayout(histogram_box).addWidget(self.histogram)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addLayout(stats)
        layout.addWidget(histogram_box)
        layout.addWidget(self.log)
        layout.addStretch(1)

        self._target_changed()
        last = self.settings.value("record/dataset", "", str)
        self.dataset.setText(str(self.suggest(Path(last).parent if last else Path.cwd() / "demos")))
        self._set_state("idle")

    # -- choosing ------------------------------------------------------------------------------------------------
    def suggest(self, folder: Path) -> Path:
        """A new dataset folder in ``folder``, named after the game and the time."""
        profile = self.game.target_profile()
        name = "".join(c if c.isalnum() or c in "-_" else "-" for c in (profile.name if profile else "demos"))
        return free_path(folder, f"{name}-{timestamp()}")

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the new dataset", self.dataset.text())
        if folder:
            self.dataset.setText(str(self.suggest(Path(folder))))

    def _target_changed(self) -> None:
        profile = self.game.target_profile()
        if self._task is None:
            self.histogram.set_names(profile.actions.names if profile is not None else ())

    # -- recording -----------------------------------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        return self.running

    def start(self) -> None:
        profile = self._target()
        if profile is None:
            return
        if not self.dataset.text().strip():
            self.error.emit("record: give a folder for the new dataset")
            return
        out = Path(self.dataset.text().strip()).expanduser()
        control = RecordControl()
        max_seconds = self.max_seconds.value() or None
        discard_seconds = self.discard_seconds.value()
        self.histogram.set_names(profile.actions.names)

        def run(t: Task) -> RecordResult:
            return record(profile, out, max_seconds=max_seconds, discard_seconds=discard_seconds,
                          status=t.status.emit, stop=t.stop_event, control=control)  # fmt: skip

        self.control, self.result, self.disk_bytes = control, None, 0
        self._begin(Task(self.NAME, run, self), 250)
        disk = Task("disk use", lambda t: run_disk_usage(t, out), self)
        disk.ready.connect(lambda: self._show_disk(disk))
        disk.finished.connect(lambda: self._disk_finished(disk))
        self._disk = self.pool.start(disk)
        self.log.setText(f"recording {profile.window!r} into {out}")

    def toggle_pause(self) -> None:
        if self.control is not None and self._task is not None:
            self.control.toggle_pause()

    def discard(self) -> None:
        if self.control is not None and self._task is not None:
            self.control.discard(self.discard_seconds.value())

    def _succeeded(self, result: RecordResult) -> None:
        self.result = result
        self.settings.setValue("record/dataset", str(result.path))
        ended = f" ({result.stopped})" if result.stopped else ""
        self.log.setText(f"wrote {result.steps} steps ({result.seconds:.1f} s) in {result.episodes} episode(s) to "
                         f"{result.path}; discarded {result.discarded}{ended}")  # fmt: skip
        self.dataset.setText(str(self.suggest(result.path.parent)))

    def _finished(self) -> None:
        super()._finished()
        if self._disk is not None:
            self._disk.request_stop()

    def _show_progress(self) -> None:
        if self.control is None:
            return
        progress: RecordProgress = self.control.progress
        self.updates += 1
        fields = {
            "frames": str(progress.steps),
            "duration": f"{progress.seconds:.1f} s",
            "elapsed": f"{progress.elapsed:.1f} s",
            "episodes": str(progress.episodes),
            "idle frames": str(progress.idle),
            "discarded": str(progress.discarded),
        }
        for name, text in fields.items():
            self.values[name].setText(text)
        if len(progress.actions) == len(self.histogram.names):
            self.histogram.set_values(progress.actions)
        self._follow(progress.state)

    def _show_disk(self, task: Task) -> None:
        value = task.latest()
        if value is not None and task is self._disk:
            self.disk_bytes = value
            self.values["disk use"].setText(human_bytes(value))

    def _disk_finished(self, task: Task) -> None:
        self._show_disk(task)
        if task is self._disk:
            self._disk = None

    def _show_state(self, state: str) -> None:
        self.values["state"].setText(state)
        self.record_button.setText("■ Stop" if self._task is not None else "● Record")
        self.record_button.setEnabled(state != "stopping")
        live = self._task is not None and state in ("recording", "paused", "waiting")
        self.pause_button.setEnabled(live)
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.discard_button.setEnabled(live)
        self.dataset.setEnabled(self._task is None)

    def shutdown(self) -> None:
        """The panel closes: stop recording (what was recorded is kept) and the disk measure."""
        super().shutdown()
        if self._disk is not None:
            self._disk.request_stop()
