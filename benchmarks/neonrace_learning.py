"""Does A3C learn to race? Recipes trained from scratch on pixelpilot/NeonRace-v0, several seeds each, judged on
held-out tracks against the reference drivers, with pixelpilot's PPO, DQN and DQfD on the same steps (each learner
in its own section of docs/benchmarks.md, one learner per sitting) and Stable-Baselines3 PPO and A2C given the same
wall-clock.

Each run trains with ``pixelpilot train`` options (``RECIPES``: the shipped pilot's settings with one change at a
time; the other learners' presets), evaluating every ``EVAL_EVERY`` steps on 20 training-time tracks (one lap from a
standing start, as the test), and its final checkpoint is driven on the 50 held-out tracks of
``benchmarks/neonrace_references.py``. Per run: steps (and minutes) to the first evaluation that meets the goal (≥
99% of laps, mean lap time ≤ 0.85x the expert's), and whether an evaluation after it fell below 95% of laps. Runs
live under ``runs/bench/neonrace_learning/``: a finished run is read back, an interrupted one is resumed from its
last checkpoint, so the benchmark can be completed over several sittings. SB3's models are cached there too.

Run: .venv/bin/python benchmarks/neonrace_learning.py [--recipes NAME ...] [--seeds N] [--steps N] [--sb3]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime
import json
import math
import shlex
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.neonrace_references import (  # noqa: E402
    BOUND_ROW,
    EXPERT_ROW,
    HELD_OUT_SEED,
    STRONG_ROW,
    TEST_KWARGS,
    actions_used,
    drivers,
    table_rows,
)
from benchmarks.screen_loop import figure, machine, publish  # noqa: E402

START, END = "<!-- neonrace_learning:start -->", "<!-- neonrace_learning:end -->"
"""A3C's section; the other learners' runs go to sections of their own (:func:`markers`), so that a sitting that
trains PPO leaves A3C's table as it was"""
ENV_ID = "pixelpilot/NeonRace-v0"
RUNS = ROOT / "runs" / "bench" / "neonrace_learning"
CURVES = ROOT / "docs" / "curves"
EVAL_EVERY = 25_000
"""the preset's evaluation interval: also the checkpoint interval, where an interrupted run resumes"""
GOAL_LAPS, GOAL_RATIO, STABLE_LAPS = 0.99, 0.85, 0.95
SHIPPED_PILOT = {"model": "cnn-lstm", "frame_stack": 1, "pool": 1, "lr": 5e-4, "entropy_coef": 0.01}
"""models/pretrained/neonrace-pilot.toml before this benchmark: the universe-starter CNN + LSTM on single frames"""
RECIPES: dict[str, dict[str, Any]] = {
    # The preset NeonRace-v0 trains with (agent/a3c/presets.py), then one change at a time.
    "recipe": {},
    "recipe, entropy 0.01": {"entropy_coef": 0.01},
    "recipe, lr 1e-4": {"lr": 1e-4},
    "recipe, 4 frames": {"frame_stack": 4},
    "recipe, no pooling": {"pool": 1},
    "recipe, input norm": {"input_norm": True},
    "recipe, frame differences": {"frame_differences": True},
    "recipe, crash penalty 25": {"env_kwargs": {"laps": 3, "max_episode_steps": 1000, "crash_penalty": 25.0}},
    "recipe, crash penalty 25, annealed": {
        "env_kwargs": {"laps": 3, "max_episode_steps": 1000, "crash_penalty": 25.0},
        "anneal_lr": True,
        "entropy_coef_end": 0.01,
    },
    "the shipped pilot's (CNN + LSTM)": SHIPPED_PILOT,
    "CNN + layer-normed LSTM": {**SHIPPED_PILOT, "layer_norm": True},
    # The other learners, each from its own NeonRace-v0 preset (agent/ppo/presets.py, agent/dqn/presets.py).
    "PPO": {"algo": "ppo"},
    "DQN (Double, Dueling, prioritised)": {"algo": "dqn"},
    # DQfD: DQN with 15 minutes of the scripted expert in every minibatch (a quarter of it), first pretrained on
    # them alone, then acting with little exploration (random actions would spoil what the demonstrations taught).
    "DQfD, 15 min of the expert": {"algo": "dqn", "expert_minutes": 15, "demo_pretrain_steps": 20_000,
                                   "start_e": 0.01},
}  # fmt: skip
"""each recipe's ``pixelpilot train`` options on top of its learner's preset; ``algo``: the learner (A3C where
not named); ``expert_minutes``: demonstrations of the scripted expert (recorded once) as ``demos``"""


