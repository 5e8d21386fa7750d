"""Reference drivers for NeonRace that are worth beating: the scripted expert, the expert's style tuned by search
(the strong driver), and the lap-time lower bound, next to constant up+x and random keys, on held-out tracks.

The tuning searches the expert's :class:`~games.neonrace.expert.Style` on training tracks (game seeds 0..N-1, not
the held-out ones): random styles around the current best, scored by mean lap time plus a penalty for each crash
and for every lap not finished, then each parameter nudged in turn while that helps. The result is printed as a
``Style(...)``; ``games/neonrace/expert.py`` holds it as ``STRONG``. The table drives all references through
``pixelpilot/NeonRace-v0`` on the held-out tracks the learners are judged on (the same seeds as
``benchmarks/neonrace_learning.py``).

Run: .venv/bin/python benchmarks/neonrace_references.py [--tune] [--episodes N]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.screen_loop import machine, publish  # noqa: E402

START, END = "<!-- neonrace_references:start -->", "<!-- neonrace_references:end -->"
ENV_ID = "pixelpilot/NeonRace-v0"
HELD_OUT_SEED = 1_000_000
TEST_KWARGS = {"difficulty_name": "normal", "laps": 1, "max_episode_steps": 2000}
CRASH_COST, UNFINISHED_COST = 5.0, 60.0  # seconds a crash and a lap not finished count for in the tuning score
SEARCH = {  # parameter: (low, high) the random search draws from
    "grip": (0.5, 3.0),
    "lookahead": (15, 120),
    "braking": (0.2, 3.0),
    "brake_margin": (0.0, 0.3),
    "push": (0.0, 1.5),
    "deadband": (0.01, 0.5),
    "turbo_boost": (0.0, 0.5),
    "turbo_limit": (1.0, 5.0),
    "clear_segments": (0, 40),
}


def lap(style: Any, seed: int) -> tuple[float, int, bool]:
    """One lap of game seed ``seed`` by the driver of ``style``: (lap time, crashes, finished)."""
    from games.neonrace.expert import drive
    from games.neonrace.sim import Game

    state = drive(Game(seed, "normal", laps=1), max_ticks=30 * 133, style=style).state
    return (state.last_lap_time or 133.0), state.crashes, state.finished


def score(style: Any, seeds: range) -> float:
    laps = [lap(style, seed) for seed in seeds]
    return float(np.mean([t + CRASH_COST * c + UNFINISHED_COST * (not f) for t, c, f in laps]))


def draw(rng: np.random.Generator, around: Any, spread: float) -> Any:
    """A style near ``around``: each parameter moved by up to ``spread`` of its search range."""
    from games.neonrace.expert import Style

    values = {}
    for name, (low, high) in SEARCH.items():
        value = getattr(around, name) + rng.uniform(-spread, spread) * (high - low)
        value = float(np.clip(value, low, high))
        values[name] = round(value) if isinstance(low, int) else round(value, 3)
    return Style(**values)


def tune(tracks: int, candidates: int, seed: int) -> Any:
    """Random search from the better of the expert's style and the strong driver's, then one parameter at a time;
    prints progress."""
    from games.neonrace.expert import EXPERT, STRONG

    seeds = range(tracks)
    rng = np.random.default_rng(seed)
    best, best_score = min(((s, score(s, seeds)) for s in (EXPERT, STRONG)), key=lambda x: x[1])
    print(f"start: {best_score:.3f} {best}")
    started = time.perf_counter()
    for i in range(candidates):
        style = draw(rng, best, 0.5 if i < candidates // 2 else 0.15)
        s = score(style, seeds)
        if s < best_score:
            best, best_score = style, s
            print(f"{i:4d} {time.perf_counter() - started:6.0f} s {s:.3f} {style}")
    for name, (low, high) in SEARCH.items():
        for step in (0.1, -0.1, 0.03, -0.03):
            value = float(np.clip(getattr(best, name) + step * (high - low), low, high))
            style = dataclasses.replace(best, **{name: round(value) if isinstance(low, int) else round(value, 3)})
            s = score(style, seeds)
            if s < best_score:
                best, best_score = style, s
                print(f"  {name} {s:.3f} {style}")
    return best


def drivers(episodes: int, only: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Each reference's evaluation on the held-out tracks, and the lap-time bound of each track (``only``: these
    rows)."""
    import gymnasium as gym

    import agent.envs  # noqa: F401 - registers the environments
    from agent.policy.evaluation import Evaluation, policy_episodes
    from control.actions import ACTION_NAMES
    from games.neonrace.bounds import lap_time_bound
    from games.neonrace.expert import EXPERT, STRONG, expert_action

    env = gym.make(ENV_ID, **TEST_KWARGS)
    rng = np.random.default_rng(0)
    game = lambda: env.unwrapped.game  # noqa: E731 - the env makes a new game per track
    turbo = ACTION_NAMES.index("up+x")
    acts = {
        STRONG_ROW: lambda obs: expert_action(game(), STRONG),
        EXPERT_ROW: lambda obs: expert_action(game(), EXPERT),
        "constant up+x": lambda obs: turbo,
        "random actions": lambda obs: int(rng.integers(7)),
    }
    results: dict[str, Any] = {}
    lengths = []
    try:
        for name, act in acts.items():
            if only is not None and name not in only:
                continue
            episodes_ = policy_episodes(act, env, episodes, HELD_OUT_SEED)
            results[name] = Evaluation(ENV_ID, TEST_KWARGS, episodes_, 1)
        for i in range(episodes if only is None or BOUND_ROW in only else 0):
            env.reset(seed=HELD_OUT_SEED + i)
            lengths.append(game().track.length)
    finally:
        env.close()
    if lengths:
        results[BOUND_ROW] = [lap_time_bound(n) for n in lengths]
    return results


