"""The control panel (pytest-qt) driving the real NeonRace window on the test desktop (Xvfb + openbox)."""

from __future__ import annotations

import multiprocessing
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest
from PyQt5 import sip
from PyQt5.QtCore import QEvent, QSettings, Qt, QTimer, QUrl
from PyQt5.QtGui import QDesktopServices, QImage
from PyQt5.QtWidgets import QApplication, QCheckBox

from agent.a3c.args import Args
from agent.demos.dataset import load_demos
from agent.demos.pretrain import PretrainResult
from agent.drive.lap_demo import SHIPPED_PILOT
from agent.drive.play import PlayResult
from agent.envs.launcher import free_port
from agent.learners import LEARNERS
from agent.policy.checkpoint import load_checkpoint
from capture.windows import default_backend
from control.actions import ACTION_NAMES
from control.xkeys import pressed
from gui.app import MainWindow, start_demo
from gui.train_tab import HYPERPARAMETERS
from tests.conftest import ROOT, processes_with
from tests.test_a3c import running
from tests.test_neonrace_window import MANAGED, neonrace_profile
from tests.test_play import always_up_checkpoint
from tests.test_record import Person


@pytest.fixture(scope="module")
def qapp(desktop: str) -> Iterator[QApplication]:
    """pytest-qt's QApplication, on the session's virtual desktop, and destroyed before that desktop stops: Qt
    exits the process when the X server of a live QApplication goes away."""
    app = QApplication.instance() or QApplication(["pixelpilot-test"])
    yield app
    app.closeAllWindows()
    QApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    sip.delete(app)


class StallMeter:
    """A 10 ms timer on the GUI thread: the longest gap between its ticks that the panel itself caused.

    A gap is time the GUI thread was busy, blocked, or ready to run while other processes had the cores. Only the
    last is not the panel's doing, and on a loaded machine it alone reaches hundreds of milliseconds; the kernel
    counts it per thread (``run_delay`` in ``/proc/thread-self/schedstat``), so each gap is measured without it.
    """

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self.last: tuple[float, float] | None = None
        self.worst = 0.0
        self.ticks = 0
        self.long: list[tuple[float, float, float]] = []  # (s since start, own gap ms, gap ms) of gaps over 50 ms

    @staticmethod
    def _now() -> tuple[float, float]:
        """(wall clock, seconds this thread has waited for a core), both in seconds."""
        with open("/proc/thread-self/schedstat") as file:
            waited_ns = int(file.read().split()[1])
        return time.perf_counter(), waited_ns / 1e9

    def _tick(self) -> None:
        now, waited = self._now()
        if self.last is not None:
            gap = now - self.last[0]
            own = gap - (waited - self.last[1])
            self.worst = max(self.worst, own)
            if gap > 0.05:
                self.long.append((round(now - self.began, 2), round(own * 1000), round(gap * 1000)))
        self.last = now, waited
        self.ticks += 1

    def start(self) -> None:
        self.last, self.worst, self.ticks, self.long = None, 0.0, 0, []
        self.began = time.perf_counter()
        self.timer.start(10)

    def stop(self) -> None:
        self.timer.stop()


@pytest.fixture
def panel(desktop: str, qtbot, tmp_path: Path) -> Iterator[MainWindow]:
    window = MainWindow(QSettings(str(tmp_path / "gui.ini"), QSettings.IniFormat))
    with qtbot.waitExposed(window):
        window.show()
    try:
        yield window
    finally:
        window.close()  # stops every task and the game it launched, then really closes
        qtbot.waitUntil(lambda: window.stopped_cleanly, timeout=30_000)
        window.deleteLater()


def launch(qtbot, panel: MainWindow, profile: Path, title: str) -> None:
    panel.game.choose_profile(str(profile))
    qtbot.mouseClick(panel.game.launch_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.game.game is not None and panel.game.picked is not None, timeout=60_000)
    assert panel.game.picked is not None and panel.game.picked.title == title


