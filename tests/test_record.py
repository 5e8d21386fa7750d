"""Recording a person's driving through the real NeonRace window, then cloning and playing it (under Xvfb)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import uuid

import numpy as np
import pytest

from agent.cli import main
from agent.demos.dataset import load_demos
from agent.demos.pretrain import PretrainArgs, pretrain
from agent.demos.reprocess import reprocess
from agent.drive.play import play
from agent.drive.record import record
from agent.envs.launcher import free_port
from capture.errors import WindowNotFoundError
from capture.preprocess import Crop
from control.actions import ACTION_NAMES
from control.xkeys import pressed
from tests.conftest import processes_with, wait_until
from tests.test_neonrace_window import MANAGED, neonrace_profile


class Person(threading.Thread):
    """Drives with xdotool as a person would: X key events to the focused window, the game's reset key too."""

    DRIVE = (("up", 2.0), ("left up", 1.0), ("up", 1.0), ("Return", 0.3), ("up", 1.5), ("right up", 1.0))

    def __init__(self, start_after: float, script: tuple[tuple[str, float], ...] = DRIVE) -> None:
        super().__init__(daemon=True)
        self.start_after = start_after
        self.script = script
        self.done = threading.Event()

    def run(self) -> None:
        time.sleep(self.start_after)
        try:
            for keys, seconds in self.script:
                names = [{"left": "Left", "right": "Right", "up": "Up", "down": "Down"}.get(k, k) for k in keys.split()]
                subprocess.run(["xdotool", "keydown", *names], check=True)
                time.sleep(seconds)
                subprocess.run(["xdotool", "keyup", *names], check=True)
        finally:
            subprocess.run(["xdotool", "keyup", "Left", "Right", "Up", "Down", "Return"], check=False)
            self.done.set()


def test_record_info_pretrain_play_round_trip(desktop, tmp_path, capsys):
    title, port = f"NeonRace-{uuid.uuid4().hex[:6]}", free_port()
    profile = neonrace_profile(tmp_path / "p.toml", title, port, seed=5)
    person = Person(start_after=2.5)  # the game window opens and the recorder starts meanwhile
    person.start()
    result = record(profile, tmp_path / "demos", max_seconds=10.0, segment_seconds=1.0, raw_frames=True)
    person.join(10)
    assert person.done.is_set()
    print(result)
    assert result.stopped is None and result.steps > 100 and result.episodes == 2  # Enter started a new one
    assert processes_with(title) == [] and pressed(MANAGED) == set()  # the recorder pressed nothing, left nothing

    demos = load_demos(tmp_path / "demos", n_actions=7)
    names = [ACTION_NAMES[a] for a, idle in zip(demos.actions, demos.idle, strict=True) if not idle]
    for action in ("up", "left+up", "right+up"):
        assert names.count(action) >= 10, (action, names.count(action))
    assert demos.idle.sum() >= 20  # before the person starts: no key held, no action
    assert result.actions == demos.summary()["actions"]  # the histogram the command prints
    assert result.missing_keys == ["down", "turbo"]  # the person never pressed them: the command warns
    moving = np.abs(np.diff(demos.frames[demos.episode == 0].astype(float), axis=0)).mean(axis=(1, 2)) > 0.5
    assert moving.mean() > 0.5, moving.mean()  # the frames are the game's, not a still picture
    assert demos.rewards[demos.episode == 0].sum() > 0  # the telemetry score: distance driven
    assert demos.meta["profile"] == "neonrace-test" and demos.meta["fps"] == 15
    assert demos.meta["grey"] == {"red": 1.0, "green": 1.0, "blue": 1.0}  # the profile's (the recipe's mean)
    assert main(["demos", "info", str(tmp_path / "demos")]) == 0
    assert "episodes 2" in capsys.readouterr().out
    # The window frames were kept: the same driving seen through another crop (the road only).
    recropped = reprocess(tmp_path / "demos", tmp_path / "recropped", Crop(150, 0, 350, 800))
    assert np.array_equal(recropped.actions, demos.actions) and np.array_equal(recropped.episode, demos.episode)
    assert np.abs(recropped.frames.astype(float) - demos.frames).mean() > 5  # another picture

    args = PretrainArgs(data=[str(tmp_path / "demos")], epochs=2, seq_len=8, burn_in=2, batch_windows=4,
                        runs_dir=str(tmp_path / "runs"), run_name="bc", val_block_seconds=2)  # fmt: skip
    cloned = pretrain(args)
    # The person corrects the pilot for a while: that stretch becomes a demonstration. (A key the pilot holds
    # too is released when the pilot lets go: X keeps one state per key. So the person brakes.)
    person = Person(start_after=3.0, script=(("down", 1.5),))
    person.start()
    played = play(profile, cloned.checkpoint, max_seconds=7.0, record_overrides=tmp_path / "corrections")
    person.join(10)
    assert played.pilot_steps > 20 and played.human_steps > 15 and played.stopped is None
    assert processes_with(title) == [] and pressed(MANAGED) == set()
    assert np.isfinite(played.timing.summary()["decide_ms"]["p50"])
    corrections = load_demos(tmp_path / "corrections", n_actions=7)
    assert played.overrides_recorded == len(corrections.actions) == played.human_steps
    taken = corrections.actions[~corrections.idle]
    assert (taken == ACTION_NAMES.index("down")).sum() >= 15 and corrections.meta["source"].startswith("play")


