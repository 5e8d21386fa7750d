"""pixelpilot/Screen-v0 against real windows on the test desktop."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import agent.envs  # noqa: F401 - registers the environments
from agent.envs.launcher import free_port
from capture.errors import WindowClosedError
from control.keyboard import AgentStopped
from control.xkeys import pressed
from tests.conftest import KEYWINDOW, wait_until, write_profile
from tests.test_screen import activate

MANAGED = {"left", "right", "up", "down", "x", "enter"}


@pytest.fixture
def open_env(tmp_path, game_window):
    """Factory: a key window and a Screen-v0 env on it, ``(env, window)``; envs are closed at teardown."""
    envs = []

    def start(window_args=(), profile_extra="", **kwargs):
        window = game_window(listen=False, extra=window_args)
        profile = write_profile(tmp_path / f"game{len(envs)}.toml", window.title, window.port, profile_extra)
        envs.append(gym.make("pixelpilot/Screen-v0", profile=profile, **kwargs))
        return envs[-1], window

    yield start
    for env in envs:
        env.close()


def test_passes_gymnasium_env_checker(open_env):
    env, _ = open_env(render_mode="rgb_array")
    assert env.spec is not None and env.spec.nondeterministic
    # The render check would open a second env on the same window while this one holds the game's
    # telemetry port; one window serves one env, so render is checked directly below instead.
    check_env(env.unwrapped, skip_render_check=True)
    env.reset()
    frame = env.render()
    assert frame.shape == (600, 800, 3) and frame.dtype == np.uint8
    env.close()
    assert pressed(MANAGED) == set()


def test_reward_termination_truncation_and_reset(open_env):
    env, _ = open_env(("--done-score", "20"), "[done]\nmax_episode_seconds = 1.0\n")
    obs, info = env.reset()
    assert obs.shape == (128, 200, 1) and info["episode_number"] == 1
    total, terminated, steps = 0.0, False, 0
    while not terminated:
        obs, reward, terminated, truncated, info = env.step(2)  # up: the window's score grows
        total += reward
        steps += 1
        assert not truncated and steps < 15
    assert total >= 20 and info["telemetry"]["done"]
    assert set(info["timing"]) == {"agent_ms", "send_ms", "capture_ms"}

    obs, info = env.reset()  # presses Enter: the window starts a new episode with score 0
    assert info["episode_number"] == 2
    steps, truncated = 0, False
    while not truncated and steps < 20:
        obs, reward, terminated, truncated, info = env.step(0)  # left: no score
        assert reward == 0 and not terminated
        steps += 1
    assert steps == 15 and truncated  # 1 s at 15 fps
    assert info["telemetry"]["episode"] == 2 and not info["telemetry"]["done"]  # every reset presses Enter


def test_episodes_end_inside_a3c_workers_vector_env(tmp_path, game_window):
    """A3C's workers step the env in a vector env that resets in the same step and records each episode under
    ``info["episode"]``: the reset's own info must not use that key (it did, and every screen training's workers
    crashed at their first episode's end)."""
    from agent.a3c.args import Args
    from agent.learning.rollout import make_vector_env

    window = game_window(listen=False)
    profile = write_profile(tmp_path / "game.toml", window.title, window.port, "[done]\nmax_episode_seconds = 0.5\n")
    envs = make_vector_env(Args(env_id="pixelpilot/Screen-v0", env_kwargs={"profile": str(profile)}), 1, 0)
    try:
        envs.reset(seed=0)
        for _ in range(20):
            _, _, terminated, truncated, info = envs.step(np.array([2]))
            if truncated[0] or terminated[0]:
                break
        assert truncated[0] and info["_episode"][0] and info["episode"]["l"][0] == 8  # 0.5 s at 15 fps
        assert info["episode_number"][0] == 2  # the reset in the same step started the second episode
    finally:
        envs.close()
    assert pressed(MANAGED) == set()


def test_launches_the_game_from_the_profile_and_stops_it(tmp_path, desktop):
    title, port = f"Launched-{uuid.uuid4().hex[:6]}", free_port()
    launch = [sys.executable, str(KEYWINDOW), "--title", title, "--telemetry-port", str(port)]
    env = gym.make("pixelpilot/Screen-v0", profile=write_profile(tmp_path / "g.toml", title, port, launch=launch))
    try:
        env.reset()
        game = env.unwrapped.game
        assert game is not None and game.exited() is None
        env.step(2)
    finally:
        env.close()
    assert game.proc.poll() is not None


def test_minimised_window_pauses_the_episode_with_keys_released(open_env, caplog):
    env, window = open_env()
    seen_during_pause = []

    def minimise_then_restore():
        subprocess.run(["xdotool", "windowminimize", str(window.handle)], check=True)
        wait_until(lambda: "pausing until it is back" in caplog.text)
        seen_during_pause.append(pressed(MANAGED))
        activate(window.handle)

    env.reset()
    env.step(4)
    assert pressed(MANAGED) == {"right", "up"}
    thread = threading.Thread(target=minimise_then_restore)
    with caplog.at_level("WARNING"):
        thread.start()
        while thread.is_alive():
            env.step(4)
        thread.join()
        env.step(4)  # the step that waited out the pause
    assert "is minimised: pausing until it is back" in caplog.text
    assert "paused_s" in env.unwrapped.timing.counters  # the env waited, and counted the wait
    assert seen_during_pause == [set()]
    obs, *_ = env.step(4)
    assert obs.shape == (128, 200, 1)


def test_closed_window_is_a_typed_error_and_keys_are_released(open_env):
    env, window = open_env()
    env.reset()
    env.step(6)
    window.stop()
    with pytest.raises(WindowClosedError):
        for _ in range(30):
            env.step(6)
    assert pressed(MANAGED) == set()


def test_kill_switch_stops_the_env(open_env):
    env, _ = open_env()
    env.reset()
    env.step(6)
    assert pressed(MANAGED) == {"up", "x"}
    subprocess.run(["xdotool", "key", "F12"], check=True)
    assert env.unwrapped.hotkeys.killed.wait(5)
    assert pressed(MANAGED) == set()
    with pytest.raises(AgentStopped, match="kill switch"):
        env.step(6)
    assert pressed(MANAGED) == set()


def test_one_window_is_driven_by_one_env_at_a_time(open_env, tmp_path):
    from capture.errors import WindowBusyError
    from control.claim import WindowClaim

    env, window = open_env()
    env.reset()
    second = tmp_path / "second.toml"
    second.write_text(f'name = "second"\nwindow = "{window.title}"\nfps = 15\n[keys]\nreset = ["enter"]\n')
    intruder = gym.make("pixelpilot/Screen-v0", profile=second)
    with pytest.raises(WindowBusyError, match="driven by another pixelpilot process"):
        intruder.reset()
    intruder.close()
    watcher = gym.make("pixelpilot/Screen-v0", profile=second, observe_only=True)  # a recorder: no claim, no keys
    watcher.reset()
    with pytest.raises(ValueError, match="sends no keys"):
        watcher.step(2)
    watcher.close()
    env.close()  # the claim goes with the env
    claim = WindowClaim(":test", 0xABC, "t")
    with pytest.raises(WindowBusyError, match=r"pid \d+"):
        WindowClaim(":test", 0xABC, "t")
    other = WindowClaim(":test", 0xABD, "t")
    claim.release()
    WindowClaim(":test", 0xABC, "t").release()
    other.release()