def test_panel_previews_records_and_closes_cleanly(panel, qtbot, tmp_path):
    title, port = f"NeonRace-{uuid.uuid4().hex[:6]}", free_port()
    profile = neonrace_profile(tmp_path / "p.toml", title, port, seed=4)
    launch(qtbot, panel, profile, title)

    # The preview follows the window at the profile's fps, next to the processed 128x200 frame (shown 2x).
    shown = panel.game.frames_shown
    started = time.monotonic()
    qtbot.waitUntil(lambda: panel.game.frames_shown >= shown + 30, timeout=15_000)
    assert 30 / (time.monotonic() - started) > 7  # 15 fps asked; a loaded machine may lag, not stop
    obs = panel.game.obs_view.pixmap()
    assert obs is not None and (obs.width(), obs.height()) == (400, 256)
    assert panel.game.window_view.pixmap() is not None and "preview" in panel.game.info.text()
    qtbot.waitUntil(lambda: any(w.title == title for w in panel.game.windows), timeout=10_000)
    assert panel.settings.value("game/profile") == str(profile)

    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow, timeout=5_000)
    qtbot.keyClick(panel, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)  # the Record tab's shortcut
    assert panel.tabs.currentWidget() is panel.record
    out = tmp_path / "demos"
    panel.record.dataset.setText(str(out))
    panel.record.discard_seconds.setValue(1.0)

    stalls = StallMeter()
    stalls.start()
    frames_seen: list[int] = []
    sampler = QTimer()
    keys_seen: set[str] = set()
    sampler.timeout.connect(lambda: frames_seen.append(panel.record.control.progress.steps))
    sampler.timeout.connect(lambda: keys_seen.add(panel.status.keys.text()))
    qtbot.mouseClick(panel.record.record_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.record.values["state"].text() == "recording", timeout=30_000)
    sampler.start(200)
    person = Person(start_after=0.3, script=(("up", 1.5), ("left up", 1.2), ("up", 1.3)))
    person.start()
    qtbot.waitUntil(person.done.is_set, timeout=20_000)
    qtbot.waitUntil(lambda: panel.status.keys.text() == "keys: -", timeout=2_000)  # the person let go
    assert {"keys: up", "keys: left+up"} <= keys_seen  # the status bar showed the keys held

    qtbot.mouseClick(panel.record.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.record.values["state"].text() == "paused", timeout=5_000)
    assert panel.record.pause_button.text() == "Resume"
    paused_at = panel.record.control.progress.steps
    qtbot.wait(700)
    assert panel.record.control.progress.steps == paused_at
    qtbot.mouseClick(panel.record.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.record.values["state"].text() == "recording", timeout=5_000)
    sampler.stop()
    qtbot.mouseClick(panel.record.discard_button, Qt.MouseButton.LeftButton)  # the last second
    qtbot.waitUntil(lambda: panel.record.control.progress.discarded >= 10, timeout=5_000)
    qtbot.mouseClick(panel.record.record_button, Qt.MouseButton.LeftButton)  # stop
    qtbot.waitUntil(lambda: panel.record.result is not None and not panel.record.recording, timeout=30_000)
    stalls.stop()
    result = panel.record.result

    assert panel.errors == []
    assert stalls.ticks > 100 and stalls.worst < 0.100, f"GUI thread stalls (s, own ms, ms): {stalls.long}"
    assert len(set(frames_seen)) >= 10 and frames_seen == sorted(frames_seen)  # the numbers grew live
    assert panel.record.values["frames"].text() == str(result.steps) and panel.record.disk_bytes > 0
    histogram = dict(zip(panel.record.histogram.names, panel.record.histogram.values, strict=True))
    assert histogram["up"] >= 15 and histogram["left+up"] >= 10, histogram

    demos = load_demos(out, n_actions=7)
    # Discarded steps of the unwritten segment never reach the disk; only written ones are marked discarded there.
    assert len(demos.actions) == result.steps > 40 and result.discarded >= 10 and demos.discarded <= result.discarded
    assert demos.meta["profile"] == "neonrace-test"
    names = [ACTION_NAMES[a] for a, idle in zip(demos.actions, demos.idle, strict=True) if not idle]
    assert {name: names.count(name) for name in ("up", "left+up")} == {
        "up": histogram["up"],
        "left+up": histogram["left+up"],
    }
    assert panel.settings.value("record/dataset") == str(out)
    assert panel.record.dataset.text() != str(out)  # a new folder is proposed for the next recording

    panel.close()
    qtbot.waitUntil(lambda: panel.stopped_cleanly, timeout=30_000)
    assert not panel.isVisible() and panel.pool.running() == []
    assert processes_with(title) == [] and pressed(MANAGED) == set()


