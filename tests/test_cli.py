"""The ``pixelpilot`` command as a user runs it: real windows, and bad input giving one clear line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid

import cv2
import pytest

from agent.envs.launcher import free_port
from control.xkeys import pressed
from tests.conftest import ROOT, wait_until
from tests.test_screen import activate

MANAGED = {"left", "right", "up", "down", "x"}


def run(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env or dict(os.environ),
    )


def assert_one_line_error(result: subprocess.CompletedProcess, text: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(lines) == 1 and text in lines[0], result.stderr


def test_windows_lists_titles(game_window):
    window = game_window(listen=False)
    result = run("windows")
    assert result.returncode == 0 and window.title in result.stdout


def test_capture_saves_raw_and_processed_frames(game_window, tmp_path):
    window = game_window(listen=False)
    out = tmp_path / "frames"
    result = run("capture", "--window", window.title, "--out", str(out), "--frames", "3", "--crop", "0,0,300,800")
    assert result.returncode == 0, result.stderr
    assert "captured 3 frames" in result.stdout
    raw, obs = sorted(out.glob("raw_*.png")), sorted(out.glob("obs_*.png"))
    assert len(raw) == len(obs) == 3
    assert cv2.imread(str(raw[0])).shape == (600, 800, 3)
    assert cv2.imread(str(obs[0]), cv2.IMREAD_UNCHANGED).shape == (128, 200)


def test_keys_test_sends_each_action(game_window):
    window = game_window()
    activate(window.handle)
    result = run("keys-test", "--window", window.title, "--hold", "0.2")
    assert result.returncode == 0, result.stderr
    for name in ("left", "right", "up", "left+up", "right+up", "down", "up+x"):
        assert f" {name} " in result.stdout
    assert result.stdout.count(" sent") == 7
    presses = window.wait_for(lambda msg: msg["presses"].get("x") == 1)["presses"]
    # only changes are sent: up stays held from action 2 to 4, is released for down and pressed again for up+x
    assert presses == {"left": 2, "right": 2, "up": 2, "down": 1, "x": 1}
    window.wait_for(lambda msg: msg["held"] == [])
    assert pressed(MANAGED) == set()


def test_window_closed_mid_run(game_window, tmp_path):
    window = game_window(listen=False)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agent.cli",
            "capture",
            "--window",
            window.title,
            "--out",
            str(tmp_path),
            "--frames",
            "200",
        ],
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    wait_until(lambda: any(tmp_path.glob("obs_*.png")), timeout=60)  # capturing
    window.stop()
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 1 and "Traceback" not in stderr
    assert "pixelpilot: error: window" in stderr and "was closed" in stderr


def test_bad_input_gives_one_clear_line(game_window, tmp_path):
    game_window(listen=False, title="Only Window")
    assert_one_line_error(
        run("capture", "--window", "Missing Game", "--out", str(tmp_path)),
        "no window title contains 'Missing Game'; visible windows: 'Only Window'",
    )
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nwindow = "Only Window"\n[keys]\nleft = "lefty"\n')
    assert_one_line_error(run("keys-test", "--window", "Only Window", "--profile", str(bad)), "keys.left: unknown key")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = \n")
    assert_one_line_error(run("demo", "--profile", str(broken)), "not valid TOML")
    assert_one_line_error(run("keys-test", "--window", "Only Window", "--kill-key", "F13x"), "unknown key name 'F13x'")
    assert_one_line_error(run("capture", "--window", "Only Window", "--out", "/proc/nope"), "cannot create /proc/nope")
    assert pressed(MANAGED) == set()


@pytest.mark.slow
def test_no_display(tmp_path):
    env = dict(os.environ, DISPLAY=":9999")
    assert_one_line_error(run("windows", env=env), "cannot open X display ':9999'")
    bare = tmp_path / "bin"
    bare.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env["PATH"] = str(bare)  # no Xvfb on the PATH: the automatic virtual desktop cannot start
    assert_one_line_error(run("windows", env=env), "Xvfb is not installed; install it with: sudo apt-get install")


@pytest.mark.parametrize("driver", ["pilot", "expert"])
def test_demo_races_a_lap_of_neonrace(desktop, tmp_path, driver):
    """``make demo``: the shipped pilot (only frames in, keys out) finishes a lap in the game's window; so does the
    scripted expert."""
    from tests.test_neonrace_window import neonrace_profile

    title = f"NeonRace-demo-{uuid.uuid4().hex[:6]}"
    profile = neonrace_profile(tmp_path / "demo.toml", title, free_port(), seed=2, difficulty="easy")
    expert = ["--expert"] if driver == "expert" else []
    result = run("demo", "--profile", str(profile), "--out", str(tmp_path / "demo"), *expert, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "lap time" in result.stdout and "keys still held by the X server after closing: none" in result.stdout
    summary = (tmp_path / "demo" / "summary.txt").read_text()
    steps = int(re.search(r"over (\d+) steps", summary).group(1))  # fewer on a loaded machine: it runs in real time
    video = cv2.VideoCapture(str(tmp_path / "demo" / "lap.mp4"))
    assert steps > 30 and video.get(cv2.CAP_PROP_FRAME_COUNT) == steps  # a frame per step
    assert summary.startswith({"pilot": "driver: the pilot", "expert": "driver: the scripted expert"}[driver])
    assert "  decision (the pilot) " in summary and "overran the 66.7 ms period" in summary
