"""Nothing stuck after a crash: the guardian releases a killed sender's keys and stops its game; a run that finds
keys held releases them; one driver per window, for every sender, named by pid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import psutil
import pytest

from agent.drive.play import play
from benchmarks.reliability import alive, command_of
from control.keyboard import PynputSender
from control.xkeys import pressed
from tests.conftest import wait_until
from tests.test_error_lines import PILOT, PIXELPILOT, keywindow_profile, playing
from tests.test_play import always_up_checkpoint
from tests.test_screen_training import short_neonrace

pytestmark = pytest.mark.screen  # real senders, games and desktops

DRIVING = {"left", "right", "up", "down", "x"}


SENDER = textwrap.dedent(
    """
    import subprocess, sys, time
    from control.guardian import Guardian
    from control.keyboard import PynputSender
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    guardian = Guardian(["up", "x", "left"], [sleeper.pid])
    sender = PynputSender()
    sender.press("up")
    sender.press("x")
    print(sleeper.pid, flush=True)
    if sys.argv[1] == "close":
        sender.release("up")
        sender.release("x")
        guardian.close()
        print("closed", flush=True)
    time.sleep(600)
    """
)


def test_a_sender_killed_with_sigkill_leaves_no_key_down_and_nothing_it_started(desktop):
    sender = subprocess.Popen([sys.executable, "-c", SENDER, "kill"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert sender.stdout is not None
    sleeper = int(sender.stdout.readline())
    sleeping = psutil.Process(sleeper)
    wait_until(lambda: pressed({"up", "x"}) == {"up", "x"})
    sender.kill()
    sender.wait()
    wait_until(lambda: not pressed(DRIVING) and not alive(sleeping))
    _, err = sender.communicate(timeout=30)
    assert f"ended without cleaning up; released up, x; stopped what it started (process groups {sleeper})" in err


def test_a_sender_that_says_goodbye_leaves_its_guardian_nothing_to_do(desktop):
    sender = subprocess.Popen([sys.executable, "-c", SENDER, "close"], stdout=subprocess.PIPE, text=True)
    assert sender.stdout is not None
    sleeper = int(sender.stdout.readline())
    assert sender.stdout.readline().strip() == "closed"
    guardians = [p for p in psutil.Process(sender.pid).children() if "control.guardian" in command_of(p)]
    sender.kill()
    sender.wait()
    assert guardians == [] and alive(psutil.Process(sleeper))  # it exited on the goodbye, and stops nothing afterwards
    os.killpg(sleeper, signal.SIGKILL)


def test_kill_9_of_play_releases_its_keys_and_stops_the_game_it_launched(tmp_path, desktop):
    run = playing("play", "--profile", str(keywindow_profile(tmp_path)), "--checkpoint",
                  str(always_up_checkpoint(tmp_path)), "--max-seconds", "120", until="pilot  up")  # fmt: skip
    try:
        game = [p for p in psutil.Process(run.pid).children(recursive=True) if "keywindow.py" in command_of(p)]
        assert len(game) == 1
        wait_until(lambda: "up" in pressed(DRIVING))
        run.send_signal(signal.SIGKILL)
        run.wait()
        wait_until(lambda: not pressed(DRIVING) and not alive(game[0]))
    finally:
        if run.poll() is None:
            run.kill()
    _, err = run.communicate(timeout=30)
    assert "released up" in err and "stopped what it started" in err


def test_keys_held_when_a_pilot_starts_are_released_not_taken_for_a_person(tmp_path, desktop, caplog):
    checkpoint = always_up_checkpoint(tmp_path)
    stuck = PynputSender()  # a run killed before the guardian existed left these down
    stuck.press("left")
    stuck.press("x")
    stuck.close()
    assert pressed(DRIVING) == {"left", "x"}
    result = play(keywindow_profile(tmp_path), checkpoint, max_seconds=3, quiet_seconds=0.5)
    assert "left, x held down before this run pressed anything" in caplog.text
    assert result.human_steps == 0 and result.pilot_steps > 10, (result.human_steps, result.pilot_steps)
    assert pressed(DRIVING) == set()


def test_a_second_sender_to_a_driven_window_is_told_which_process_drives_it(tmp_path, desktop):
    profile = keywindow_profile(tmp_path)
    run = playing("play", "--profile", str(profile), "--checkpoint", str(PILOT), "--max-seconds", "120",
                  stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        busy = f"is driven by another pixelpilot process (pid {run.pid}); stop that one first"
        for command in (
            ["keys-test", "--window", "KeyWindow"],  # same telemetry port: the claim speaks first
            ["play", "--profile", str(profile), "--checkpoint", str(PILOT), "--max-seconds", "5"],
        ):
            done = subprocess.run([*PIXELPILOT, *command], capture_output=True, text=True, timeout=120)
            assert done.returncode == 1 and busy in done.stderr, done.stderr
            assert len(done.stderr.splitlines()) == 1, done.stderr
    finally:
        run.terminate()
        run.wait(60)
    assert pressed(DRIVING) == set()


def test_kill_9_of_a_screen_training_worker_leaves_no_game_or_desktop_behind(tmp_path):
    train = subprocess.Popen([*PIXELPILOT, "train", "--profile", str(short_neonrace(tmp_path)), "--workers", "1",
                              "--total-steps", "100000", "--eval-every", "0", "--max-restarts", "0", "--runs-dir",
                              str(tmp_path), "--no-progress"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:

        def started() -> list[psutil.Process]:
            tree = psutil.Process(train.pid).children(recursive=True)
            return [p for p in tree if "agent.cli game" in command_of(p)]

        wait_until(lambda: len(started()) == 1, timeout=120)
        game = started()[0]
        worker = game.parent()
        wait_until(lambda: any("control.guardian" in command_of(p) for p in worker.children()))
        desktop = [p for p in worker.children() if p.name() in ("Xvfb", "openbox")]
        assert worker is not None and len(desktop) == 2
        worker.kill()
        wait_until(lambda: not any(alive(p) for p in (game, *desktop)))
        _, err = train.communicate(timeout=120)  # with no restarts left, the run ends and says why
    finally:
        if train.poll() is None:
            train.kill()
    assert train.returncode != 0 and "stopped what it started" in err, err


def test_kill_9_of_the_panel_while_its_pilot_drives_leaves_no_key_down_and_no_game(tmp_path, desktop):
    panel = subprocess.Popen([*PIXELPILOT, "demo", "--panel", "--out", str(tmp_path / "demo")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:

        def started() -> list[psutil.Process]:
            tree = psutil.Process(panel.pid).children(recursive=True)
            return [p for p in tree if "agent.cli game" in command_of(p) or "control.guardian" in command_of(p)]

        wait_until(lambda: len(started()) == 2, timeout=120)  # the game, and the guardian of the keys sent to it
        wait_until(lambda: pressed(DRIVING), timeout=60)  # the pilot drives
        game = next(p for p in started() if "agent.cli game" in command_of(p))
        panel.kill()
        panel.wait()
        wait_until(lambda: not pressed(DRIVING) and not alive(game))
        _, err = panel.communicate(timeout=30)
    finally:
        if panel.poll() is None:
            panel.kill()
    assert "ended without cleaning up; released" in err and "stopped what it started" in err, err


def test_kill_9_of_a_command_on_its_own_virtual_desktop_leaves_no_desktop(tmp_path):
    run = playing("--virtual", "play", "--profile", str(keywindow_profile(tmp_path)), "--checkpoint", str(PILOT),
                  "--max-seconds", "120")  # fmt: skip
    try:
        started = [p for p in psutil.Process(run.pid).children(recursive=True)
                   if p.name() in ("Xvfb", "openbox") or "keywindow.py" in command_of(p)]  # fmt: skip
        assert len(started) == 3
        run.kill()
        run.wait()
        wait_until(lambda: not any(alive(p) for p in started))
    finally:
        if run.poll() is None:
            run.kill()