def test_closing_the_panel_mid_recording_keeps_the_recording_and_stops_the_game(panel, qtbot, tmp_path):
    title, port = f"NeonRace-{uuid.uuid4().hex[:6]}", free_port()
    launch(qtbot, panel, neonrace_profile(tmp_path / "p.toml", title, port, seed=7), title)
    panel.tabs.setCurrentWidget(panel.record)
    out = tmp_path / "demos"
    panel.record.dataset.setText(str(out))
    panel.record.start()
    qtbot.waitUntil(lambda: panel.record.control.progress.steps >= 20, timeout=30_000)
    panel.close()
    assert panel.isVisible()  # still stopping: the window closes once the work has ended
    qtbot.waitUntil(lambda: panel.stopped_cleanly, timeout=30_000)
    assert panel.errors == [] and panel.pool.running() == []
    assert processes_with(title) == [] and pressed(MANAGED) == set()
    assert len(load_demos(out, n_actions=7).actions) >= 20


def test_panel_plays_toggles_the_autopilot_kills_and_closes_cleanly(panel, qtbot, tmp_path):
    checkpoint = always_up_checkpoint(tmp_path)  # its pilot always holds "up"
    title, port = f"NeonRace-{uuid.uuid4().hex[:6]}", free_port()
    launch(qtbot, panel, neonrace_profile(tmp_path / "p.toml", title, port, seed=5), title)
    assert panel.game.picked is not None
    game_handle = panel.game.picked.handle

    def beside() -> bool:  # the game's window does not hide the panel's readouts
        game, frame = default_backend().client_rect(game_handle), panel.frameGeometry()
        return game.left > frame.right() or game.left + game.width < frame.left()

    qtbot.waitUntil(beside, timeout=10_000)
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow, timeout=5_000)
    qtbot.keyClick(panel, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)  # the Play tab's shortcut
    play = panel.play
    assert panel.tabs.currentWidget() is play
    play.checkpoint.setText(str(checkpoint))

    assert play.autopilot_button.text() == "AUTOPILOT (no pilot playing)" and not play.autopilot_button.isChecked()
    stalls = StallMeter()
    stalls.start()
    steps_seen: list[int] = []
    sampler = QTimer()
    sampler.timeout.connect(lambda: steps_seen.append(play.control.progress.steps))
    qtbot.mouseClick(play.play_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: play.values["driver"].text() == "pilot", timeout=60_000)
    sampler.start(200)
    qtbot.waitUntil(lambda: pressed(MANAGED) == {"up"}, timeout=5_000)  # the pilot's keys reach the game
    qtbot.waitUntil(lambda: len(set(steps_seen)) >= 8, timeout=10_000)
    sampler.stop()
    probs = dict(zip(play.probs.names, play.probs.values, strict=True))
    assert probs["up"] > 0.99 and play.probs.highlight == ACTION_NAMES.index("up"), probs
    assert play.values["action"].text() == "up" and play.values["override"].text() == "no"
    assert float(play.values["fps"].text()) > 7 and play.values["decide p99"].text().endswith(" ms")
    assert play.autopilot_button.isChecked() and play.autopilot_button.text() == "AUTOPILOT ON"
    assert play.values["episode"].text() == "1 (0 finished)"  # the status line's "episode 1" too
    seen = play.seen.pixmap()  # what the pilot sees, at twice the observation's size
    assert seen is not None and (seen.width(), seen.height()) == (400, 256)
    assert steps_seen == sorted(steps_seen)  # the numbers grew live

    qtbot.mouseClick(play.autopilot_button, Qt.MouseButton.LeftButton)  # off: every key released
    qtbot.waitUntil(lambda: play.values["driver"].text() == "paused", timeout=5_000)
    assert pressed(MANAGED) == set() and play.autopilot_button.text() == "AUTOPILOT OFF"
    paused_at = play.control.progress.pilot_steps
    qtbot.wait(500)
    assert play.control.progress.pilot_steps == paused_at and pressed(MANAGED) == set()
    # F8, as the global listener's thread reports it, turns it on again and the button follows. (An XTest F8
    # cannot stand in: on Xvfb, XRecord reports each injected key event twice, so one press toggles twice.)
    hotkeys = play.control._hotkeys
    assert hotkeys is not None and hotkeys.toggle_key == "f8"
    hotkeys.on_key("f8", True)
    hotkeys.on_key("f8", False)
    qtbot.waitUntil(lambda: play.autopilot_button.text() == "AUTOPILOT ON", timeout=5_000)
    qtbot.waitUntil(lambda: play.values["driver"].text() == "pilot" and pressed(MANAGED) == {"up"}, timeout=5_000)

    qtbot.mouseClick(play.kill_button, Qt.MouseButton.LeftButton)  # what F12 does
    assert pressed(MANAGED) == set()  # released at once, not at the next step
    qtbot.waitUntil(lambda: not play.playing, timeout=10_000)
    assert play.result is not None and play.result.stopped == "kill switch pressed"
    assert play.result.pilot_steps > 20 and play.result.paused_steps >= 5
    assert play.values["driver"].text() == "idle" and not play.kill_button.isEnabled()
    assert play.autopilot_button.text() == "AUTOPILOT (no pilot playing)"
    assert panel.settings.value("play/checkpoint") == str(checkpoint)

    play.start()  # again, then the panel is closed mid-play
    qtbot.waitUntil(lambda: pressed(MANAGED) == {"up"}, timeout=30_000)
    stalls.stop()
    panel.close()
    qtbot.waitUntil(lambda: panel.stopped_cleanly, timeout=30_000)
    assert panel.errors == [] and panel.pool.running() == []
    assert stalls.ticks > 100 and stalls.worst < 0.100, f"GUI thread stalls (s, own ms, ms): {stalls.long}"
    assert processes_with(title) == [] and pressed(MANAGED) == set()


