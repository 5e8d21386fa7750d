"""Mistakes and mishaps a user meets through a game window end in one line that names what went wrong, never a
traceback: a crop that does not fit the window, a window closed mid-play."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
PILOT = ROOT / "models" / "pretrained" / "neonrace-pilot.pt"
PIXELPILOT = [sys.executable, "-m", "agent.cli"]


def keywindow_profile(tmp_path: Path, extra: str = "") -> Path:
    """tests/keywindow.toml, launching the test window from this folder, with ``extra`` lines at the top level."""
    text = (ROOT / "tests" / "keywindow.toml").read_text().replace("{profile_dir}", str(ROOT / "tests"))
    path = tmp_path / "keywindow.toml"
    path.write_text(text.replace("fps = 15\n", f"fps = 15\n{extra}"))
    return path


def playing(*args: str, until: str = "pilot ", stderr: int = subprocess.PIPE) -> subprocess.Popen[str]:
    """``pixelpilot ARGS`` started (a play), returned once its status line starts with ``until``: it drives."""
    run = subprocess.Popen([*PIXELPILOT, *args], stdout=subprocess.PIPE, stderr=stderr, text=True)
    assert run.stdout is not None
    for line in run.stdout:
        if line.startswith(until):
            break
    return run


def test_a_crop_that_does_not_fit_the_window_is_one_line_from_record_and_play(tmp_path, desktop):
    profile = keywindow_profile(tmp_path, "crop = { top = 0, left = 0, height = 4000, width = 100 }\n")
    for command in (["record", "--out", str(tmp_path / "demo")], ["play", "--checkpoint", str(PILOT)]):
        done = subprocess.run([*PIXELPILOT, *command, "--profile", str(profile), "--max-seconds", "20"],
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 1, done.stderr
        assert done.stderr.splitlines() == [
            "pixelpilot: error: crop (top=0, left=0, height=4000, width=100) reaches 100 px across and 4000 px down: "
            "it does not fit the 800x600 window; make the profile's crop fit inside it"
        ]
    assert not (tmp_path / "demo").exists()


def test_a_window_closed_mid_play_is_named_by_its_title(tmp_path, desktop):
    play = playing("play", "--profile", str(keywindow_profile(tmp_path)), "--checkpoint", str(PILOT),
                   "--max-seconds", "120")  # fmt: skip
    try:
        games = [
            p for p in psutil.Process(play.pid).children(recursive=True) if "keywindow.py" in " ".join(p.cmdline())
        ]
        assert len(games) == 1
        games[0].kill()
        _, err = play.communicate(timeout=60)
    finally:
        if play.poll() is None:
            play.kill()
    assert play.returncode == 1
    assert err.splitlines()[-1].startswith("pixelpilot: error: window 'KeyWindow' (0x"), err
    assert err.splitlines()[-1].endswith(") was closed"), err
    assert "Traceback" not in err
