"""DAgger through a foreign window: gymnasium's CarRacing, the pursuit driver as the labeller.

The CarRacing clone of ``benchmarks/carracing_clone.py`` chooses the demonstrator's action on 80% of the held-out
frames and still leaves the road within seconds: it never saw the states its own small errors lead to, the
covariate shift DAgger (Ross, Gordon and Bagnell, 2011) was made for. ``pixelpilot dagger`` runs it on the bundled
game in-process; here it runs through the real window, as a person with a correcting hand would: the clone drives
(``pixelpilot/Screen-v0``, XTest keys at the profile's 15 fps), the demonstrator, :class:`Pursuit`, says at every
step what it would have pressed (from the game shim's telemetry, which the clone never sees), and on a share
``beta ** r`` of the steps its action is the one taken. Each round's steps go into an ordinary pixelpilot dataset,
and the clone is retrained from its last weights on the recording plus every round's labels.

Round 0 is the recording's clone (``carracing_clone.py``'s, reused when it is there). Only the last round's clone
is measured, on the same held-out tracks and under the same rules as the clones of that benchmark, since each
measurement drives the window for up to 10 minutes. Every stage is kept under ``--out`` and reused by a second
run. Run: .venv/bin/python benchmarks/carracing_dagger.py [--rounds 3] [--minutes 4] [--base cnn-mlp]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.carracing_clone import (  # noqa: E402
    EPOCHS,
    EVAL_SEED,
    MODELS,
    OUT,
    TARGET,
    Measurement,
    Pursuit,
    Telemetry,
    cached,
    clone,
    game_window,
    measure_clone,
    session_profile,
)
from benchmarks.screen_loop import machine, publish  # noqa: E402
from control.actions import ACTION_NAMES, ACTIONS, key_bits  # noqa: E402

START, END = "<!-- carracing_dagger:start -->", "<!-- carracing_dagger:end -->"
DAGGER_SEED = 5_000_000
"""track seeds of the rounds' driving: apart from the recording's (3,000,000 on) and the measurement's (4,000,000)"""
FPS = 15.0


@dataclasses.dataclass
class Round:
    """One round: what the clone drove and was told, and how its retraining went."""

    round: int
    beta: float
    """share of the steps on which the demonstrator's own action was taken"""
    steps: int
    episodes: int
    agreement: float
    """share of the steps where the clone, before retraining, chose what the demonstrator said"""
    val_accuracy: float
    checkpoint: str
    fit: dict[str, Any]
    """the retraining's pretrain result"""


def collect(out: Path, r: int, checkpoint: Path, profile: Path, meta: dict[str, Any], minutes: float,
            beta: float) -> tuple[Path, dict[str, Any]]:  # fmt: skip
    """Round ``r``'s driving: the clone at ``checkpoint`` drives a fresh window for ``minutes``, every step labelled
    by the demonstrator, into a dataset (kept with its numbers in ``dagger-NN.json`` for a second run)."""
    import torch

    from agent.demos.dataset import stored_frame
    from agent.demos.writer import DemoWriter
    from agent.envs.screen import ScreenEnv
    from agent.envs.wrappers import StackFrames
    from agent.policy.checkpoint import load_checkpoint

    data, saved = out / f"dagger-{r:02d}-data", out / f"dagger-{r:02d}.json"
    if saved.exists() and data.exists():
        return data, json.loads(saved.read_text())
    shutil.rmtree(data, ignore_errors=True)  # what an interrupted run left
    model = load_checkpoint(checkpoint).model()
    driver, telemetry, rng = Pursuit(), Telemetry(), np.random.default_rng(DAGGER_SEED + r)
    source = {"source": f"DAgger round {r} through the window, labelled by the pursuit driver", "beta": beta}
    writer = DemoWriter(data, len(ACTION_NAMES), meta | source, segment_steps=100_000)
    steps = episodes = agreed = 0
    clock = 0.0
    log = out / f"dagger-{r:02d}-game.log"
    try:
        with game_window(log, telemetry.port, DAGGER_SEED + 1000 * r):
            env = StackFrames(ScreenEnv(profile, launch=False, kill_switch=False), model.spec.frame_stack)
            try:
                deadline = time.monotonic() + minutes * 60
                while time.monotonic() < deadline:
                    obs, _ = env.reset()  # presses Enter: a new track
                    telemetry.forget()
                    writer.begin(stored_frame(obs))
                    state, done = model.initial_state(1), False
                    while not done:
                        label = driver.act(telemetry.latest())
                        with torch.no_grad():
                            decision = model.act(torch.as_tensor(obs[None]), state, greedy=True)
                        state, chosen = decision.state, int(decision.action[0])
                        agreed += chosen == label
                        obs, reward, terminated, truncated, _ = env.step(label if rng.random() < beta else chosen)
                        steps, clock = steps + 1, clock + 1 / FPS
                        cut = time.monotonic() >= deadline  # the round ends: this race is cut short
                        done = terminated or truncated or cut
                        writer.step(label, float(reward), stored_frame(obs), clock, key_bits(ACTIONS[label]),
                                    terminated=terminated, truncated=done and not terminated)  # fmt: skip
                    episodes += 1
                    clock += 1.0  # a gap: the next race is another stretch
            finally:
                env.close()
    finally:
        telemetry.close()
        writer.close()
    numbers = {"steps": steps, "episodes": episodes, "agreement": agreed / max(steps, 1)}
    saved.write_text(json.dumps(numbers, indent=1))
    return data, numbers