def test_learns_from_my_corrections_and_loads_the_new_pilot(panel, qtbot, tmp_path, monkeypatch):
    """The person takes over while the pilot plays (X key events, as a person's), the stretch is recorded, and
    "Learn from my corrections" retrains the pilot on it and puts the new pilot in the checkpoint field."""
    monkeypatch.chdir(tmp_path)  # runs/corrections and the new run go here
    checkpoint = always_up_checkpoint(tmp_path)
    title, port = f"NeonRace-{uuid.uuid4().hex[:6]}", free_port()
    launch(qtbot, panel, neonrace_profile(tmp_path / "p.toml", title, port, seed=5), title)
    play = panel.play
    play.checkpoint.setText(str(checkpoint))
    play.record_corrections.setChecked(True)
    play.quiet_seconds.setValue(0.5)
    assert not play.learn_button.isEnabled()  # nothing to learn from yet
    play.start()
    qtbot.waitUntil(lambda: play.values["driver"].text() == "pilot", timeout=60_000)
    person = Person(start_after=0.0, script=(("left", 4.0),))
    person.start()
    qtbot.waitUntil(person.done.is_set, timeout=20_000)
    qtbot.waitUntil(lambda: play.values["driver"].text() == "pilot", timeout=10_000)  # it took over again
    play.stop()
    qtbot.waitUntil(lambda: not play.running, timeout=30_000)
    assert isinstance(play.result, PlayResult) and play.result.overrides_recorded >= 30, play.result
    recorded = load_demos(play.corrections[0])
    assert (np.asarray(ACTION_NAMES)[recorded.actions] == "left").mean() > 0.9
    assert play.learn_button.isEnabled() and play.learn_button.text() == "Learn from my corrections (1)"

    qtbot.mouseClick(play.learn_button, Qt.MouseButton.LeftButton)
    assert play.running and not play.drives_keys and not play.play_button.isEnabled()
    qtbot.waitUntil(lambda: not play.running, timeout=300_000)
    assert panel.errors == [] and isinstance(play.result, PretrainResult)
    new = Path(play.checkpoint.text())
    assert new == play.result.checkpoint and new.is_file() and load_checkpoint(new).is_clone
    assert play.corrections == [] and not play.learn_button.isEnabled() and play.play_button.isEnabled()
    assert load_checkpoint(new).spec == load_checkpoint(checkpoint).spec  # the pilot's own network, retrained
    panel.close()
    qtbot.waitUntil(lambda: panel.stopped_cleanly, timeout=30_000)
    assert processes_with(title) == [] and pressed(MANAGED) == set()


def test_the_demo_opens_the_panel_with_the_shipped_pilot_driving(panel, qtbot, tmp_path):
    """``make demo`` on a desktop: ``pixelpilot demo --panel`` starts the Play tab on the bundled game."""
    title, port = f"NeonRace-{uuid.uuid4().hex[:6]}", free_port()
    profile = neonrace_profile(tmp_path / "p.toml", title, port, seed=5)
    start_demo(panel, str(profile), SHIPPED_PILOT)  # no game open: play launches it from the profile
    play = panel.play
    assert panel.tabs.currentWidget() is play and play.playing
    keys_seen: set[str] = set()
    sampler = QTimer()
    sampler.timeout.connect(lambda: keys_seen.update(pressed(MANAGED)))
    sampler.start(50)
    qtbot.waitUntil(lambda: play.values["driver"].text() == "pilot", timeout=60_000)
    qtbot.waitUntil(lambda: play.control.progress.pilot_steps >= 45 and "up" in keys_seen, timeout=20_000)
    sampler.stop()
    panel.close()
    qtbot.waitUntil(lambda: panel.stopped_cleanly, timeout=30_000)
    assert panel.errors == [] and processes_with(title) == [] and pressed(MANAGED) == set()