@dataclass
class Run:
    recipe: str
    seed: int
    dir: Path
    evaluations: list[dict[str, float]]
    """progress.csv's evaluation rows (steps, wall_s, eval_laps, eval_lap_time, ...)"""
    training: list[dict[str, float]]
    """its training rows (entropy, episodic return, ...)"""
    held_out: Any
    """the final checkpoint's Evaluation on the held-out tracks"""
    learner: str
    """the learner's title (A3C, PPO, DQN)"""

    @property
    def wall_s(self) -> float:
        return self.evaluations[-1]["wall_s"] if self.evaluations else math.nan


def slug(recipe: str) -> str:
    """A recipe's name as a folder name."""
    return "".join(c if c.isalnum() or c in ".-" else "-" for c in recipe).strip("-")


def algo_of(recipe: str) -> str:
    """The ``--algo`` a recipe trains with (A3C where it names none)."""
    return str(RECIPES[recipe].get("algo", "a3c"))


def learner_title(recipe: str) -> str:
    """The learner a recipe trains with, as the tables name it."""
    from agent.learners import LEARNERS

    return LEARNERS[algo_of(recipe)].title


def train_or_resume(recipe: str, seed: int, steps: int) -> Path:
    """The run's folder, trained to ``steps``: read back when it got there, resumed when it stopped short."""
    from agent.learners import LEARNERS
    from benchmarks.cloning_variants import demonstrations

    run_dir = RUNS / f"{slug(recipe)}__s{seed}"
    if (run_dir / "checkpoints" / "latest.pt").exists():
        return resume(run_dir, steps)
    if run_dir.exists():  # stopped before its first checkpoint: nothing to keep
        shutil.rmtree(run_dir)
    print(f"{run_dir.name}: training {steps:,} steps", flush=True)
    options = dict(RECIPES[recipe])
    options.pop("algo", None)
    learner = LEARNERS[algo_of(recipe)]
    if "expert_minutes" in options:
        options["demos"] = [str(demonstrations(options.pop("expert_minutes")))]
    args = dataclasses.replace(
        learner.starting_args(ENV_ID),
        **options,
        seed=seed,
        total_steps=steps,
        checkpoint_every=EVAL_EVERY,
        progress=False,
        run_name=run_dir.name,
        runs_dir=str(RUNS),
    )
    learner.train(args)
    return run_dir


def resume(run_dir: Path, steps: int) -> Path:
    """``run_dir`` trained on from its last checkpoint until ``steps`` (at once when it is there already)."""
    from agent.learners import learner
    from agent.learning.args import resumed_options
    from agent.policy.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(run_dir / "checkpoints" / "latest.pt")
    if checkpoint.counters["steps"] < steps:
        print(f"{run_dir.name}: resuming at {checkpoint.counters['steps']:,} steps", flush=True)
        trainer = learner(checkpoint.learner)
        # the folder's own name: a continued copy's config still names the run it was copied from
        args = resumed_options(trainer.args, checkpoint, total_steps=steps, run_name=run_dir.name)
        trainer.train(args, resume=checkpoint)
    return run_dir


def continued(run_dir: Path, steps: int) -> Path:
    """A finished run trained on to ``steps`` in a copy of its folder (the run's own row stays as it was)."""
    longer = run_dir.with_name(f"{run_dir.name}__to{steps // 1000}k")
    if not (longer / "checkpoints" / "latest.pt").exists():
        if longer.exists():
            shutil.rmtree(longer)
        shutil.copytree(run_dir, longer)
    return resume(longer, steps)


def read_progress(run_dir: Path) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    with (run_dir / "progress.csv").open() as f:
        rows = [{k: float(v) for k, v in r.items() if v not in (None, "")} for r in csv.DictReader(f)]
    evaluations = [r for r in rows if not math.isnan(r.get("eval_return", math.nan))]
    return evaluations, [r for r in rows if math.isnan(r.get("eval_return", math.nan))]


