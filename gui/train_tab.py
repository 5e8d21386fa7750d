"""The Train tab: a learner's ``train`` (A3C or PPO, ``agent.learners``) on a task thread, stopped and watched
through a ``TrainControl``.

The run is configured as ``pixelpilot train --algo`` configures it: the form's values go through the command's own
option parser (``config.from_texts``), defaults and help come from the learner's options, and (A3C) a game window is
trained on through
``for_screen``, as ``--profile`` does (the Game tab's profile; each process on a virtual desktop of its own,
or one worker on this desktop). The workers are processes of the panel: stopping, or closing the panel, ends the
run as Ctrl-C ends the command's (a checkpoint saved, every process joined).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import os
import socket
import sys
from pathlib import Path

from PyQt5.QtCore import QSettings, QTimer, QUrl
from PyQt5.QtGui import QDesktopServices
from PyQt5.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from agent import config
from agent.a3c.args import Args, for_screen
from agent.a3c.presets import CLASSIC
from agent.envs import SCREEN_ENV
from agent.envs.launcher import GameProcess, free_port
from agent.learners import DEFAULT, LEARNERS, Learner
from agent.learning.args import RunArgs
from agent.learning.progress import TrainControl, TrainProgress
from agent.learning.record import TrainResult
from capture.errors import PixelpilotError
from gui.game_tab import GameTab
from gui.option_fields import OptionField, TextField, field_for
from gui.readouts import readout_grid
from gui.task_tab import TaskTab
from gui.train_plot import PlotView, run_plot
from gui.worker import Task, TaskPool

ENV_IDS = ("pixelpilot/NeonRace-v0", *CLASSIC)
"""offered in the list; any registered id may be typed"""
HYPERPARAMETERS = {
    "a3c": ("workers", "envs_per_worker", "total_steps", "n_steps", "lr", "gamma", "entropy_coef", "eval_every",
            "checkpoint_every", "seed", "critic_warmup", "init_kl_coef", "ray"),
    "ppo": ("num_envs", "total_steps", "n_steps", "lr", "gamma", "entropy_coef", "update_epochs", "num_minibatches",
            "clip_coef", "eval_every", "checkpoint_every", "seed"),
    "dppo": ("num_envs", "total_steps", "n_steps", "lr", "gamma", "entropy_coef", "update_epochs", "num_minibatches",
             "clip_coef", "eval_every", "checkpoint_every", "seed"),
    "reinforce": ("episodes_per_update", "total_steps", "lr", "gamma", "entropy_coef", "eval_every",
                  "checkpoint_every", "seed"),
    "actor-critic": ("num_envs", "total_steps", "lr", "gamma", "entropy_coef", "value_coef", "eval_every",
                     "checkpoint_every", "seed"),
    "dqn": ("total_steps", "lr", "gamma", "batch_size", "buffer_size", "learning_starts", "train_frequency",
            "gradient_steps", "target_network_frequency", "start_e", "exploration_fraction", "end_e", "eval_every",
            "seed", "double", "dueling", "prioritized", "demos", "demo_pretrain_steps"),
    "ddpg": ("total_steps", "actor_lr", "critic_lr", "gamma", "tau", "batch_size", "buffer_size", "learning_starts",
             "train_frequency", "gradient_steps", "exploration_noise", "policy_frequency", "eval_every", "seed"),
}  # fmt: skip
"""the fields of each learner's options the form shows (the rest keep their defaults; ``config.toml`` and
``--config`` reach them)"""
DEFAULTS = config.defaults(Args)
OPTION_DEFAULTS = {name: value for entry in LEARNERS.values() for name, value in config.defaults(entry.args).items()}
"""each option's default (the same in every learner that has it): a switch gets a check box"""
DOCS = {name: doc for entry in LEARNERS.values() for name, doc in config.field_docs(entry.args).items()}
DISPLAYS = {"virtual": "its own virtual desktops (a desktop and game per process)", "here": "this desktop (1 worker)"}


def steps_text(progress: TrainProgress) -> str:
    share = progress.steps / progress.total_steps if progress.total_steps else 0.0
    return f"{progress.steps:,} / {progress.total_steps:,} ({share:.0%})"


