"""A3C through the screen on NeonRace: the learning curve of a short run of 2 workers, each on its own virtual
desktop with its own game window, capture and keyboard, fine-tuning a cloned pilot.

From scratch, A3C on this machine needs far more steps than real-time windows give in a session (15 steps per
second per worker; see the in-process curves), so the run starts from a behaviour clone of screen recordings,
whose critic already counts the screen's score. The starting point of the curve is the same checkpoint
evaluated the same way (through a window on a virtual desktop, the game's own track, 3 laps or 180 s).

The clone comes from benchmarks/cloning.py (run it first). The run stays in ``--out`` and is reused on a second
run (delete it to redo it).

Run: .venv/bin/python benchmarks/neonrace_screen.py [--init-from CHECKPOINT] [--steps 24000]
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.neonrace_pilot import read_run, shown  # noqa: E402
from benchmarks.screen_loop import figure, machine, publish  # noqa: E402

START, END = "<!-- neonrace_screen:start -->", "<!-- neonrace_screen:end -->"
CURVE = ROOT / "docs" / "curves" / "neonrace_screen.png"
EVAL_EPISODES = 2
CLONE = ROOT / "runs" / "cloning" / "clone-30min" / "checkpoints" / "latest.pt"
"""benchmarks/cloning.py's 30-minute clone"""


def command(init_from: Path, steps: int, run_dir: Path) -> list[str]:
    """The training command: the clone's settings for fine-tuning (its critic's reward scale, small steps, a
    penalty for drifting from it)."""
    return ["pixelpilot", "train", "--profile", "neonrace", "--workers", "2", "--init-from", str(init_from),
            "--lr", "1e-4", "--reward-scale", "0.1", "--normalize-advantages", "--max-grad-norm", "0.5",
            "--n-steps", "10", "--gae-lambda", "0.95", "--init-kl-coef", "1.0", "--total-steps", str(steps),
            "--eval-every", str(steps // 4), "--eval-episodes", str(EVAL_EPISODES), "--checkpoint-every",
            str(steps // 4), "--run-name", run_dir.name, "--runs-dir", str(run_dir.parent),
            "--no-progress"]  # fmt: skip


def start_point(run_dir: Path, init_from: Path) -> dict[str, float]:
    """The starting checkpoint through the screen, evaluated as the run's evaluator does (kept in the run)."""
    saved = run_dir / "start_evaluation.json"
    if not saved.exists():
        from agent.policy.evaluation import evaluate

        e = evaluate(init_from, EVAL_EPISODES, profile="neonrace")
        point = {"steps": 0.0, "wall_s": 0.0, "eval_return": e.mean, "eval_laps": e.lap_completion or 0.0}
        saved.write_text(json.dumps(point))
    return json.loads(saved.read_text())


def plot(evaluations: list[dict[str, float]], training: list[dict[str, float]]) -> None:
    fig, axes = figure(2, 2, figsize=(10, 6), sharey="row")
    for col, (x, scale, label) in enumerate(
        (("steps", 1.0, "environment steps"), ("wall_s", 60.0, "wall-clock (min)"))
    ):
        axes[0, col].plot([p[x] / scale for p in training], [p["episodic_return"] for p in training], color="tab:gray",
                          alpha=0.6, label="training episodes (mean of last 20, sampled actions)")  # fmt: skip
        axes[0, col].plot([p[x] / scale for p in evaluations], [p["eval_return"] for p in evaluations], "o-",
                          label=f"evaluation ({EVAL_EPISODES} races, greedy)")  # fmt: skip
        axes[1, col].plot([p[x] / scale for p in evaluations], [p["eval_laps"] for p in evaluations], "o-",
                          color="tab:green")  # fmt: skip
        axes[1, col].set_xlabel(label)
    axes[0, 0].set_ylabel("score (3 laps or 180 s)")
    axes[1, 0].set_ylabel("lap completion")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("A3C through the screen: 2 workers, each a virtual desktop + NeonRace window at 15 fps")
    fig.tight_layout()
    CURVE.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(CURVE, dpi=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--init-from", type=Path, default=CLONE, help="the clone to fine-tune (default: cloning.py's 30-min one)"
    )
    parser.add_argument("--steps", type=int, default=24_000, help="environment steps (default 24,000: about 15 min)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "neonrace-screen", help="the run folder")
    parser.add_argument("--no-write", action="store_true", help="print only")
    options = parser.parse_args()

    if not (options.out / "progress.csv").exists():
        argv = command(options.init_from, options.steps, options.out)
        subprocess.run([sys.executable, "-m", "agent.cli", *argv[1:]], cwd=ROOT, check=True)
    import tomllib

    config = tomllib.loads((options.out / "config.toml").read_text())
    init_from = Path(config["init_from"])
    evaluations, training = read_run(options.out)
    evaluations = [start_point(options.out, init_from), *evaluations]
    plot(evaluations, training)
    run_command = command(Path(shown(init_from)), config["total_steps"], Path("runs") / options.out.name)
    wall = max(p["wall_s"] for p in evaluations + training)
    lines = [
        "## A3C through the screen: a learning curve (issue 5)",
        "",
        f"`.venv/bin/python benchmarks/neonrace_screen.py` on {datetime.date.today()}: {machine()}. The run: "
        f"`{shlex.join(run_command)}`.",
        "",
        f"Each of the 2 workers started its own Xvfb + openbox desktop and NeonRace window, captured it and pressed "
        f"keys through XTest at 15 fps; the evaluator ran {EVAL_EPISODES} races on a third desktop (greedy policy, "
        f"the game's own track, 3 laps or 180 s). {config['total_steps']:,} steps in {wall / 60:.0f} min. "
        "Score: the game's, read from its telemetry (what the HUD shows).",
        "",
        "| steps | wall-clock | evaluation score | lap completion |",
        "|---:|---:|---:|---:|",
        *(
            f"| {p['steps']:,.0f} | {p['wall_s'] / 60:.1f} min | {p['eval_return']:.0f} | {p['eval_laps']:.0%} |"
            for p in evaluations
        ),
        "",
        f"From the start's {evaluations[0]['eval_return']:.0f} to a final {evaluations[-1]['eval_return']:.0f} (range "
        f"{min(p['eval_return'] for p in evaluations[1:]):.0f}–{max(p['eval_return'] for p in evaluations[1:]):.0f} "
        f"after the start); lap completion {evaluations[0]['eval_laps']:.0%} at the start, "
        f"at least {min(p['eval_laps'] for p in evaluations[1:]):.0%} after it. {EVAL_EPISODES} races per point on "
        "one track, driven in real time, make each point noisy: read it as whether fine-tuning through the screen "
        "keeps the clone's driving, not as a trend.",
        "",
        "![curve](curves/neonrace_screen.png)",
    ]
    publish(lines, START, END, write=not options.no_write)


if __name__ == "__main__":
    main()
