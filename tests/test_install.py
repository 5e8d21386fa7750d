"""pixelpilot installed as a user installs it: ``pip install .`` (not editable) into a fresh virtual environment, run
from outside the checkout. The command, the shipped pilot and the game profiles come with the package."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.conftest import ROOT


def checkout_copy(dest: Path) -> Path:
    """The checkout's files as git has them (tracked, and new files it does not ignore): what a user would clone."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            (dest / name).write_bytes(source.read_bytes())
    return dest


def test_a_non_editable_install_races_the_demo_lap_with_the_shipped_pilot(desktop, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    # The dependencies, as tested (constraints.txt), from this interpreter's environment: a .pth line adds its
    # folder to the new environment's path, without the .pth files in it (which hold this checkout's editable
    # install), so pixelpilot itself comes only from the install below.
    (Path(site) / "tested-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # pip install . in its two steps, offline: build the wheel (with the tested setuptools), install it.
    source = checkout_copy(tmp_path / "src")
    wheel_dir = tmp_path / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                            "--wheel-dir", str(wheel_dir), str(source)], capture_output=True, text=True)  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = wheel_dir.glob("pixelpilot-*.whl")
    install = subprocess.run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
                             capture_output=True, text=True)  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {**os.environ, "PYTHONPATH": ""}
    where = subprocess.run([python, "-c", "import agent, games, models; print(agent.__file__, models.__file__)"],
                           cwd=outside, env=env, capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert all(path.startswith(site) for path in where.split()), where

    pixelpilot = str(venv / "bin" / "pixelpilot")
    demo = subprocess.run([pixelpilot, "demo", "--out", str(outside / "demo")], cwd=outside, env=env,
                          capture_output=True, text=True, timeout=240)  # fmt: skip
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert f"driver: the pilot {site}/models/pretrained/neonrace-pilot.pt" in demo.stdout
    assert "lap time" in demo.stdout and "keys still held by the X server after closing: none" in demo.stdout
    bench = subprocess.run([pixelpilot, "bench", "gym"], cwd=outside, env=env, capture_output=True, text=True)
    assert bench.returncode == 1 and "benchmarks run from a source checkout" in bench.stderr