def held_out(checkpoint: Path, episodes: int) -> Any:
    """The checkpoint's deterministic policy on the held-out tracks; cached beside it (by its steps and the number
    of tracks), so that a benchmark finished over several sittings drives each checkpoint once."""
    from agent.policy.checkpoint import load_checkpoint
    from agent.policy.evaluation import Evaluation, evaluate
    from agent.policy.rollout import Episode

    steps = load_checkpoint(checkpoint).counters["steps"]
    cache = checkpoint.parent / f"held_out__{steps}__{episodes}.json"
    if cache.exists():
        data = json.loads(cache.read_text())
        runs = [Episode(e["ret"], e["steps"], e["info"], None if e["actions"] is None else np.asarray(e["actions"]))
                for e in data.pop("episodes")]  # fmt: skip
        return Evaluation(episodes=runs, **data)
    evaluation = evaluate(checkpoint, episodes, HELD_OUT_SEED, env_kwargs=TEST_KWARGS)
    cache.write_text(json.dumps(dataclasses.asdict(evaluation), default=plain))
    return evaluation


def plain(value: Any) -> Any:
    """numpy values as JSON takes them."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON data")


def first_at(run: Run, laps: float, lap_time: float) -> dict[str, float] | None:
    """The first training-time evaluation that finished ``laps`` of its laps or more at ``lap_time`` or better."""
    for point in run.evaluations:
        if point.get("eval_laps", math.nan) >= laps and point.get("eval_lap_time", math.nan) <= lap_time:
            return point
    return None


def first_goal(run: Run, expert: float) -> dict[str, float] | None:
    """The first training-time evaluation that met the goal."""
    return first_at(run, GOAL_LAPS, GOAL_RATIO * expert)


def fell_after(run: Run, point: dict[str, float] | None) -> float:
    """The lowest lap completion of the evaluations after ``point`` (nan without one)."""
    later = [p["eval_laps"] for p in run.evaluations if point is not None and p["steps"] > point["steps"]]
    return min(later) if later else math.nan


def reached(runs: list[Run], recipe: str, other: Any) -> str:
    """Minutes until each of ``recipe``'s runs first finished as many laps as ``other`` at a lap time as good."""
    goal_time = float(np.mean(other.lap_times or [math.nan]))
    points = [first_at(run, other.lap_completion, goal_time) for run in runs if run.recipe == recipe]
    return ", ".join(f"{point['wall_s'] / 60:.1f}" if point else "never" for point in points)


def markers(algo: str) -> tuple[str, str]:
    """The docs/benchmarks.md markers of the section for runs of the learner ``algo`` (a3c, ppo, dqn)."""
    if algo == "a3c":
        return START, END
    return f"<!-- neonrace_learning_{algo}:start -->", f"<!-- neonrace_learning_{algo}:end -->"


def preset_text(algo: str, title: str) -> str:
    """What the runs of the learner ``algo`` (titled ``title``) train with, as the section's first paragraph says."""
    if algo == "a3c":
        return ('"recipe" is NeonRace-v0\'s preset (`agent/a3c/presets.py`: CNN-MLP on 2 frames pooled 2x2, lr 3e-4, '
                "entropy 0.03, 2 workers × 8 envs, 10 steps, GAE 0.95, rewards × 0.1, normalised advantages, "
                "gradient clip 0.5; 3 laps or 1000 steps per training episode); the other rows change what their "
                "names say (the shipped pilot's: CNN + LSTM on single frames, lr 5e-4, entropy 0.01).")  # fmt: skip
    return (f"{title} trains from its NeonRace-v0 preset (`agent/{algo}/presets.py`: the same network as A3C's "
            "recipe, CNN-MLP on 2 frames pooled 2x2, and the same episodes, 3 laps or 1000 steps); the rows change "
            "what their names say.")  # fmt: skip