USED_SHARE = 0.05
"""an action counts as used from this share of the steps on"""


def crashes_per_lap(e: Any) -> float:
    """The mean crashes of an evaluation's episodes (one lap each on the test tracks)."""
    return float(np.mean([x.info.get("crashes", 0) for x in e.episodes]))


def actions_used(e: Any) -> int:
    """How many actions an evaluation took on :data:`USED_SHARE` of its steps or more."""
    return int((e.action_shares >= USED_SHARE).sum())


EXPERT_ROW = "expert (scripted, reads the game state)"
STRONG_ROW = "strong driver (tuned expert, reads the game state)"
BOUND_ROW = "lower bound (flat out on a straight, best turbo use)"


def table_rows(results: dict[str, Any]) -> list[str]:
    """A markdown table of drivers (an ``Evaluation`` each; the bound as a list of per-track lap times) with their
    lap times against the three references. ``results`` holds the references under their row names."""
    from control.actions import ACTION_NAMES

    expert = float(np.mean(results[EXPERT_ROW].lap_times))
    strong = float(np.mean(results[STRONG_ROW].lap_times))
    bound = float(np.mean(results[BOUND_ROW]))
    lines = [
        "| driver | laps finished | lap time | vs expert | vs strong | vs bound | crashes per lap | actions used "
        "(≥ 5% of steps) |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, e in results.items():
        if isinstance(e, list):  # the bound: one lap time per track, always finished
            lines.append(f"| {name} | — | {bound:.2f} s | {bound / expert:.2f} | {bound / strong:.2f} | 1.00 | — | — |")
            continue
        times = e.lap_times
        mean = float(np.mean(times)) if times else float("nan")
        crashes = crashes_per_lap(e)
        shares = e.action_shares
        used = ", ".join(f"{ACTION_NAMES[i]} {share:.0%}" for i, share in sorted(enumerate(shares), key=lambda x: -x[1])
                         if share >= USED_SHARE)  # fmt: skip
        ratios = " | ".join(f"{mean / ref:.2f}" if times else "—" for ref in (expert, strong, bound))
        lap = f"{mean:.2f} ± {np.std(times):.2f} s" if times else "—"
        lines.append(f"| {name} | {e.lap_completion:.0%} | {lap} | {ratios} | {crashes:.2f} | {used} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune", action="store_true", help="search the strong driver's style and print it")
    parser.add_argument("--tracks", type=int, default=30, help="training tracks of the search (default 30)")
    parser.add_argument("--candidates", type=int, default=200, help="random styles tried (default 200)")
    parser.add_argument("--episodes", type=int, default=50, help="held-out tracks of the table (default 50)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    options = parser.parse_args()
    if options.tune:
        print(tune(options.tracks, options.candidates, seed=0))
        return
    rows = table_rows(drivers(options.episodes))
    lines = [
        "## Reference drivers on NeonRace (issue 17)",
        "",
        f"`.venv/bin/python benchmarks/neonrace_references.py` on {datetime.date.today()}: {machine()}. "
        f"{options.episodes} held-out tracks (reset seeds {HELD_OUT_SEED:,} + i), normal difficulty, one lap from a "
        "standing start. The strong driver is the expert with its style searched on 30 training tracks "
        "(`--tune`: random search, then one parameter at a time; score = lap time + 5 s per crash + 60 s per lap "
        "not finished). The lower bound is per track: the fastest a car can cover the track's length on a straight, "
        "empty road, over every turbo schedule (an exact dynamic programme, `games/neonrace/bounds.py`); no driver "
        "can beat it.",
        "",
        *rows,
        "",
    ]
    publish(lines, START, END, write=not options.no_write)


if __name__ == "__main__":
    main()