def number(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"  # NaN: not measured yet


def shares_text(shares: dict[str, float], top: int = 3) -> str:
    """The most sampled actions with their shares, e.g. "up+x 72%, right+up 15%, left+up 12%"."""
    ranked = sorted(shares.items(), key=lambda item: -item[1])[:top]
    return ", ".join(f"{name} {share:.0%}" for name, share in ranked) or "-"


def health_text(readings: dict[str, float]) -> str:
    """The network's health: feature variation over time, and an LSTM's saturated outputs."""
    parts = []
    if "feature_std" in readings:
        parts.append(f"features vary {readings['feature_std']:.3f}")
    if "lstm_saturation" in readings:
        parts.append(f"LSTM saturated {readings['lstm_saturation']:.0%}")
    return ", ".join(parts) or "-"


class TrainTab(TaskTab):
    """States: starting, training, finishing (saving, joining the processes), stopping or idle."""

    NAME = "train"
    SPEAKER = "trainer"
    FIELDS = ("state", "steps", "steps/s", "updates", "episodes", "return (last 20)", "last evaluation",
              "best evaluation", "entropy", "explained variance", "actions", "network")  # fmt: skip

    def __init__(self, pool: TaskPool, settings: QSettings, game: GameTab) -> None:
        super().__init__(pool, settings, game)
        self.control: TrainControl | None = None
        self.result: TrainResult | None = None
        self.run_dir: Path | None = None
        """the folder of the current or last run"""
        self.tensorboard: GameProcess | None = None
        self.tensorboard_url: str | None = None
        self._drives_keys = False
        self._plotter: Task | None = None
        self._checkpoints_shown: tuple[tuple[Path, int], ...] = ()
        self._warning_shown: str | None = None

        self.algo = QComboBox()
        for name, entry in LEARNERS.items():
            self.algo.addItem(entry.title, name)
        self.algo.setToolTip("The learner (--algo): A3C's worker processes; DPPO's environments in "
                             "worker processes; or PPO, REINFORCE, one-step actor-critic, DQN or DDPG in the panel's "
                             "process. Only A3C trains through a game window or from a checkpoint")  # fmt: skip
        self.on_env = QRadioButton("Environment (in-process):")
        self.on_window = QRadioButton("Game window:")
        source = QButtonGroup(self)
        source.addButton(self.on_env)
        source.addButton(self.on_window)
        self.env_id = QComboBox()
        self.env_id.setEditable(True)
        self.env_id.addItems(ENV_IDS)
        self.env_id.setMinimumContentsLength(22)
        self.env_id.setToolTip(DOCS["env_id"])
        self.window_profile = QLabel()
        self.display = QComboBox()
        for key, text in DISPLAYS.items():
            self.display.addItem(text, key)
        self.display.setToolTip("A virtual desktop per worker and evaluator (any number of workers), or the "
                                "game on this desktop: one worker, no evaluator, pressing its keys here")  # fmt: skip
        self.env_kwargs = TextField(width=None)
        self.env_kwargs.setPlaceholderText("KEY=VALUE ... (e.g. difficulty_name=easy)")
        self.env_kwargs.setToolTip(DOCS["env_kwargs"])
        self.init_from = TextField(width=None)
        self.init_from.setPlaceholderText("none: random weights (a checkpoint or run folder to fine-tune)")
        self.init_from.setToolTip(DOCS["init_from"])
        browse_init = QPushButton("Browse…")
        browse_init.clicked.connect(self._browse_init)
        self.runs_dir = TextField(width=None)
        self.runs_dir.setToolTip(DOCS["runs_dir"])
        browse_runs = QPushButton("Browse…")
        browse_runs.clicked.connect(self._browse_runs)

        grid = QGridLayout()
        grid.addWidget(self.on_env, 0, 0)
        grid.addWidget(self.env_id, 0, 1)
        grid.addWidget(QLabel("Env options:"), 0, 2)
        grid.addWidget(self.env_kwargs, 0, 3, 1, 2)
        grid.addWidget(self.on_window, 1, 0)
        grid.addWidget(self.window_profile, 1, 1)
        grid.addWidget(QLabel("on"), 1, 2)
        grid.addWidget(self.display, 1, 3, 1, 2)
        grid.addWidget(QLabel("Start from:"), 2, 0)
        grid.addWidget(self.init_from, 2, 1, 1, 3)
        grid.addWidget(browse_init, 2, 4)
        grid.addWidget(QLabel("Runs folder:"), 3, 0)
        grid.addWidget(self.runs_dir, 3, 1, 1, 3)
        grid.addWidget(browse_runs, 3, 4)
        grid.addWidget(QLabel("Learner:"), 4, 0)
        grid.addWidget(self.algo, 4, 1)
        grid.setColumnStretch(3, 1)

        self._all_edits: dict[str, tuple[QLabel, OptionField]] = {}
        for name in dict.fromkeys(n for names in HYPERPARAMETERS.values() for n in names):
            self._all_edits[name] = (QLabel(name.replace("_", " ") + ":"), field_for(OPTION_DEFAULTS[name]))
        self.numbers = QGridLayout()
        self.hyperparameters: dict[str, OptionField] = {}
        """the chosen learner's fields"""
        self.env_id.currentTextChanged.connect(self._show_defaults)
        self.on_window.toggled.connect(self._show_defaults)
        self.algo.currentIndexChanged.connect(self._learner_changed)
        self.form = QWidget()
        form_layout = QVBoxLayout(self.form)
        form_layout.setContentsMargins(0, 0, 0, 0)
        form_layout.addLayout(grid)
        form_layout.addLayout(self.numbers)

        self.train_button = QPushButton("▶ Train")
        self.train_button.setToolTip("Start or stop training (Ctrl+Shift+T); stopping saves a checkpoint")
        self.train_button.clicked.connect(self.toggle)
        self.open_button = QPushButton("Open run folder")
        self.open_button.clicked.connect(self.open_run_folder)
        self.tensorboard_button = QPushButton("TensorBoard")
        self.tensorboard_button.setToolTip("Start TensorBoard on the run (or the runs folder), or stop it")
        self.tensorboard_button.clicked.connect(self.toggle_tensorboard)
        self.tensorboard_link = QLabel("")
        self.tensorboard_link.setOpenExternalLinks(True)
        buttons = QHBoxLayout()
        for button in (self.train_button, self.open_button, self.tensorboard_button):
            buttons.addWidget(button)
        buttons.addWidget(self.tensorboard_link, 1)

        stats, self.values = readout_grid(self.FIELDS)
        self.plot = PlotView()
        self.checkpoints = QListWidget()
        self.checkpoints.setMaximumWidth(260)
        checkpoints_box = QGroupBox("Checkpoints of the run")
        QVBoxLayout(checkpoints_box).addWidget(self.checkpoints)
        body = QHBoxLayout()
        body.addWidget(self.plot, 1)
        body.addWidget(checkpoints_box)

        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addLayout(buttons)
        layout.addLayout(stats)
        layout.addLayout(body, 1)
        layout.addWidget(self.log)

        self._tensorboard_timer = QTimer(self)
        self._tensorboard_timer.timeout.connect(self._check_tensorboard)
        self._restore()
        self._target_changed()
        self._set_state("idle")

    # -- choosing ------------------------------------------------------------------------------------------------
    def _restore(self) -> None:
        """The last session's choices (saved when a run starts)."""
        value = self.settings.value
        self.algo.setCurrentIndex(max(0, self.algo.findData(value("train/algo", DEFAULT, str))))
        self._learner_changed()
        (self.on_window if value("train/source", "env", str) == "window" else self.on_env).setChecked(True)
        self.env_id.setCurrentText(value("train/env", DEFAULTS["env_id"], str))
        self.display.setCurrentIndex(max(0, self.display.findData(value("train/display", "virtual", str))))
        # Hyperparameters start empty: their placeholders show the chosen environment's preset, which a text
        # typed in would override.
        defaults = {"runs_dir": DEFAULTS["runs_dir"]}
        for name, edit in self._edits(every=True).items():
            edit.set_value(value(f"train/{name}", defaults.get(name, ""), str))

    def _save(self) -> None:
        self.settings.setValue("train/algo", self.algo.currentData())
        self.settings.setValue("train/source", "window" if self.on_window.isChecked() else "env")
        self.settings.setValue("train/env", self.env_id.currentText())
        self.settings.setValue("train/display", self.display.currentData())
        for name, edit in self._edits().items():
            self.settings.setValue(f"train/{name}", edit.value())

    @property
    def learner(self) -> Learner:
        return LEARNERS[self.algo.currentData()]

    def _edits(self, every: bool = False) -> dict[str, OptionField]:
        """The fields by option: the chosen learner's, or ``every`` learner's."""
        edits = {"env_kwargs": self.env_kwargs, "runs_dir": self.runs_dir}
        if every or self.learner.args is Args:
            edits["init_from"] = self.init_from
        return edits | ({n: e for n, (_, e) in self._all_edits.items()} if every else self.hyperparameters)

    def _learner_changed(self) -> None:
        """The chosen learner's fields in the grid, and what only A3C does (a game window, a starting checkpoint)
        offered only with it."""
        while self.numbers.count():
            item = self.numbers.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.hide()
        names = HYPERPARAMETERS[self.algo.currentData()]
        self.hyperparameters = {name: self._all_edits[name][1] for name in names}
        for i, name in enumerate(names):
            label, edit = self._all_edits[name]
            self.numbers.addWidget(label, i // 5, (i % 5) * 2)
            self.numbers.addWidget(edit, i // 5, (i % 5) * 2 + 1)
            label.show()
            edit.show()
        a3c = self.learner.args is Args
        if not a3c and self.on_window.isChecked():
            self.on_env.setChecked(True)
        self.on_window.setEnabled(a3c)
        self.init_from.setEnabled(a3c)
        self._show_defaults()

    def _browse_init(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Start from a checkpoint", self.init_from.text(), "Checkpoints (*.pt)"
        )
        if path:
            self.init_from.setText(path)

    def _browse_runs(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the runs", self.runs_dir.text())
        if folder:
            self.runs_dir.setText(folder)

    def _target_changed(self) -> None:
        profile = self.game.profile
        self.window_profile.setText(f"profile {profile.name} (Game tab)" if profile else "(choose one in the Game tab)")

    def _show_defaults(self) -> None:
        """Empty fields show what the run will use: the environment's preset where it has one."""
        try:
            base = self.learner.starting_args(SCREEN_ENV if self.on_window.isChecked() else self.env_id.currentText())
        except config.ConfigError:
            return
        for name, edit in self.hyperparameters.items():
            value = getattr(base, name)
            edit.show_preset(value)
            edit.setToolTip(f"{DOCS[name]} (--{name.replace('_', '-')}; default {value} here)")

    def args(self) -> RunArgs:
        """The run the form describes, as ``pixelpilot train --algo`` would make it from the same options."""
        texts: dict[str, str | list[str]] = {name: edit.value() for name, edit in self._edits().items()}
        texts |= {"env_id": self.env_id.currentText(), "env_kwargs": self.env_kwargs.value().split()}
        base = self.learner.starting_args(SCREEN_ENV if self.on_window.isChecked() else self.env_id.currentText())
        args = dataclasses.replace(config.from_texts(self.learner.args, texts, base), progress=False)
        if not self.on_window.isChecked():
            return args
        assert isinstance(args, Args)  # only A3C trains through a window
        profile = self.game.profile
        if profile is None or profile.path is None:
            raise config.ConfigError("training through a game window needs its profile: choose one in the Game tab")
        display = "virtual" if self.display.currentData() == "virtual" else os.environ.get("DISPLAY", "")
        return for_screen(args, str(profile.path), display)

    # -- training ------------------------------------------------------------------------------------------------
    @property
    def drives_keys(self) -> bool:
        return self.running and self._drives_keys

    def start(self) -> None:
        try:
            args = self.args()
        except PixelpilotError as exc:
            self.error.emit(f"train: {exc}")
            return
        here = self.on_window.isChecked() and self.display.currentData() == "here"
        if here and self._keys_taken():
            return

        learner = self.learner

        def run(t: Task) -> TrainResult:
            return learner.train(args, control=control)

        task = Task(self.NAME, run, self)
        control = TrainControl(stop=task.stop_event)  # the task's stop (the button, closing the panel) ends the run
        self._save()
        self.control, self.result, self._drives_keys = control, None, here
        self._begin(task, 250)
        plotter = Task("plot", lambda t: run_plot(t, control, lambda: self.plot.size_wanted), self)
        plotter.ready.connect(lambda: self._show_plot(plotter))
        plotter.failed.connect(self.error)
        plotter.finished.connect(lambda: self._show_plot(plotter))
        self._plotter = self.pool.start(plotter)
        where = f"{Path(args.env_kwargs['profile']).name}'s window" if "profile" in args.env_kwargs else args.env_id
        how = f"{args.workers} worker(s)" if isinstance(args, Args) else learner.title
        self.log.setText(f"training on {where} with {how}")

    def _succeeded(self, result: TrainResult) -> None:
        self.result = result
        self.run_dir = result.run_dir
        parts = [f"run {result.run_dir}: {result.steps:,} steps in {result.wall_s:.0f} s"]
        if result.interrupted:
            parts.append("stopped; checkpoint saved")
        if result.curve:
            last = result.curve[-1]
            parts.append(f"last evaluation {last.mean:.1f} ± {last.std:.1f} at {last.steps:,} steps")
        if result.solved is not None:
            parts.append(f"reached the target at {result.solved.steps:,} steps")
        self.log.setText("; ".join(parts))

    def _show_progress(self) -> None:
        if self.control is None:
            return
        progress = self.control.progress
        self.updates += 1
        evaluations = [p.mean for p in progress.evaluations]
        fields = {
            "steps": steps_text(progress),
            "steps/s": number(progress.sps, 0),
            "updates": f"{progress.updates:,}",
            "episodes": f"{progress.episodes:,}",
            "return (last 20)": number(progress.recent_return),
            "last evaluation": number(evaluations[-1]) if evaluations else "-",
            "best evaluation": number(max(evaluations)) if evaluations else "-",
            "entropy": number(progress.behaviour.get("entropy", math.nan), 2),
            "explained variance": number(progress.behaviour.get("explained_variance", math.nan), 2),
            "actions": shares_text(progress.action_shares),
            "network": health_text(progress.behaviour),
        }
        for name, text in fields.items():
            self.values[name].setText(text)
        if progress.warnings and progress.warnings[-1] != self._warning_shown:
            self._warning_shown = progress.warnings[-1]
            self.log.setText("warning: " + self._warning_shown)
        if progress.run_dir is not None and progress.run_dir != self.run_dir:
            self.run_dir = progress.run_dir
            self.open_button.setEnabled(True)
        if progress.checkpoints != self._checkpoints_shown:
            self._checkpoints_shown = progress.checkpoints
            self.checkpoints.clear()
            for path, steps in progress.checkpoints:
                item = QListWidgetItem(f"{path.name}  ·  {steps:,} steps")
                item.setToolTip(str(path))
                self.checkpoints.addItem(item)
        self._follow(progress.state)

    def _show_plot(self, task: Task) -> None:
        image = task.latest()
        if image is not None and self._plotter in (task, None):  # not the last curves of a run before this one
            self.plot.show_image(image)

    def _finished(self) -> None:
        super()._finished()
        if self._plotter is not None:
            self._plotter.request_stop()  # after drawing the run's last curves
            self._plotter = None

    def _show_state(self, state: str) -> None:
        self.values["state"].setText(state)
        self.train_button.setText("■ Stop" if self._task is not None else "▶ Train")
        self.train_button.setEnabled(state not in ("stopping", "finishing"))
        self.form.setEnabled(self._task is None)
        self.open_button.setEnabled(self.run_dir is not None)

    # -- the run's files -----------------------------------------------------------------------------------------
    def open_run_folder(self) -> None:
        if self.run_dir is None:
            return
        folder = self.run_dir.resolve()
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.error.emit(f"train: no file manager answered (xdg-open); the run folder is {folder}")

    def toggle_tensorboard(self) -> None:
        """TensorBoard on the run's folder (the runs folder before any run), as a child process; or stop it."""
        if self.tensorboard is not None:
            self._stop_tensorboard()
            return
        logdir = (self.run_dir or Path(self.runs_dir.text().strip() or DEFAULTS["runs_dir"]).expanduser()).resolve()
        if importlib.util.find_spec("tensorboard") is None:
            self.error.emit(
                f"TensorBoard is not installed: pip install tensorboard; then tensorboard --logdir {logdir}"
            )
            return
        port = free_port(socket.SOCK_STREAM)
        command = [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host", "127.0.0.1",
                   "--port", str(port)]  # fmt: skip
        try:
            self.tensorboard = GameProcess(command, what="TensorBoard")
        except PixelpilotError as exc:
            self.error.emit(str(exc))
            return
        self.tensorboard_url = f"http://127.0.0.1:{port}/"
        self.tensorboard_link.setText(f'TensorBoard of {logdir.name}: <a href="{self.tensorboard_url}">'
                                      f"{self.tensorboard_url}</a>")  # fmt: skip
        self.tensorboard_button.setText("Stop TensorBoard")
        self._tensorboard_timer.start(1000)

    def _check_tensorboard(self) -> None:
        if self.tensorboard is not None and (how := self.tensorboard.exited()):
            self._stop_tensorboard()
            self.error.emit(how)

    def _stop_tensorboard(self) -> None:
        tensorboard, self.tensorboard, self.tensorboard_url = self.tensorboard, None, None
        self._tensorboard_timer.stop()
        self.tensorboard_link.setText("")
        self.tensorboard_button.setText("TensorBoard")
        if tensorboard is not None:
            task = Task("stop TensorBoard", lambda t: tensorboard.stop(), self)
            task.failed.connect(self.error)
            self.pool.start(task)

    def shutdown(self) -> None:
        """The panel closes: stop training (a checkpoint is saved), its curves and TensorBoard."""
        super().shutdown()
        if self._plotter is not None:
            self._plotter.request_stop()
        self._stop_tensorboard()