def recipe_rows(runs: list[Run], expert: float) -> list[str]:
    """The ablation: one row per recipe, seeds pooled."""
    lines = [
        "| recipe | seeds | steps to the goal (min) | runs with an evaluation below 95% laps after it | "
        "held-out laps | held-out lap time vs expert | actions ≥ 5% | steps/s |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for recipe in dict.fromkeys(r.recipe for r in runs):
        mine = [r for r in runs if r.recipe == recipe]
        reached = []
        dropped = 0
        for r in mine:
            point = first_goal(r, expert)
            reached.append(f"{point['steps'] / 1000:.0f}k ({point['wall_s'] / 60:.0f})" if point else "—")
            dropped += int(fell_after(r, point) < STABLE_LAPS)
        laps = [r.held_out.lap_completion for r in mine]
        ratios = [np.mean(r.held_out.lap_times) / expert for r in mine if r.held_out.lap_times]
        used = [actions_used(r.held_out) for r in mine]
        sps = [r.evaluations[-1]["steps"] / r.wall_s for r in mine if r.evaluations]
        lines.append(f"| {recipe} | {len(mine)} | {', '.join(reached)} | {dropped} | "
                     f"{', '.join(f'{x:.0%}' for x in laps)} | {', '.join(f'{x:.2f}' for x in ratios) or '—'} | "
                     f"{', '.join(map(str, used))} | {np.mean(sps):.0f} |")  # fmt: skip
    return lines


def collapse_measure(runs: list[Run]) -> tuple[str, str]:
    """The training column the curves' third row shows, and its label: the policy's entropy, or for a learner
    without a policy distribution (DQN) its most-chosen action's share of training steps, the same collapse to one
    action seen from the actions taken."""
    if any(not math.isnan(p.get("entropy", math.nan)) for run in runs for p in run.training):
        return "entropy", "policy entropy (nats)"
    return "top_action_share", "most-chosen action's share"


def plot(runs: list[Run], expert: float, name: str) -> Path:
    """Lap completion, lap-time ratio and the policy's collapse measure against steps and wall-clock, one line per
    run."""
    fig, axes = figure(3, 2, figsize=(11, 9), sharey="row")
    third, third_label = collapse_measure(runs)
    for run in runs:
        label = f"{run.recipe} s{run.seed}"
        for col, x in enumerate(("steps", "wall_s")):
            scale = 1 / 60 if x == "wall_s" else 1.0
            xs = [p[x] * scale for p in run.evaluations]
            axes[0, col].plot(xs, [p.get("eval_laps", math.nan) for p in run.evaluations], marker=".", label=label)
            axes[1, col].plot(xs, [p.get("eval_lap_time", math.nan) / expert for p in run.evaluations], marker=".")
            axes[2, col].plot([p[x] * scale for p in run.training], [p.get(third, math.nan) for p in run.training],
                              linewidth=0.8)  # fmt: skip
    for col, label in enumerate(("environment steps", "wall-clock (min)")):
        axes[2, col].set_xlabel(label)
    axes[0, 0].set_ylabel("lap completion (20 tracks)")
    axes[1, 0].set_ylabel("lap time / expert's")
    axes[1, 0].axhline(GOAL_RATIO, color="grey", linestyle="--", linewidth=0.8)
    axes[2, 0].set_ylabel(third_label)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"{runs[0].learner} on {ENV_ID}: {name}")
    fig.tight_layout()
    path = CURVES / f"neonrace_learning_{slug(name)}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    return path