def test_a_killed_pixelpilot_record_keeps_all_but_the_last_segment(desktop, tmp_path):
    title, port = f"NeonRace-{uuid.uuid4().hex[:6]}", free_port()
    profile = neonrace_profile(tmp_path / "p.toml", title, port, seed=6)
    out = tmp_path / "demos"
    person = Person(start_after=2.5, script=(("up", 3.0), ("left up", 2.0), ("up", 3.0)))
    person.start()
    recorder = subprocess.Popen([sys.executable, "-m", "agent.cli", "record", "--profile", str(profile), "--out",
                                 str(out), "--segment-seconds", "1"], stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60

        def written() -> int:
            return sum(1 for d in (out / "data").glob("*") if d.is_dir()) if (out / "data").is_dir() else 0

        while written() < 5:
            assert recorder.poll() is None and time.monotonic() < deadline, "the recorder did not write 5 segments"
            time.sleep(0.05)
        time.sleep(0.4)  # into the next segment
        before = written()
        recorder.send_signal(signal.SIGKILL)
        recorder.wait(10)
    finally:
        recorder.kill()
        recorder.wait()
        for process in processes_with(title):  # its game is orphaned by a SIGKILL: a crash leaves it open
            process.terminate()
        person.join(15)
    demos = load_demos(out, n_actions=7)
    assert demos.segments >= before >= 5 and len(demos.actions) >= 15 * (before - 1)
    assert demos.meta["profile"] == "neonrace-test" and (demos.actions[~demos.idle] == 2).sum() >= 10


def test_a_window_that_is_not_there_leaves_no_dataset(desktop, tmp_path):
    profile = tmp_path / "p.toml"
    profile.write_text('name = "absent"\nwindow = "No-Such-Window-4f1c"\n[reward]\nsource = "none"\n')
    with pytest.raises(WindowNotFoundError):
        record(profile, tmp_path / "demos", max_seconds=1.0)
    assert not (tmp_path / "demos").exists()


def test_a_reset_tap_shorter_than_a_step_starts_a_new_episode(game_window, tmp_path):
    """Without telemetry a new race is the person's reset key; a tap of a few milliseconds falls between two
    looks at the key state, and missing it cost a whole race of recording."""
    from agent.drive.record import RecordControl

    window = game_window(listen=False)
    profile = tmp_path / "p.toml"
    profile.write_text(f'name = "t"\nwindow = "{window.title}"\nfps = 15\n[keys]\nreset = ["enter"]\n'
                       '[reward]\nsource = "none"\n[done]\nmax_episode_seconds = 60\n')  # fmt: skip
    control, stop, results = RecordControl(), threading.Event(), []
    thread = threading.Thread(target=lambda: results.append(record(profile, tmp_path / "demo", launch=False,
                                                                   stop=stop, control=control)))  # fmt: skip
    thread.start()
    try:
        wait_until(lambda: control.progress.state == "recording" and control.progress.steps >= 5)
        for taps in (1, 2):
            subprocess.run(["xdotool", "keydown", "Return", "keyup", "Return"], check=True)  # no time held at all
            wait_until(lambda taps=taps: control.progress.episodes == 1 + taps)
    finally:
        stop.set()
        thread.join(30)
    assert results[0].episodes == 3
