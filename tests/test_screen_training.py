"""Training through the screen: every worker and the evaluator on a virtual desktop of their own, with their own
copy of NeonRace; nothing left behind afterwards."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from agent.envs.profile import load_profile
from agent.policy.checkpoint import load_checkpoint
from tests.conftest import ROOT, marked_env, marked_processes
from tests.test_cli import assert_one_line_error, run

pytestmark = [pytest.mark.screen, pytest.mark.slow]  # private virtual desktops, training runs


def short_neonrace(tmp_path: Path) -> Path:
    """neonrace.toml with 6-second episodes on the easy track, so a smoke run sees several."""
    text = (ROOT / "games" / "profiles" / "neonrace.toml").read_text()
    text = text.replace('"game", "--telemetry-port"', '"game", "--difficulty", "easy", "--telemetry-port"')
    text = text.replace("max_episode_seconds = 180", "max_episode_seconds = 6")
    path = tmp_path / "neonrace-short.toml"
    path.write_text(text)
    assert load_profile(path).done.max_episode_seconds == 6
    return path


def test_two_workers_fine_tune_an_in_process_pilot_on_their_own_virtual_desktops_and_clean_up(tmp_path):
    """In-process NeonRace checkpoint → screen training (2 workers + evaluator, a desktop and game each) →
    evaluation through the screen; no desktop or game left afterwards."""
    profile = short_neonrace(tmp_path)
    token = uuid.uuid4().hex  # every process the commands start carries it (other suites' desktops do not)
    env = marked_env(token)
    pixelpilot = [sys.executable, "-m", "agent.cli"]
    in_process = subprocess.run(
        [*pixelpilot, "train", "--env", "pixelpilot/NeonRace-v0", "--workers", "1", "--total-steps", "40",
         "--eval-every", "0", "--runs-dir", str(tmp_path), "--run-name", "in-process", "--no-progress"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert in_process.returncode == 0, in_process.stderr
    result = subprocess.run(
        [*pixelpilot, "train", "--profile", str(profile), "--workers", "2", "--total-steps", "300",
         "--eval-every", "150", "--eval-episodes", "1", "--runs-dir", str(tmp_path), "--run-name", "screen",
         "--init-from", str(tmp_path / "in-process"), "--no-progress"],
        cwd=ROOT, capture_output=True, text=True, timeout=240, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    saved = load_checkpoint(tmp_path / "screen")
    assert saved.config is not None and saved.config["init_from"] == str(tmp_path / "in-process")
    assert saved.counters["steps"] >= 300 and saved.counters["updates"] >= 15
    assert saved.env_id == "pixelpilot/Screen-v0"
    assert saved.env_kwargs == {"profile": str(profile), "private_display": True}
    progress = (tmp_path / "screen" / "progress.csv").read_text().splitlines()
    assert any(line.split(",")[6] not in ("", "nan") for line in progress[1:]), progress  # an evaluation ran
    evaluation = subprocess.run(
        [*pixelpilot, "evaluate", "--checkpoint", str(tmp_path / "screen"), "--profile", str(profile),
         "--episodes", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert evaluation.returncode == 0, evaluation.stderr
    report = evaluation.stdout
    assert "1 episodes on pixelpilot/Screen-v0" in report and "lap completed in " in report, report
    assert "decision (batch 1) p50" in report and "capture p50" in report and "key send p50" in report, report
    # Every desktop and game the runs started is gone (each worker and the evaluator closed its own).
    assert [p.name() for p in marked_processes(token)] == []


def test_a_real_display_takes_one_worker_and_no_evaluator(tmp_path):
    profile = short_neonrace(tmp_path)
    assert_one_line_error(
        run("train", "--profile", str(profile), "--display", ":0", "--workers", "2"),
        "--display :0: one window on a real desktop takes one process",
    )
    assert_one_line_error(
        run("train", "--profile", str(profile), "--env", "CartPole-v1"), "--profile trains on the game's window"
    )


def test_a_private_display_needs_the_port_in_the_launch_command(tmp_path):
    from agent.envs.screen import ScreenEnv

    profile = tmp_path / "fixed-port.toml"
    profile.write_text(short_neonrace(tmp_path).read_text().replace('"{port}"', '"47800"'))
    with pytest.raises(ValueError, match=r"put \{port\} in the launch command"):
        ScreenEnv(profile, private_display=True)
