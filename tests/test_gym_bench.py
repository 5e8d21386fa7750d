"""``pixelpilot bench gym`` (benchmarks/gym_bench.py) end to end with a tiny budget: both algorithms train, stop,
are evaluated and reported."""

from __future__ import annotations

import argparse
import dataclasses
import re

import pytest

from benchmarks import gym_bench, screen_loop

pytestmark = [pytest.mark.learning, pytest.mark.slow]


def bench(tmp_path, monkeypatch, *options: str) -> str:
    """Run the command as the CLI does, with docs/benchmarks.md in tmp_path; the section it wrote."""
    doc = tmp_path / "docs" / "benchmarks.md"
    doc.parent.mkdir()
    doc.write_text(f"# Benchmarks\n\n{gym_bench.START}\nstale section\n{gym_bench.END}\n\n<!-- other:start -->\nkept\n")
    monkeypatch.setattr(screen_loop, "DOC", doc)
    parser = argparse.ArgumentParser()
    gym_bench.add_options(parser)
    args = parser.parse_args(["--envs", "CartPole-v1", "--seeds", "1", "--runs", str(tmp_path / "runs"), *options])
    assert args.func(args) == 0
    text = doc.read_text()
    assert "stale section" not in text and "<!-- other:start -->\nkept" in text
    return text[text.index(gym_bench.START) : text.index(gym_bench.END)]


def run_row(section: str, algorithm: str) -> list[str]:
    (row,) = re.findall(rf"^\| CartPole-v1 \| {algorithm} \| 1 \|.*$", section, re.M)
    return [cell.strip() for cell in row.strip("|").split("|")]


def test_budget_run_writes_tables_and_curves(tmp_path, monkeypatch):
    section = bench(tmp_path, monkeypatch, "--budget", "0.01")  # 5,000 steps each, an evaluation every 50

    assert "`pixelpilot bench gym --envs CartPole-v1 --seeds 1 --budget 0.01`" in section
    for algorithm in ("A3C", "A2C"):
        row = re.search(rf"^\| CartPole-v1 \| 475 \| {algorithm} \| (-?[0-9.]+) ± ([0-9.]+) \|", section, re.M)
        assert row, section
        # reached at (steps, wall-clock): no; ran the whole budget; a final return
        _, _, _, steps_at, wall_at, steps, _, final = run_row(section, algorithm)
        assert (steps_at, wall_at) == ("—", "—")
        # the whole budget; A3C's last updates (16 envs x 5 steps per worker) may overshoot it
        assert 5_000 <= int(steps.replace(",", "")) < 5_000 + 2 * 16 * 5
        assert re.fullmatch(r"[0-9.]+ ± [0-9.]+", final)
    assert "| CartPole-v1 | — | — |" in section  # no ratios when neither reached the threshold
    png = tmp_path / "docs" / "curves" / "gym_CartPole-v1.png"
    assert "![CartPole-v1](curves/gym_CartPole-v1.png)" in section
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 10_000
    (run,) = (tmp_path / "runs").glob("*/gym-CartPole-v1-a3c-s1")  # a folder per invocation
    assert (run / "checkpoints" / "latest.pt").is_file()


def test_runs_stop_at_the_threshold(tmp_path, monkeypatch):
    easy = dataclasses.replace(gym_bench.BENCHMARKS["CartPole-v1"], threshold=0.0)
    monkeypatch.setitem(gym_bench.BENCHMARKS, "CartPole-v1", easy)
    section = bench(tmp_path, monkeypatch, "--budget", "0.02")  # 10,000 steps, an evaluation every 100

    for algorithm in ("A3C", "A2C"):
        _, _, _, steps_at, wall_at, steps, _, _ = run_row(section, algorithm)
        assert 100 <= int(steps_at.replace(",", "")) < 2_000, section  # the first evaluation reached it
        assert int(steps.replace(",", "")) < 10_000  # and the run stopped there
        assert float(wall_at.removesuffix(" s")) > 0, section
    ratios = re.search(r"^\| CartPole-v1 \| ([0-9.]+) \| ([0-9.]+) \|$", section, re.M)
    assert ratios, section