def test_errors_are_shown_in_the_panel(panel, qtbot, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\nwindow = "x"\nfps = -1\n')
    panel.game.choose_profile(str(bad))
    assert panel.banner.isVisible() and "fps" in panel.errors[-1] and panel.game.profile is None

    absent = tmp_path / "absent.toml"
    absent.write_text(f'name = "absent"\nwindow = "No-Such-Window-{uuid.uuid4().hex[:6]}"\n[reward]\nsource = "none"\n')
    panel.game.choose_profile(str(absent))
    assert not panel.game.launch_button.isEnabled()  # nothing to launch it with
    panel.tabs.setCurrentWidget(panel.record)
    panel.record.dataset.setText(str(tmp_path / "demos"))
    panel.record.start()
    qtbot.waitUntil(lambda: not panel.record.recording, timeout=30_000)
    assert "no window title contains" in panel.errors[-1] and panel.banner.text.text() == panel.errors[-1]
    assert not (tmp_path / "demos").exists()  # the recorder left no empty dataset

    panel.game.choose_profile("")
    panel.train.on_window.setChecked(True)
    panel.train.start()
    assert panel.errors[-1] == "train: training through a game window needs its profile: choose one in the Game tab"
    panel.train.on_env.setChecked(True)
    panel.train.env_id.setCurrentText("NoSuchEnv-v9")
    panel.train.runs_dir.setText(str(tmp_path / "runs"))
    panel.train.start()
    qtbot.waitUntil(lambda: not panel.train.running, timeout=30_000)
    assert panel.errors[-1].startswith("train: unknown environment 'NoSuchEnv-v9'")
    qtbot.waitUntil(lambda: all(task.name != "plot" for task in panel.pool.running()))  # its curves' task too


def test_settings_persist_between_launches(panel, qtbot, tmp_path):
    panel.game.choose_profile("neonrace")
    panel.settings.setValue("record/dataset", str(tmp_path / "mine" / "first"))
    panel.train.env_id.setCurrentText("Acrobot-v1")
    panel.train.hyperparameters["lr"].setText("0.0005")
    panel.train.on_window.setChecked(True)
    panel.train._save()  # as starting a run does
    panel.close()
    qtbot.waitUntil(lambda: panel.stopped_cleanly, timeout=30_000)
    again = MainWindow(QSettings(str(tmp_path / "gui.ini"), QSettings.IniFormat))
    try:
        assert again.game.profile is not None and again.game.profile.name == "neonrace"
        assert again.game.profiles.currentText() == "neonrace"
        suggested = Path(again.record.dataset.text())
        assert suggested.parent == tmp_path / "mine" and suggested.name.startswith("neonrace-")
        assert again.train.env_id.currentText() == "Acrobot-v1" and again.train.on_window.isChecked()
        assert again.train.hyperparameters["lr"].text() == "0.0005" and "neonrace" in again.train.window_profile.text()
    finally:
        again.close()
        qtbot.waitUntil(lambda: again.stopped_cleanly, timeout=30_000)
        again.deleteLater()


def training_processes() -> list[psutil.Process]:
    """The panel's multiprocessing children: a training's workers and evaluator."""
    return [psutil.Process(p.pid) for p in multiprocessing.active_children()]


def answers(url: str) -> bool:
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, int(port))) == 0


def set_up_training(panel: MainWindow, runs: Path, **hyperparameters: str) -> None:
    train = panel.train
    train.on_env.setChecked(True)
    train.env_id.setCurrentText("CartPole-v1")
    train.runs_dir.setText(str(runs))
    values = {"workers": "1", "total_steps": "10000000", "eval_every": "2000", "checkpoint_every": "3000"}
    for name, text in (values | hyperparameters).items():
        train.hyperparameters[name].setText(text)


