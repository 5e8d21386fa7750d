"""The digits reward source on gymnasium's real CarRacing window, on the test desktop.

The game runs unchanged (``python -m gymnasium.envs.box2d.car_racing``) inside a shim that logs, for every
frame, the score text it drew and when the frame reached the screen; each read is checked against the frames
that were on screen while the window was grabbed (benchmarks/digits_accuracy.py measures the same way).
"""

from __future__ import annotations

import dataclasses
import time

import gymnasium as gym
import pytest

import agent.envs  # noqa: F401 - registers the environments
from agent.envs.launcher import GameProcess, wait_for_window
from agent.envs.profile import load_profile
from benchmarks.digits_accuracy import WINDOW, Truth, measure_offscreen, truth_command, wait_for_first_frame
from capture.digits import DigitReader
from control.xkeys import pressed
from tests.test_digits import run_cli

# Importing Box2D's SWIG wrappers warns about their types; nothing pixelpilot can change.
GIVE_UP = 300
"""steps (20 s of the game's 15 fps) a phase of the drive may take before the test stops waiting for its score"""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:builtin type .* has no __module__ attribute:DeprecationWarning"),
]


@pytest.fixture
def carracing(desktop, tmp_path):
    """The real game window, with its log of what it showed; ``(profile, log)``."""
    log = tmp_path / "truth.log"
    game = GameProcess(truth_command(log))
    try:
        wait_for_window(WINDOW, 30, game)
        wait_for_first_frame(log, game)
        yield load_profile("carracing"), log
    finally:
        game.stop()


def test_screen_env_reads_the_score_of_the_real_game_while_driving(carracing):
    profile, log = carracing
    profile = dataclasses.replace(profile, launch=())  # the window is open: use it, launch nothing
    env = gym.make("pixelpilot/Screen-v0", profile=profile)
    steps = []

    def step(action: int) -> int:
        """One step; the score it read (a read of None fails the checks below)."""
        t0 = time.monotonic()
        _, reward, terminated, truncated, info = env.step(action)
        steps.append((t0, time.monotonic(), reward, info["telemetry"]))
        assert not terminated and not truncated
        read = info["telemetry"]["digits"]
        return 0 if read is None else read

    try:
        env.reset()
        # Braking at a standstill until the score has sunk below zero, accelerating until new tiles lift it past 30,
        # braking again. Conditions, not step counts: on a loaded machine the game draws fewer frames per step,
        # and its score moves slower.
        for _ in range(GIVE_UP):
            if step(5) < 0:
                break
        for _ in range(GIVE_UP):
            if step(2) > 30:
                break
        for _ in range(30):
            step(5)
        env.reset()  # Enter: a new track, whose score must not count against the old one
        after_reset = [env.step(5) for _ in range(10)]
    finally:
        env.close()
    assert pressed({"left", "right", "up", "down", "enter"}) == set()

    assert set(steps[0][3]) == {"digits", "number", "reads", "read_failures"}  # the digits source's info
    truth = Truth(log)
    reads = [(t0, t1, info["digits"]) for t0, t1, _, info in steps]
    assert all(read is not None for *_, read in reads), reads
    wrong = [(read, truth.on_screen(t0, t1)) for t0, t1, read in reads]
    wrong = [(read, shown) for read, shown in wrong if read not in {int(text) for text in shown}]
    assert not wrong, wrong
    numbers = [read for *_, read in reads]
    assert min(numbers) < 0 < max(numbers)

    first = next(info["number"] for *_, info in steps if info["number"] is not None)
    last = steps[-1][3]["number"]
    assert sum(reward for _, _, reward, _ in steps) == pytest.approx(last - first)
    assert last in {int(text) for text in truth.on_screen(steps[-3][0], steps[-1][1])}
    assert last > 15 and -5 <= after_reset[-1][4]["telemetry"]["number"] <= 10  # a new track, from about 0
    assert all(abs(reward) <= 2 for _, reward, *_ in after_reset)  # and no jump from the old score


def test_digits_read_command_on_the_live_window(carracing, capsys):
    assert run_cli("read", "--profile", "carracing", "--frames", "3", "--fps", "10") == 0
    out = capsys.readouterr().out
    assert "reading 'pygame window' at top=722 left=0 124x48" in out
    assert "3 reads, 0 unreadable" in out


def test_offscreen_renders_of_a_driven_game_read_exactly():
    profile = load_profile("carracing")
    assert profile.reward.glyphs is not None
    score = measure_offscreen(DigitReader.load(profile.reward.glyphs), profile, 60)
    assert score.correct == 60 and max(score.truths) > 0, score.examples
