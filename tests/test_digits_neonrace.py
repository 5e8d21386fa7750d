"""The digits reward source on NeonRace's HUD: rendered frames, and the real window through Screen-v0."""

from __future__ import annotations

import uuid

import pytest

from agent.envs.launcher import free_port
from agent.envs.profile import load_profile
from agent.envs.screen import ScreenEnv
from benchmarks.digits_neonrace import rendered_frames
from capture.digits import DigitReader
from capture.telemetry import TelemetryReceiver
from games import PROFILES_DIR

pytestmark = pytest.mark.slow


def test_reads_the_hud_score_of_rendered_frames():
    profile = load_profile("neonrace-digits")
    reader = DigitReader.load(profile.reward.glyphs)
    r = profile.reward.region
    frames = list(rendered_frames(120, every=11))
    assert all(reader.read(r.cut(f)) == s for f, s in frames)


def test_reward_read_from_the_window_adds_up_to_the_games_score(desktop, tmp_path):
    title, port = f"NeonRace-{uuid.uuid4().hex[:6]}", free_port()
    text = (PROFILES_DIR / "neonrace-digits.toml").read_text()
    text = text.replace('window = "NeonRace"', f'window = "{title}"')
    text = text.replace('"--telemetry-port", "0"]', f'"--telemetry-port", "{port}", "--title", "{title}"]')
    text = text.replace('glyphs = "neonrace_digits.npz"', f'glyphs = "{PROFILES_DIR / "neonrace_digits.npz"}"')
    (tmp_path / "p.toml").write_text(text)
    truth = TelemetryReceiver(port)  # the game's own score, to check the reads against
    env = ScreenEnv(tmp_path / "p.toml")
    try:
        env.reset()
        start = max((m["score"] for m in truth.drain()), default=0)
        total, history = 0.0, []
        for _ in range(60):
            _, reward, *_ = env.step(2)
            total += reward
            history.append(max((m["score"] for m in truth.drain()), default=history[-1] if history else start))
        # The debounced reader follows one or two polls behind: the sum lies between those scores and now's.
        assert total > 100
        assert history[-4] - start <= total <= history[-1] - start
    finally:
        env.close()
        truth.close()