def test_panel_trains_plots_stops_and_closes_cleanly(panel, qtbot, tmp_path, monkeypatch):
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow, timeout=5_000)
    qtbot.keyClick(panel, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)  # the Train tab's shortcut
    train = panel.train
    assert panel.tabs.currentWidget() is train
    defaults = LEARNERS["a3c"].starting_args(Args().env_id)
    for name, edit in train.hyperparameters.items():  # empty, showing what the run will use: the env's preset
        assert edit.text() == "" and edit.placeholderText() == str(getattr(defaults, name)), name
    assert train.runs_dir.text() == defaults.runs_dir and train.env_id.currentText() == defaults.env_id
    train.env_id.setCurrentText("pixelpilot/NeonRace-v0")
    assert train.hyperparameters["entropy_coef"].placeholderText() == "0.03"
    train.env_id.setCurrentText(defaults.env_id)

    runs = tmp_path / "runs"
    set_up_training(panel, runs, lr="fast")
    qtbot.mouseClick(train.train_button, Qt.MouseButton.LeftButton)  # parsed as `pixelpilot train --lr fast` would be
    assert panel.errors[-1] == "train: argument --lr: invalid float value: 'fast'" and not train.running
    train.hyperparameters["lr"].setText(str(defaults.lr))

    stalls = StallMeter()
    stalls.start()
    qtbot.mouseClick(train.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: train.values["state"].text() == "training", timeout=60_000)
    assert not train.form.isEnabled() and train.train_button.text() == "■ Stop"
    steps_seen: list[int] = []
    sampler = QTimer()
    sampler.timeout.connect(lambda: steps_seen.append(train.control.progress.steps))
    sampler.start(200)
    qtbot.waitUntil(lambda: bool(train.control.progress.evaluations and train.control.progress.losses), timeout=60_000)
    images = train.plot.images
    qtbot.waitUntil(lambda: train.plot.images >= images + 2, timeout=10_000)  # the curves are redrawn live
    qtbot.waitUntil(lambda: train.checkpoints.count() >= 1, timeout=30_000)
    sampler.stop()
    progress = train.control.progress
    assert len(set(steps_seen)) >= 5 and steps_seen == sorted(steps_seen)  # the numbers grew live
    assert int(train.values["episodes"].text().replace(",", "")) > 0 and len(progress.returns) > 0
    assert train.values["steps"].text().endswith(" / 10,000,000 (0%)")
    assert float(train.values["steps/s"].text().replace(",", "")) > 0
    assert train.values["last evaluation"].text() != "-"
    # The return of the last 20 episodes comes with the next progress row (every 2 s), after the first episodes end.
    qtbot.waitUntil(lambda: train.values["return (last 20)"].text() != "-", timeout=30_000)
    assert {train.checkpoints.item(i).text().split()[0] for i in range(train.checkpoints.count())} >= {"best.pt"}
    image = train.plot.pixmap().toImage()
    assert (image.width(), image.height()) == train.plot.size_wanted and image.pixelColor(5, 5).name() == "#ffffff"
    workers = training_processes()
    assert len(workers) == 2  # the worker and the evaluator, children of the panel's process
    run_dir = train.run_dir
    assert run_dir is not None and run_dir.parent == runs

    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    qtbot.mouseClick(train.open_button, Qt.MouseButton.LeftButton)
    assert opened == [QUrl.fromLocalFile(str(run_dir.resolve()))]

    qtbot.mouseClick(train.train_button, Qt.MouseButton.LeftButton)  # stop: as Ctrl-C, a checkpoint and no process left
    qtbot.waitUntil(lambda: not train.running, timeout=60_000)
    assert train.result is not None and train.result.interrupted and train.values["state"].text() == "idle"
    assert load_checkpoint(run_dir).counters["steps"] >= progress.steps
    assert "latest.pt" in {train.checkpoints.item(i).text().split()[0] for i in range(train.checkpoints.count())}
    assert training_processes() == [] and not any(running(p) for p in workers)
    assert panel.settings.value("train/env") == "CartPole-v1" and panel.settings.value("train/workers") == "1"
    assert "stopped; checkpoint saved" in train.log.text() and train.form.isEnabled()

    qtbot.mouseClick(train.tensorboard_button, Qt.MouseButton.LeftButton)  # TensorBoard on the run, a child process
    tensorboard, url = train.tensorboard, train.tensorboard_url
    assert tensorboard is not None and url is not None and url in train.tensorboard_link.text()
    qtbot.waitUntil(lambda: answers(url), timeout=60_000)

    qtbot.wait(1100)  # a new run folder (named to the second)
    train.start()  # again, then the panel is closed mid-training
    qtbot.waitUntil(lambda: train.control.progress.steps >= 1000, timeout=60_000)
    second, workers = train.control.progress.run_dir, training_processes()
    assert second is not None and second != run_dir and len(workers) == 2
    panel.close()
    assert panel.isVisible()  # still stopping: the window closes once the run has saved and ended
    qtbot.waitUntil(lambda: panel.stopped_cleanly, timeout=60_000)
    stalls.stop()
    assert panel.errors[1:] == [] and panel.pool.running() == []
    assert load_checkpoint(second).counters["steps"] >= 1000
    assert training_processes() == [] and not any(running(p) for p in workers)
    assert tensorboard.proc.poll() is not None and not answers(url)
    assert stalls.ticks > 100 and stalls.worst < 0.100, f"GUI thread stalls (s, own ms, ms): {stalls.long}"
    print(f"max GUI-thread stall while training: {stalls.worst * 1000:.0f} ms over {stalls.ticks} ticks", stalls.long)


