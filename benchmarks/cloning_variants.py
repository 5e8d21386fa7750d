"""What lets a behaviour clone see the road from 10 minutes of driving: the same demonstrations cloned with
different networks and options, each clone raced on the held-out tracks.

The demonstrations: the scripted expert drives NeonRace in-process, one lap per track on new training tracks,
until MINUTES of driving (15 steps a second) are stored, as ``pixelpilot dagger``'s round 0 stores them (the
same frames a recording of the window stores: the equivalence test of the in-process game checks it). Each
variant is ``pixelpilot pretrain`` on them with the options its row names, at most 8 epochs (patience 2) unless
the row says otherwise, then
50 held-out tracks in-process with its most likely actions. Kept in ``runs/bench/cloning_variants/`` and read
back on a second run.

Run: .venv/bin/python benchmarks/cloning_variants.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import datetime
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.neonrace_pilot import cells  # noqa: E402
from benchmarks.neonrace_references import HELD_OUT_SEED, TEST_KWARGS, actions_used  # noqa: E402
from benchmarks.screen_loop import machine, publish  # noqa: E402

START, END = "<!-- cloning_variants:start -->", "<!-- cloning_variants:end -->"
RUNS = ROOT / "runs" / "bench" / "cloning_variants"
LAP_STEPS = 330  # about one lap of the expert
VARIANTS: dict[str, dict[str, Any]] = {
    "pretrain's defaults: CNN + LSTM, 1 frame, classes balanced": {},
    "CNN + LSTM, 1 frame, not balanced": {"balance_classes": False},
    "CNN, 2 frames pooled 2x2, not balanced (dagger's)": {"model": "cnn-mlp", "frame_stack": 2, "pool": 2,
                                                          "balance_classes": False, "burn_in": 0},
    "CNN, 2 frames pooled 2x2, balanced": {"model": "cnn-mlp", "frame_stack": 2, "pool": 2, "burn_in": 0},
    "CNN, 2 frames at full resolution, not balanced": {"model": "cnn-mlp", "frame_stack": 2, "balance_classes": False,
                                                       "burn_in": 0},
    "CNN, 4 frames pooled 2x2, not balanced": {"model": "cnn-mlp", "frame_stack": 4, "pool": 2,
                                               "balance_classes": False, "burn_in": 0},
    # The CNN's epochs take a minute or less: the same network trained to convergence, not to 8 epochs.
    "CNN, 2 frames pooled 2x2, not balanced, 40 epochs": {"model": "cnn-mlp", "frame_stack": 2, "pool": 2,
                                                          "balance_classes": False, "burn_in": 0, "epochs": 40,
                                                          "patience": 4},
    "CNN, 2 frames pooled 2x2, balanced, 40 epochs": {"model": "cnn-mlp", "frame_stack": 2, "pool": 2, "burn_in": 0,
                                                      "epochs": 40, "patience": 4},
}  # fmt: skip
BUDGET = {"epochs": 8, "patience": 2}
"""epochs at most and patience of every row unless it says otherwise"""


def demonstrations(minutes: float) -> Path:
    """The expert's driving, as dagger's round 0 records it (made once)."""
    from agent.demos.dagger import collect
    from agent.demos.dagger_args import DaggerArgs

    out = RUNS / f"expert-{minutes:g}min"
    if not (out / "data" / "metadata.json").exists() or not (RUNS / f"{out.name}.done").exists():
        shutil.rmtree(out, ignore_errors=True)
        races = max(2, round(minutes * 60 * 15 / LAP_STEPS))
        args = DaggerArgs(episodes_per_round=races, seed=2)  # seed 2: other tracks than dagger's own runs
        collect(None, args, out, 0, 1.0, np.random.default_rng(0))
        (RUNS / f"{out.name}.done").touch()
    return out


def clone(name: str, options: dict[str, Any], data: Path) -> tuple[Path, Any]:
    """The variant's clone (trained once) and its held-out evaluation."""
    from agent.demos.pretrain import pretrain
    from agent.demos.pretrain_args import PretrainArgs
    from agent.policy.evaluation import evaluate

    run = RUNS / f"v{list(VARIANTS).index(name)}"
    checkpoint = run / "checkpoints" / "latest.pt"
    if not checkpoint.exists():
        shutil.rmtree(run, ignore_errors=True)  # an interrupted training starts over
        args = PretrainArgs(data=[str(data)], env_id="pixelpilot/NeonRace-v0", env_kwargs=dict(TEST_KWARGS),
                            runs_dir=str(RUNS), run_name=run.name, **(BUDGET | options))  # fmt: skip
        pretrain(args)
    return run, evaluate(checkpoint, 50, HELD_OUT_SEED, env_kwargs=TEST_KWARGS)


def accuracy(run: Path) -> tuple[float, int, float]:
    """(best validation accuracy, its epoch, wall-clock s) from the run's progress.csv."""
    import csv

    with (run / "progress.csv").open() as file:
        rows = list(csv.DictReader(file))
    best = min(rows, key=lambda r: float(r["val_policy_loss"]))
    return float(best["val_accuracy"]), int(best["epoch"]), float(rows[-1]["wall_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes of demonstrations (default 10)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    options = parser.parse_args()
    from agent.demos.dataset import load_demos
    from benchmarks.neonrace_pilot import scripted

    data = demonstrations(options.minutes)
    demos = load_demos(data)
    shares = np.bincount(demos.actions, minlength=7) / len(demos.actions)
    expert = scripted("expert", 50)
    expert_lap = float(np.mean(expert.lap_times))
    rows = []
    for name, variant in VARIANTS.items():
        run, evaluation = clone(name, variant, data)
        acc, epoch, seconds = accuracy(run)
        used = actions_used(evaluation)
        rows.append(f"| {name} | {acc:.1%} (epoch {epoch}) | {seconds / 60:.1f} min | {used} | "
                    f"{cells(evaluation, expert_lap)}")  # fmt: skip
        print(rows[-1], flush=True)
    lines = [
        "## What a clone needs to see the road: cloning options on 10 minutes of driving (issue 18)",
        "",
        f"`.venv/bin/python benchmarks/cloning_variants.py --minutes {options.minutes:g}` on "
        f"{datetime.date.today()}: {machine()}.",
        "",
        f"The same demonstrations for every row: {len(demos.actions):,} steps ({len(demos.actions) / 15 / 60:.1f} "
        f"min) of the scripted expert, one lap on each of {len(np.unique(demos.episode))} training tracks; its "
        f"most common action is {float(shares.max()):.0%} of the steps (what a blind clone's accuracy would be). "
        "Each row is `pixelpilot pretrain` with the options it names (8 epochs at most, patience 2, unless it says "
        "otherwise; the best "
        'validation loss kept), then 50 held-out tracks, one lap, most likely actions. "actions used": how many '
        "actions the clone takes on 5% of the steps or more.",
        "",
        "| clone | val. accuracy | training | actions used | laps finished | lap time | vs expert | score | crashes "
        "| return |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| expert (scripted) | — | — | {actions_used(expert)} | {cells(expert, expert_lap)}",
        *rows,
    ]
    publish(lines, START, END, write=not options.no_write)


if __name__ == "__main__":
    main()
