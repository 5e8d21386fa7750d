"""What training through the screen buys per half hour: the pixel recipe (``pixelpilot train --profile neonrace
--workers 2``, the Screen-v0 preset) from scratch and from the shipped pilot, side by side.

Each run drives real NeonRace windows, one per worker on a virtual desktop of its own, at the profile's 15 fps, so
30 minutes are about 27,000 steps; an evaluator on a third desktop races the greedy policy on the game's own track
(3 laps or 180 s) every quarter of the run. The starting point of each curve is its starting policy evaluated the
same way. Runs are kept under ``runs/bench/neonrace_screen_recipe/`` and read back on a second run; an interrupted
one resumes from its last checkpoint.

Run: .venv/bin/python benchmarks/neonrace_screen_recipe.py [--minutes 30] [--starts scratch pilot]
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.neonrace_pilot import PILOT, read_run, shown  # noqa: E402
from benchmarks.neonrace_screen import EVAL_EPISODES, start_point  # noqa: E402
from benchmarks.screen_loop import figure, machine, publish  # noqa: E402

START, END = "<!-- neonrace_screen_recipe:start -->", "<!-- neonrace_screen_recipe:end -->"
RUNS = ROOT / "runs" / "bench" / "neonrace_screen_recipe"
CURVE = ROOT / "docs" / "curves" / "neonrace_screen_recipe.png"
FPS, WORKERS = 15, 2


def command(start: str, steps: int, run_dir: Path) -> list[str]:
    """The training command of one run: the preset, from scratch or from the shipped pilot."""
    begin = ["--init-from", shown(PILOT)] if start == "pilot" else []
    quarter = str(steps // 4)
    return ["pixelpilot", "train", "--profile", "neonrace", "--workers", str(WORKERS), *begin, "--total-steps",
            str(steps), "--eval-every", quarter, "--eval-episodes", str(EVAL_EPISODES), "--checkpoint-every", quarter,
            "--run-name", run_dir.name, "--runs-dir", shown(run_dir.parent), "--no-progress"]  # fmt: skip


def run(start: str, steps: int, runs: Path) -> Path:
    """The run's folder, trained (or resumed) to ``steps``."""
    run_dir = runs / start
    latest = run_dir / "checkpoints" / "latest.pt"
    if latest.exists():
        from agent.policy.checkpoint import load_checkpoint

        if load_checkpoint(latest).counters["steps"] < steps:
            argv = ["train", "--resume", str(run_dir), "--profile", "neonrace", "--no-progress"]
            subprocess.run([sys.executable, "-m", "agent.cli", *argv], cwd=ROOT, check=True)
        return run_dir
    if run_dir.exists():  # stopped before its first checkpoint
        import shutil

        shutil.rmtree(run_dir)
    subprocess.run([sys.executable, "-m", "agent.cli", *command(start, steps, run_dir)[1:]], cwd=ROOT, check=True)
    return run_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="real-time minutes per run (default 30)")
    parser.add_argument("--starts", nargs="+", default=["scratch", "pilot"], choices=["scratch", "pilot"])
    parser.add_argument("--runs", type=Path, default=RUNS, help=f"where the runs are kept (default {shown(RUNS)})")
    parser.add_argument("--no-write", action="store_true", help="print only")
    options = parser.parse_args()
    steps = int(options.minutes * 60 * FPS * WORKERS)

    fig, axes = figure(2, 2, figsize=(10, 6), sharey="row")
    rows = []
    for start in options.starts:
        run_dir = run(start, steps, options.runs)
        evaluations, _ = read_run(run_dir)
        first = start_point(run_dir, PILOT) if start == "pilot" else None
        points = ([first] if first else []) + evaluations
        for col, (x, scale) in enumerate((("steps", 1.0), ("wall_s", 60.0))):
            axes[0, col].plot([p[x] / scale for p in points], [p["eval_return"] for p in points], "o-", label=start)
            axes[1, col].plot([p[x] / scale for p in points], [p["eval_laps"] for p in points], "o-")
        rows += [f"| {start} | {p['steps']:,.0f} | {p['wall_s'] / 60:.1f} min | {p['eval_return']:.0f} | "
                 f"{p['eval_laps']:.0%} |" for p in points]  # fmt: skip
    for col, label in enumerate(("environment steps", "wall-clock (min)")):
        axes[1, col].set_xlabel(label)
    axes[0, 0].set_ylabel("score (3 laps or 180 s)")
    axes[1, 0].set_ylabel("lap completion")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"The pixel recipe through the screen: {WORKERS} workers, each a virtual desktop + NeonRace window")
    fig.tight_layout()
    if not options.no_write:
        CURVE.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(CURVE, dpi=90)
    scratch = command("scratch", steps, options.runs / "scratch")
    lines = [
        "## Training through the screen: what half an hour buys (issue 17)",
        "",
        f"`.venv/bin/python benchmarks/neonrace_screen_recipe.py --minutes {options.minutes:g}` on "
        f"{datetime.date.today()}: {machine()}. Runs: `{shlex.join(scratch)}`, "
        f"and the same with `--init-from {shown(PILOT)}`. Score: the game's (telemetry, with the profile's crash "
        f"penalty), {EVAL_EPISODES} greedy races on the game's own track per point.",
        "",
        "| start | steps | wall-clock | evaluation score | lap completion |",
        "|---|---:|---:|---:|---:|",
        *rows,
        "",
        "![curve](curves/neonrace_screen_recipe.png)",
    ]
    publish(lines, START, END, write=not options.no_write)


if __name__ == "__main__":
    main()