def test_panel_trains_with_ppo_in_its_own_process(panel, qtbot, tmp_path):
    """The learner is a choice of the form: PPO's fields (with the environment's preset), no game window or starting
    checkpoint (A3C's alone), a run in the panel's process that ends with a PPO checkpoint, the choice remembered."""
    train = panel.train
    train.algo.setCurrentIndex(train.algo.findData("ppo"))
    assert list(train.hyperparameters) == list(HYPERPARAMETERS["ppo"])
    assert not train.on_window.isEnabled() and not train.init_from.isEnabled()
    train.on_env.setChecked(True)
    train.env_id.setCurrentText("CartPole-v1")
    assert train.hyperparameters["update_epochs"].placeholderText() == "20"  # the CartPole preset's
    train.runs_dir.setText(str(tmp_path / "runs"))
    for name, text in {"total_steps": "1024", "eval_every": "512"}.items():
        train.hyperparameters[name].setText(text)
    train.start()
    qtbot.waitUntil(lambda: not train.running and train.result is not None, timeout=120_000)
    assert panel.errors == [] and train.result is not None and train.result.steps == 1024
    assert len(train.result.curve) == 2 and train.run_dir is not None
    assert load_checkpoint(train.run_dir).learner == "ppo"
    assert panel.settings.value("train/algo") == "ppo" and training_processes() == []
    train.algo.setCurrentIndex(train.algo.findData("a3c"))
    assert "workers" in train.hyperparameters and train.on_window.isEnabled()


def test_play_and_training_through_this_desktop_exclude_each_other(panel, qtbot, tmp_path):
    """Both press the game's keys: whichever runs first keeps the window. In-process training runs beside play."""
    checkpoint = always_up_checkpoint(tmp_path)
    title, port = f"NeonRace-{uuid.uuid4().hex[:6]}", free_port()
    launch(qtbot, panel, neonrace_profile(tmp_path / "p.toml", title, port, seed=3), title)
    train, play = panel.train, panel.play
    play.checkpoint.setText(str(checkpoint))
    set_up_training(panel, tmp_path / "runs", eval_every="0")
    train.on_window.setChecked(True)
    train.display.setCurrentIndex(train.display.findData("here"))
    assert "profile neonrace-test" in train.window_profile.text()

    train.start()
    qtbot.waitUntil(lambda: train.values["state"].text() == "training", timeout=60_000)
    assert train.drives_keys and train.control.progress.run_dir.name.startswith("pixelpilot-Screen-v0")
    play.start()
    assert not play.running and panel.errors[-1] == (
        "play: train is pressing keys on this desktop; stop it first (one driver at a time)"
    )
    train.stop()
    qtbot.waitUntil(lambda: not train.running, timeout=60_000)
    assert train.result is not None and load_checkpoint(train.result.run_dir).env_kwargs == {
        "profile": str(tmp_path / "p.toml"),
        "private_display": False,
    }

    play.start()
    qtbot.waitUntil(lambda: play.values["driver"].text() == "pilot", timeout=60_000)
    errors = len(panel.errors)
    train.start()
    assert not train.running and panel.errors[errors:] == [
        "train: play is pressing keys on this desktop; stop it first (one driver at a time)"
    ]
    train.on_env.setChecked(True)  # in-process: no keys, so it may run beside the pilot
    train.hyperparameters["total_steps"].setText("3000")
    train.start()
    assert train.running and not train.drives_keys
    qtbot.waitUntil(lambda: not train.running, timeout=60_000)
    assert train.result is not None and train.result.steps >= 3000 and not train.result.interrupted
    assert play.running and panel.errors[errors + 1 :] == []
    panel.close()
    qtbot.waitUntil(lambda: panel.stopped_cleanly, timeout=30_000)
    assert processes_with(title) == [] and pressed(MANAGED) == set() and training_processes() == []


