"""NeonRace's window, through real capture and real key presses on the test desktop."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from agent.envs.launcher import free_port
from agent.envs.neonrace import NeonRaceEnv
from agent.envs.screen import ScreenEnv
from capture.errors import PixelpilotError, WindowClosedError
from capture.grabber import WindowGrabber
from capture.preprocess import preprocess
from capture.telemetry import TelemetryReceiver
from capture.windows import find_window
from control.xkeys import pressed
from games.neonrace.expert import expert_action
from games.neonrace.mirror import StateMirror
from games.neonrace.render import Renderer
from tests.conftest import ROOT, processes_with
from tests.test_cli import assert_one_line_error, run

MANAGED = {"left", "right", "up", "down", "x", "enter"}


def neonrace_profile(path: Path, title: str, port: int, seed: int = 0, difficulty: str = "normal") -> Path:
    path.write_text(
        f'name = "neonrace-test"\nwindow = "{title}"\n'
        f'launch = ["{{python}}", "-m", "agent.cli", "game", "--title", "{title}", "--telemetry-port", "{port}",'
        f' "--seed", "{seed}", "--difficulty", "{difficulty}"]\n'
        "fps = 15\ncrop = { top = 0, left = 0, height = 500, width = 800 }\n"
        f'[keys]\nreset = ["enter"]\n[reward]\nsource = "telemetry"\nport = {port}\n'
    )
    return path


class Follower:
    """The window's game followed through telemetry, with the observation of every tick it went through."""

    def __init__(self) -> None:
        self.mirror = StateMirror()
        self.renderer: Renderer | None = None
        self.observations: dict[int, np.ndarray] = {}

    def feed(self, messages: list[dict]) -> None:
        for msg in messages:
            self.mirror.feed([msg])
            game = self.mirror.game
            if self.renderer is None or self.renderer.game is not game:
                self.renderer = Renderer(game, 200, 128)
            self.observations[game.state.ticks] = preprocess(self.renderer.render())


def test_window_and_in_process_agree(desktop, tmp_path):
    title, port, seed = f"NeonRace-{uuid.uuid4().hex[:6]}", free_port(), 3
    env = ScreenEnv(neonrace_profile(tmp_path / "p.toml", title, port, seed))
    follower = Follower()
    try:
        obs, info = env.reset()
        follower.feed(info["telemetry_messages"])
        actions, diffs, window_track = [], [], []
        for _ in range(150):
            action = expert_action(follower.mirror.game)
            obs, _, terminated, _, info = env.step(action)
            follower.feed(info["telemetry_messages"])
            actions.append(action)
            # The capture shows one of the last ticks the game reported; compare with the closest of them.
            last = follower.mirror.game.state.ticks
            candidates = [follower.observations[t] for t in range(last - 3, last + 1) if t in follower.observations]
            diffs.append(min(float(np.abs(obs - c).mean()) for c in candidates))
            state = follower.mirror.game.state
            window_track.append((state.distance, state.x))
            assert not terminated
        print(f"observation mean abs diff: mean {np.mean(diffs):.4f}, max {np.max(diffs):.4f}")
        assert max(diffs) <= 0.02

        # The same actions in-process, 2 ticks per step, against the window's real-time run.
        inproc = NeonRaceEnv(track_seed=seed, laps=3)
        inproc.reset()
        inproc_track = []
        for action in actions:
            inproc.step(action)
            inproc_track.append((inproc.game.state.distance, inproc.game.state.x))
        window_track, inproc_track = np.array(window_track), np.array(inproc_track)
        distance_error = np.abs(window_track[:, 0] - inproc_track[:, 0]) / inproc_track[-1, 0]
        x_error = np.abs(window_track[:, 1] - inproc_track[:, 1])
        print(f"trajectory: distance error max {distance_error.max():.3%}, x error max {x_error.max():.3f}")
        assert distance_error.max() < 0.03 and x_error.max() < 0.35

        # Closing the game under the running env: a typed error, keys released, nothing left running.
        env.game.proc.terminate()
        with pytest.raises(WindowClosedError):
            for _ in range(30):
                env.step(6)
        assert pressed(MANAGED) == set()
    finally:
        env.close()
    assert processes_with(title) == []


def test_game_window_telemetry_restart_and_quit(desktop):
    title, port, second = f"NeonRace-{uuid.uuid4().hex[:6]}", free_port(), free_port()
    receiver, other = TelemetryReceiver(port), TelemetryReceiver(second)
    game = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "game", "--title", title, "--telemetry-port", str(port), "--laps", "2",
         "--seed", "41", "--track-per-race", "--telemetry-port", str(second)],
        cwd=ROOT,
    )  # fmt: skip
    try:
        latest: dict = {}
        deadline = time.monotonic() + 20
        while latest.get("tick", 0) < 30:
            assert time.monotonic() < deadline, "no telemetry from the game"
            for msg in receiver.drain():
                latest = msg
            time.sleep(0.02)
        assert latest["episode"] == 0 and latest["laps"] == 2 and latest["lap"] == 1 and not latest["done"]
        assert {"score", "speed", "progress", "x", "keys", "track_seed", "difficulty"} <= set(latest)
        assert latest["track_seed"] == 41 and any(m["tick"] >= 30 for m in other.drain())  # both ports get it
        subprocess.run(["xdotool", "search", "--name", title, "windowactivate", "--sync"], check=True, timeout=10)
        subprocess.run(["xdotool", "key", "Return"], check=True)
        deadline = time.monotonic() + 5
        while latest["episode"] != 1:
            assert time.monotonic() < deadline, "Enter did not restart the race"
            for msg in receiver.drain():
                latest = msg
            time.sleep(0.02)
        assert latest["track_seed"] == 42  # --track-per-race: the next race is on the next track
        # ... and the window shows it: the lap timer runs on screen (a renderer left on the old race froze it)
        # (a still picture differs by exactly 0; a loaded machine may draw only a digit or two in a second)
        with WindowGrabber(find_window(title).handle) as grabber:
            before = grabber.grab()[:60].astype(int)
            deadline = time.monotonic() + 5
            while not np.abs(grabber.grab()[:60].astype(int) - before).any():
                assert time.monotonic() < deadline, "the restarted race's window shows a still picture"
                time.sleep(0.1)
        subprocess.run(["xdotool", "key", "Escape"], check=True)
        assert game.wait(10) == 0
    finally:
        game.kill()
        receiver.close()
        other.close()


def test_bad_input(desktop, tmp_path):
    assert_one_line_error(run("game", "--difficulty", "insane"), "unknown difficulty 'insane'; choose one of easy")
    assert_one_line_error(run("game", "--seed", "-1"), "track seed must be an integer in 0..2**32-1, got -1")
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    assert_one_line_error(run("game", env=env), "no display to open a window on")
    title, port = f"NeonRace-{uuid.uuid4().hex[:6]}", free_port()
    busy = TelemetryReceiver(port)
    try:
        env = ScreenEnv(neonrace_profile(tmp_path / "p.toml", title, port))
        with pytest.raises(PixelpilotError, match=f"cannot listen for telemetry on 127.0.0.1:{port}: Address already"):
            env.reset()
        env.close()
    finally:
        busy.close()
    assert processes_with(title) == []  # the game was never launched
