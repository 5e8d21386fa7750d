"""A3C's workers as Ray actors against local worker processes, on this machine, and a model of scale beyond it.

Side by side in one run, alternating so that a slow spell of the machine hits both alike: the same A3C run with
its 2 workers as local processes and as actors of a one-node Ray cluster started here (2 CPUs), in-process
NeonRace-v0 (its preset: 8 environments per worker) and through NeonRace's window (the neonrace profile, a
virtual desktop and a game per worker). Steps per second are the run's steps over its wall-clock, set-up
included; the overhead is Ray's steps/s over local's.

The model for more nodes: every gradient is applied by the driver, one at a time, so its update rate is the
ceiling. It is measured with synthetic gradients of the NeonRace network: an Adam step per gradient, plus a
state dict and a gradient through Ray's object store each time (what the driver sends and receives per update).
Then the ceiling in environment steps per second is that rate times the steps per update (rollout length ×
environments per worker), and the workers it takes to reach it are the ceiling over one worker's measured steps
per second.

Run: .venv/bin/python benchmarks/ray_scaling.py [--repeats N] [--steps N] [--screen-steps N] [--no-write]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.screen_loop import machine, publish  # noqa: E402

START, END = "<!-- ray_scaling:start -->", "<!-- ray_scaling:end -->"
NEONRACE = "pixelpilot/NeonRace-v0"
PROFILE = ROOT / "games" / "profiles" / "neonrace.toml"


def run_args(kind: str, steps: int, runs: Path) -> Any:
    """The A3C run measured: in-process NeonRace (its preset) or its window on virtual desktops (the screen preset),
    2 workers, no evaluator."""
    from agent.a3c.args import for_screen
    from agent.learners import LEARNERS

    a3c = LEARNERS["a3c"]
    if kind == "in-process":
        args = a3c.starting_args(NEONRACE)
    else:
        args = for_screen(a3c.starting_args("pixelpilot/Screen-v0"), str(PROFILE), "virtual")
    return dataclasses.replace(args, workers=2, total_steps=steps, eval_every=0, progress=False,
                               checkpoint_every=10**9, runs_dir=str(runs))  # fmt: skip


def steps_per_second(args: Any) -> float:
    from agent.a3c.trainer import train

    result = train(args)
    return result.steps / result.wall_s


def update_rate(seconds: float) -> tuple[float, float]:
    """Updates per second the driver applies to the NeonRace network (synthetic gradients), alone and with a
    state dict and a gradient through Ray's object store for each (what the driver sends and receives per update)."""
    import ray
    import torch

    from agent.a3c import algorithm
    from agent.learners import LEARNERS
    from agent.learning.network import network_for

    args = LEARNERS["a3c"].starting_args(NEONRACE)
    model = network_for(args, args.envs_per_worker, "envs-per-worker")
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    grads = [torch.randn_like(p) * 1e-3 for p in model.parameters()]
    rates = []
    for send in (False, True):
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            algorithm.apply(model, optimizer, grads)
            if send:  # the weights out to a worker, its gradient in
                ray.get(ray.put(model.state_dict()))
                ray.get(ray.put(grads))
            done += 1
        rates.append(done / (time.perf_counter() - start))
    return rates[0], rates[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="runs of each kind and setting (default 2)")
    parser.add_argument("--steps", type=int, default=40_000, help="steps of each in-process run (default 40k)")
    parser.add_argument("--screen-steps", type=int, default=800, help="steps of each screen run (default 800)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    options = parser.parse_args()

    import ray
    from ray.cluster_utils import Cluster

    from agent.a3c.processes import warm_up

    warm_up()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "include_dashboard": False})
    measured: dict[tuple[str, str], list[float]] = {}
    try:
        with tempfile.TemporaryDirectory() as runs:
            for kind, steps in (("in-process", options.steps), ("screen", options.screen_steps)):
                for _ in range(options.repeats):
                    for where in ("local processes", "Ray actors"):
                        args = run_args(kind, steps, Path(runs))
                        if where == "Ray actors":
                            args = dataclasses.replace(args, ray=cluster.address)
                        sps = steps_per_second(args)
                        measured.setdefault((kind, where), []).append(sps)
                        print(f"{kind}, {where}: {sps:.1f} steps/s", flush=True)
        ray.init(address=cluster.address)
        alone, sending = update_rate(10.0)
        ray.shutdown()
    finally:
        cluster.shutdown()

    kinds = ("in-process", "screen")
    shapes = {kind: run_args(kind, 1, Path(".")) for kind in kinds}
    per_update = {kind: a.n_steps * a.envs_per_worker for kind, a in shapes.items()}
    median = {key: statistics.median(values) for key, values in measured.items()}
    lines = [
        "## A3C's workers as Ray actors (issue 21)",
        "",
        f"`.venv/bin/python benchmarks/ray_scaling.py --repeats {options.repeats} --steps {options.steps} "
        f"--screen-steps {options.screen_steps}` on {datetime.date.today()}: {machine()}, Ray {ray.__version__}. "
        "The same A3C run (2 workers, no evaluator) with local worker processes and with actors of a one-node Ray "
        "cluster on this machine, alternating; steps per second over each run's wall-clock, set-up included, "
        "median of the repeats.",
        "",
        "| run | local processes (steps/s) | Ray actors (steps/s) | Ray / local |",
        "|---|---:|---:|---:|",
    ]
    for kind, what in (("in-process", "in-process NeonRace-v0, 8 envs per worker"),
                       ("screen", "NeonRace's window, a virtual desktop per worker")):  # fmt: skip
        local, remote = median[(kind, "local processes")], median[(kind, "Ray actors")]
        runs_text = " / ".join(f"{v:.1f}" for v in measured[(kind, "Ray actors")])
        lines.append(f"| {what} | {local:.1f} | {remote:.1f} ({runs_text}) | {remote / local:.2f} |")
    per_worker = {kind: median[(kind, "Ray actors")] / 2 for kind in kinds}
    ceiling = {kind: sending * per_update[kind] for kind in kinds}
    lines += [
        "",
        f"Scaling beyond one machine: the driver applied {alone:.0f} updates/s of synthetic NeonRace gradients "
        f"(Adam), {sending:.0f}/s with the weights out and a gradient in through Ray's object store for each, as a "
        f"run with Ray does. One update is {per_update['in-process']} steps in-process "
        f"({shapes['in-process'].n_steps} steps × {shapes['in-process'].envs_per_worker} environments) and "
        f"{per_update['screen']} through a window, so "
        "the driver caps a run at:",
        "",
        "| run | steps/s per worker (measured) | driver's ceiling (steps/s) | workers at the ceiling |",
        "|---|---:|---:|---:|",
        *(
            f"| {kind} | {per_worker[kind]:.1f} | {ceiling[kind]:,.0f} | {ceiling[kind] / per_worker[kind]:,.0f} |"
            for kind in kinds
        ),
        "",
        "Below the ceiling a cluster's steps/s is about the sum of its workers' (each node: its workers × the rate "
        "per worker above, for the cores they get); past it, more workers only wait longer for their updates.",
    ]
    publish(lines, START, END, write=not options.no_write)


if __name__ == "__main__":
    main()