def test_screenshots_of_every_tab(panel, qtbot, tmp_path, monkeypatch):
    """PNGs of the four tabs at work (1100x750): into $PIXELPILOT_SCREENSHOTS when set (docs/screenshots for the
    README), else into a temporary folder. The panel works in a folder of its own, as a user's would, so the paths
    it shows are the short relative ones a user types, and the Play tab drives with the shipped pilot."""
    out = Path(os.environ.get("PIXELPILOT_SCREENSHOTS") or tmp_path / "screenshots").absolute()
    out.mkdir(parents=True, exist_ok=True)
    work = tmp_path / "racing"
    work.mkdir()
    (work / "models").symlink_to(ROOT / "models")
    monkeypatch.chdir(work)
    panel.resize(1100, 750)
    title, port = f"NeonRace-{uuid.uuid4().hex[:6]}", free_port()
    launch(qtbot, panel, neonrace_profile(tmp_path / "neonrace.toml", title, port, seed=4), title)

    def shoot(name: str) -> None:
        qtbot.wait(300)  # painted
        path = out / f"{name}.png"
        assert panel.grab().save(str(path))
        image = QImage(str(path))
        assert (image.width(), image.height()) == (1100, 750) and path.stat().st_size > 20_000

    shown = panel.game.frames_shown
    qtbot.waitUntil(lambda: panel.game.frames_shown >= shown + 10, timeout=15_000)  # the live preview
    shoot("game")

    panel.tabs.setCurrentWidget(panel.record)
    panel.record.dataset.setText("demos/neonrace-session")
    panel.record.start()
    qtbot.waitUntil(lambda: panel.record.values["state"].text() == "recording", timeout=30_000)
    person = Person(start_after=0.2, script=(("up", 1.5), ("left up", 0.8), ("up", 0.5), ("right up", 0.6)))
    person.start()
    qtbot.waitUntil(person.done.is_set, timeout=20_000)
    shoot("record")
    panel.record.stop()
    qtbot.waitUntil(lambda: not panel.record.recording, timeout=30_000)

    panel.tabs.setCurrentWidget(panel.train)
    set_up_training(panel, Path("runs"), envs_per_worker="8", n_steps="5")
    panel.train.start()
    qtbot.waitUntil(lambda: len(panel.train.control.progress.evaluations) >= 8, timeout=240_000)  # it learns
    qtbot.waitUntil(lambda: len(panel.train.control.progress.losses) >= 8, timeout=60_000)
    images = panel.train.plot.images
    qtbot.waitUntil(lambda: panel.train.plot.images > images, timeout=10_000)
    shoot("train")
    panel.train.stop()
    qtbot.waitUntil(lambda: not panel.train.running, timeout=60_000)

    panel.tabs.setCurrentWidget(panel.play)
    panel.play.checkpoint.setText("models/pretrained/neonrace-pilot.pt")
    panel.play.start()
    qtbot.waitUntil(lambda: panel.play.values["driver"].text() == "pilot" and panel.play.updates > 10, timeout=60_000)
    shoot("play")
    panel.play.stop()
    qtbot.waitUntil(lambda: not panel.play.playing, timeout=30_000)
    assert panel.errors == []
    assert {"game.png", "play.png", "record.png", "train.png"} <= {p.name for p in out.glob("*.png")}


def test_a_learners_switches_are_check_boxes_that_follow_the_preset_until_set(panel, qtbot):
    """DQN's double, dueling and prioritized: a box shows the preset's value until clicked; a clicked one is the
    user's, in the run's options and in the settings the next panel starts from."""
    train = panel.train
    train.algo.setCurrentIndex(train.algo.findData("dqn"))
    train.on_env.setChecked(True)
    train.env_id.setCurrentText("CartPole-v1")
    double = train.hyperparameters["double"]
    assert isinstance(double, QCheckBox) and not double.isChecked() and train.args().double is False
    double.click()  # as a user clicking it
    assert double.isChecked() and train.args().double is True and train.args().dueling is False
    train.env_id.setCurrentText("MountainCar-v0")  # another preset: the user's choice stays
    assert double.isChecked() and train.args().double is True
    train._save()
    assert panel.settings.value("train/double") == "true" and panel.settings.value("train/dueling") == ""
    demos = train.hyperparameters["demos"]  # DQfD's demonstrations: a dataset's folder
    demos.set_value("/data/expert")
    assert train.args().demos == ["/data/expert"]
