"""``pixelpilot bench gym`` (benchmarks/gym_bench.py) end to end with a tiny budget: the pairs of algorithms (A3C
and A2C, PPO and SB3's PPO, DQN and SB3's DQN) train, stop, are evaluated and reported, each pair in its own section;
a pair is measured on its own environments only."""

from __future__ import annotations

import argparse
import dataclasses
import re

import pytest

from benchmarks import gym_bench, gym_settings, screen_loop
from benchmarks.gym_settings import PAIRS

pytestmark = [pytest.mark.learning, pytest.mark.slow]


def bench(tmp_path, monkeypatch, *options: str) -> str:
    """Run the command as the CLI does, with docs/benchmarks.md in tmp_path; the sections it wrote (A3C's replaced,
    PPO's added)."""
    doc = tmp_path / "docs" / "benchmarks.md"
    doc.parent.mkdir()
    doc.write_text(
        f"# Benchmarks\n\n{PAIRS['a3c'].start}\nstale section\n{PAIRS['a3c'].end}\n\n<!-- other:start -->\nkept\n"
    )
    monkeypatch.setattr(screen_loop, "DOC", doc)
    parser = argparse.ArgumentParser()
    gym_bench.add_options(parser)
    args = parser.parse_args(["--envs", "CartPole-v1", "--seeds", "1", "--runs", str(tmp_path / "runs"), *options])
    assert args.func(args) == 0
    text = doc.read_text()
    assert "stale section" not in text and "<!-- other:start -->\nkept" in text
    assert PAIRS["ddpg"].start not in text  # Pendulum alone is DDPG's, and it was not chosen
    return "\n".join(text[text.index(PAIRS[a].start) : text.index(PAIRS[a].end)] for a in ("a3c", "ppo", "dqn"))


def run_row(section: str, algorithm: str) -> list[str]:
    (row,) = re.findall(rf"^\| CartPole-v1 \| {algorithm} \| 1 \|.*$", section, re.M)
    return [cell.strip() for cell in row.strip("|").split("|")]


def test_budget_run_writes_tables_and_curves(tmp_path, monkeypatch):
    section = bench(tmp_path, monkeypatch, "--budget", "0.01")  # 5,000 steps each, an evaluation every 50

    assert "`pixelpilot bench gym --envs CartPole-v1 --seeds 1 --budget 0.01`" in section
    for algorithm in ("DQN", "SB3 DQN"):  # 500 steps of the 50,000 of rl-zoo3's DQN budget, all before learning
        _, _, _, steps_at, _, steps, _, _ = run_row(section, algorithm)
        assert steps_at == "—" and 500 <= int(steps.replace(",", "")) < 500 + 256
    for algorithm in ("A3C", "A2C", "PPO", "SB3 PPO"):
        row = re.search(rf"^\| CartPole-v1 \| 475 \| {algorithm} \| (-?[0-9.]+) ± ([0-9.]+) \|", section, re.M)
        assert row, section
        # reached at (steps, wall-clock): no; ran the whole budget; a final return
        _, _, _, steps_at, wall_at, steps, _, final = run_row(section, algorithm)
        assert (steps_at, wall_at) == ("—", "—")
        # the whole budget; the last update may overshoot it (A3C: 16 envs x 5 steps per worker; PPO: 8 x 32)
        assert 5_000 <= int(steps.replace(",", "")) < 5_000 + 256
        assert re.fullmatch(r"[0-9.]+ ± [0-9.]+", final)
    assert section.count("| CartPole-v1 | — | — |") == 3  # no ratios when neither reached the threshold
    for name in ("gym_CartPole-v1.png", "gym_ppo_CartPole-v1.png", "gym_dqn_CartPole-v1.png"):
        png = tmp_path / "docs" / "curves" / name
        assert f"![CartPole-v1](curves/{name})" in section
        assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 10_000
    for learner in ("a3c", "ppo", "dqn"):
        (run,) = (tmp_path / "runs").glob(f"*/gym-CartPole-v1-{learner}-s1")  # a folder per invocation
        assert (run / "checkpoints" / "latest.pt").is_file()


def test_runs_stop_at_the_threshold(tmp_path, monkeypatch):
    easy = dataclasses.replace(gym_settings.BENCHMARKS["CartPole-v1"], threshold=0.0)
    monkeypatch.setitem(gym_settings.BENCHMARKS, "CartPole-v1", easy)
    section = bench(tmp_path, monkeypatch, "--budget", "0.02")  # 10,000 steps, an evaluation every 100

    for algorithm in ("A3C", "A2C", "PPO", "SB3 PPO"):
        _, _, _, steps_at, wall_at, steps, _, _ = run_row(section, algorithm)
        assert 100 <= int(steps_at.replace(",", "")) < 2_000, section  # the first evaluation reached it
        assert int(steps.replace(",", "")) < 10_000  # and the run stopped there
        assert float(wall_at.removesuffix(" s")) > 0, section
    for algorithm in ("DQN", "SB3 DQN"):  # 1,000 steps, an evaluation every 50; ours evaluates after 256-step rounds
        _, _, _, steps_at, _, steps, _, _ = run_row(section, algorithm)
        assert 50 <= int(steps_at.replace(",", "")) <= 256 and int(steps.replace(",", "")) < 1_000, section
    ratios = re.search(r"^\| CartPole-v1 \| ([0-9.]+) \| ([0-9.]+) \|$", section, re.M)
    assert ratios, section