def sb3_run(algorithm: str, seed: int, seconds: float, episodes: int) -> tuple[Any, int, float]:
    """Stable-Baselines3 ``algorithm`` (CnnPolicy, 4 stacked frames) trained for ``seconds`` of wall-clock (cached:
    a model trained before keeps its own budget), then driven on the held-out tracks; returns the evaluation, its
    environment steps and its training wall-clock."""
    import gymnasium as gym
    import torch
    from stable_baselines3 import A2C, PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecFrameStack

    import agent.envs  # noqa: F401 - registers the environments
    from agent.policy.evaluation import Evaluation, policy_episodes
    from benchmarks.neonrace_training import channels_first

    folder = RUNS / f"sb3-{algorithm.lower()}__s{seed}"
    kind = PPO if algorithm == "PPO" else A2C
    if not (folder / "model.zip").exists():
        torch.set_num_threads(2)

        class Budget(BaseCallback):
            def _on_step(self) -> bool:
                return time.perf_counter() - started < seconds

        env = VecFrameStack(make_vec_env(ENV_ID, n_envs=8, seed=seed, wrapper_class=channels_first,
                                         env_kwargs={"laps": 3, "max_episode_steps": 1000}), 4, "first")  # fmt: skip
        kwargs: dict[str, Any] = {"policy_kwargs": {"normalize_images": False}, "seed": seed, "verbose": 0}
        if algorithm == "PPO":
            kwargs |= {"n_steps": 128, "batch_size": 256, "n_epochs": 4, "learning_rate": 2.5e-4, "ent_coef": 0.01}
        model = kind("CnnPolicy", env, **kwargs)
        started = time.perf_counter()
        model.learn(total_timesteps=10**9, callback=Budget())
        wall = time.perf_counter() - started
        env.close()
        folder.mkdir(parents=True, exist_ok=True)
        model.save(folder / "model.zip")
        (folder / "run.json").write_text(json.dumps({"steps": model.num_timesteps, "wall_s": wall}))
    model = kind.load(folder / "model.zip", device="cpu")
    trained = json.loads((folder / "run.json").read_text())
    env = gym.wrappers.FrameStackObservation(channels_first(gym.make(ENV_ID, **TEST_KWARGS)), 4, padding_type="zero")
    try:
        act = lambda obs: int(model.predict(obs.reshape(4, *obs.shape[2:]), deterministic=True)[0])  # noqa: E731
        evaluation = Evaluation(ENV_ID, TEST_KWARGS, policy_episodes(act, env, episodes, HELD_OUT_SEED), 1)
        return evaluation, trained["steps"], trained["wall_s"]
    finally:
        env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a3c = [name for name in RECIPES if algo_of(name) == "a3c"]
    parser.add_argument("--recipes", nargs="+", default=a3c, choices=list(RECIPES), metavar="RECIPE",
                        help="recipes to run, all of one learner (default: A3C's); one of: "
                        f"{', '.join(map(repr, RECIPES))}")  # fmt: skip
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the first recipe (default 3)")
    parser.add_argument("--ablation-seeds", type=int, help="seeds of each other recipe (default: --seeds)")
    parser.add_argument("--steps", type=int, default=500_000, help="environment steps per run (default 500k)")
    parser.add_argument("--episodes", type=int, default=50, help="held-out tracks (default 50)")
    parser.add_argument("--continue-to", type=int, default=0, metavar="STEPS",
                        help="also train the first recipe's seed 1 on to STEPS (2M in make bench)")  # fmt: skip
    parser.add_argument("--sb3", action="store_true", help="also SB3 PPO and A2C for the first recipe's wall-clock")
    parser.add_argument("--no-write", action="store_true", help="print only")
    options = parser.parse_args()

    algos = {algo_of(recipe) for recipe in options.recipes}
    if len(algos) > 1:
        parser.error(f"--recipes: one learner per sitting (its own section of docs/benchmarks.md), not "
                     f"{', '.join(sorted(algos))}")  # fmt: skip
    (algo,) = algos
    title = learner_title(options.recipes[0])
    references = drivers(options.episodes)
    expert = float(np.mean(references[EXPERT_ROW].lap_times))
    runs = []
    for recipe in options.recipes:
        seeds = (
            options.seeds if recipe == options.recipes[0] or options.ablation_seeds is None else options.ablation_seeds
        )
        for seed in range(1, seeds + 1):
            run_dir = train_or_resume(recipe, seed, options.steps)
            evaluations, training = read_progress(run_dir)
            evaluation = held_out(run_dir / "checkpoints" / "latest.pt", options.episodes)
            runs.append(Run(recipe, seed, run_dir, evaluations, training, evaluation, learner_title(recipe)))
            print(f"{run_dir.name}: held-out laps {evaluation.lap_completion:.0%}, lap times "
                  f"{np.mean(evaluation.lap_times or [math.nan]):.2f} s", flush=True)  # fmt: skip
    long_lines: list[str] = []
    if options.continue_to:
        first = next(r for r in runs if r.recipe == options.recipes[0] and r.seed == 1)
        long_dir = continued(first.dir, options.continue_to)
        evaluations, training = read_progress(long_dir)
        evaluation = held_out(long_dir / "checkpoints" / "latest.pt", options.episodes)
        runs.append(Run(f"{first.recipe} to {options.continue_to:,}", 1, long_dir, evaluations, training, evaluation,
                        first.learner))  # fmt: skip
        strong = float(np.mean(references[STRONG_ROW].lap_times))
        mine = float(np.mean(evaluation.lap_times or [math.nan]))
        long_lines = [f"Seed 1 of {first.recipe} continued to {options.continue_to:,} steps "
                      f"({runs[-1].wall_s / 60:.0f} min in all): held-out lap time {mine:.2f} s, "
                      f"{mine / strong:.3f}x the strong driver's {strong:.2f} s (goal: ≤ 1.05x), laps "
                      f"{evaluation.lap_completion:.0%}."]  # fmt: skip
    results: dict[str, Any] = {k: references[k] for k in (STRONG_ROW, EXPERT_ROW, BOUND_ROW)}
    for run in runs:
        name = f"A3C {run.recipe}" if run.learner == "A3C" else run.recipe
        results[f"{name}, seed {run.seed}, final ({run.evaluations[-1]['steps']:,.0f} steps)"] = run.held_out
    sb3_lines = []
    if options.sb3:
        budget = float(np.median([r.wall_s for r in runs if r.recipe == options.recipes[0]]))
        sb3_lines = [f"SB3 PPO and A2C: 8 environments, 4 stacked frames, torch on 2 threads, trained for the median "
                     f"wall-clock of the {options.recipes[0]} runs ({budget / 60:.0f} min), seed 1."]  # fmt: skip
        for algorithm in ("PPO", "A2C"):
            evaluation, steps, wall = sb3_run(algorithm, 1, budget, options.episodes)
            results[f"SB3 {algorithm} (CnnPolicy, 4 frames), {steps:,} steps in {wall / 60:.0f} min"] = evaluation
            sb3_lines.append(f"- {title} ({options.recipes[0]}) first reached SB3 {algorithm}'s final result "
                             f"({evaluation.lap_completion:.0%} of laps at "
                             f"{np.mean(evaluation.lap_times or [math.nan]) / expert:.2f}x the expert's lap time; "
                             "its training-time evaluations, 20 tracks) after "
                             f"{reached(runs, options.recipes[0], evaluation)} min (per seed).")  # fmt: skip
    for name in ("constant up+x", "random actions"):
        results[name] = references[name]
    curves = [
        plot([r for r in runs if r.recipe == recipe], expert, recipe)
        for recipe in dict.fromkeys(r.recipe for r in runs)
    ]
    # DQfD starts from the expert's driving: a section that holds it is not "from scratch" alone.
    start = "from scratch" + (" and from demonstrations" if any(
        "expert_minutes" in RECIPES[recipe] for recipe in options.recipes) else "")  # fmt: skip
    lines = [
        f"## Learning to race NeonRace {start}{'' if title == 'A3C' else f': {title}'} "
        f"(issue {17 if title == 'A3C' else 20})",
        "",
        f"`.venv/bin/python benchmarks/neonrace_learning.py --recipes {shlex.join(options.recipes)} --seeds "
        f"{options.seeds}{f' --ablation-seeds {options.ablation_seeds}' if options.ablation_seeds else ''} --steps "
        f"{options.steps}"
        f"{f' --continue-to {options.continue_to}' if options.continue_to else ''}"
        f"{' --sb3' if options.sb3 else ''}` on {datetime.date.today()}: "
        f"{machine()}. {preset_text(algo, title)} Training-time evaluations every {EVAL_EVERY:,} steps on 20 "
        f"tracks; final checkpoints on {options.episodes} held-out tracks (one lap from a standing start, normal "
        f"difficulty). Goal: ≥ {GOAL_LAPS:.0%} of laps at ≤ {GOAL_RATIO}x the expert's lap time.",
        "",
        *recipe_rows(runs, expert),
        "",
        *table_rows(results),
        "",
        *sb3_lines,
        *long_lines,
        "",
        *(f"![{p.stem}](curves/{p.name})" for p in curves),
    ]
    publish(lines, *markers(algo), write=not options.no_write)


if __name__ == "__main__":
    main()