def report(options: argparse.Namespace, rounds: list[Round], demo: Measurement, base: Measurement,
           final: Measurement, minutes: float) -> list[str]:  # fmt: skip
    shown = ("rounds", "minutes", "base", "epochs")
    command = "`.venv/bin/python benchmarks/carracing_dagger.py" + "".join(
        f" --{name} {getattr(options, name):g}" if isinstance(getattr(options, name), float | int)
        else f" --{name} {getattr(options, name)}" for name in shown
    )  # fmt: skip
    labelled = sum(r.steps for r in rounds[1:]) / FPS / 60

    def spread(values: Sequence[float]) -> str:
        return f"{np.mean(values):.0f} ± {np.std(values):.0f}"

    return [
        "## DAgger through CarRacing's window (issue 18)",
        "",
        f"{command}` on {datetime.date.today()}: {machine()}.",
        "",
        f"Round 0 is the {options.base} clone of the {minutes:g}-minute recording above. In each round r the clone "
        f"drives fresh tracks in the window for {options.minutes:g} minutes while the pursuit driver, reading the "
        "game's telemetry the clone never sees, says at every step which key it would press; on a share 0.5^r of "
        "the steps its key is the one pressed. The clone is then retrained from its last weights on the recording "
        f'plus every round\'s labels ({options.epochs} epochs, the best by validation loss). "agreed": the share of '
        "the round's steps where the clone, before retraining, chose what the driver said.",
        "",
        "| round | beta | steps driven | races | agreed | val. accuracy |",
        "|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {r.round} | {'—' if r.round == 0 else f'{r.beta:.2f}'} | {r.steps:,} | {r.episodes} | "
            f"{'—' if r.round == 0 else f'{r.agreement:.0%}'} | {r.val_accuracy:.1%} |"
            for r in rounds
        ),
        "",
        f"On the {len(demo.scores)} held-out tracks of the clones above, through the window "
        "(`pixelpilot evaluate --profile`):",
        "",
        "| driver | score | vs demonstrator | steps | laps | actions |",
        "|---|---:|---:|---:|---:|---|",
        *(
            f"| {m.name} | {spread(m.scores)} | {m.mean / demo.mean:.0%} | {np.mean(m.steps):.0f} | {sum(m.laps)} | "
            f"{m.top_actions()} |"
            for m in (demo, base, final)
        ),
        "",
        f"The last round's clone scores {final.mean:.0f} against the demonstrator's {demo.mean:.0f} "
        f"({final.mean / demo.mean:.0%}; the issue's target for a clone of the recording alone: {TARGET:.0%}), "
        f"after {labelled:.1f} minutes of labelled driving beyond the {minutes:g}-minute recording.",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where the clone benchmark keeps its stages ({OUT})")
    parser.add_argument("--recording", type=float, default=10.0, help="minutes of the recording (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="DAgger rounds after the clone (default 3)")
    parser.add_argument("--minutes", type=float, default=4.0, help="minutes the clone drives per round (default 4)")
    parser.add_argument("--base", default="cnn-mlp", choices=sorted(MODELS), help="the clone to start from")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"retraining epochs per round (default {EPOCHS})")
    parser.add_argument("--episodes", type=int, default=10, help="held-out episodes (default 10)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    options = parser.parse_args(argv)
    from agent.demos.dataset import load_demos
    from capture.display import VirtualDesktop

    out: Path = options.out
    recording = out / f"demos-{options.recording:g}min"
    demo_json = out / f"demonstrator-{options.episodes}ep.json"
    if not recording.exists() or not demo_json.exists():
        parser.error(f"run benchmarks/carracing_clone.py first: it records {recording} and measures the demonstrator")
    profile = session_profile(out / "carracing.toml")
    meta = load_demos(recording).meta
    base_name = f"clone-{options.base}-{options.recording:g}min-{EPOCHS}epochs"
    checkpoint, fit = clone(out, base_name, [recording], MODELS[options.base], EPOCHS)
    rounds = [Round(0, 1.0, 0, 0, float("nan"), fit["val_accuracy"], str(checkpoint), fit)]
    datasets = [recording]
    t0 = time.monotonic()
    with VirtualDesktop() as desktop:
        os.environ["DISPLAY"] = desktop.display or ""
        for r in range(1, options.rounds + 1):
            beta = 0.5**r
            data, numbers = collect(out, r, checkpoint, profile, meta, options.minutes, beta)
            datasets.append(data)
            name = f"dagger-{options.base}-{r:02d}-clone"
            from_last = MODELS[options.base] | {"init_from": str(checkpoint), "seed": r}
            checkpoint, fit = clone(out, name, datasets, from_last, options.epochs)
            rounds.append(Round(r, beta, numbers["steps"], numbers["episodes"], numbers["agreement"],
                                fit["val_accuracy"], str(checkpoint), fit))  # fmt: skip
            print(f"round {r}: {numbers}, val. accuracy {fit['val_accuracy']:.1%}", flush=True)
        demo = Measurement(**json.loads(demo_json.read_text()))
        suffix = f"{options.recording:g}min-{options.episodes}ep"
        measure = partial(measure_clone, out, base_name, Path(rounds[0].checkpoint), rounds[0].fit, options.episodes,
                          profile)  # fmt: skip
        base = cached(out / f"{base_name}-{suffix}.json", measure)
        final_name = f"dagger-{options.base}-{options.rounds}x{options.minutes:g}min"
        measure = partial(measure_clone, out, final_name, checkpoint, fit, options.episodes, profile)
        final = cached(out / f"{final_name}-{suffix}.json", measure)
    print(f"wall-clock {(time.monotonic() - t0) / 60:.1f} min (track seeds from {EVAL_SEED:,})", flush=True)
    publish(report(options, rounds, demo, base, final, options.recording), START, END, write=not options.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
