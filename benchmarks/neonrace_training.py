"""Training throughput on pixelpilot/NeonRace-v0, in-process: pixelpilot's A3C (1 and 2 workers) next to
Stable-Baselines3 A2C and PPO with their CNN policies, same machine, same run.

Steps per second of whole training runs (rollouts, losses, updates; A3C's process start-up included): A3C with
the universe-starter CNN + LSTM 256 (3.7M parameters) and with the recipe's CNN-MLP on 2 stacked frames pooled
2x2 (0.26M), one torch thread per process; SB3 NatureCNN on the same 128x200x1 observations (2 environments, and
8 with 4 stacked frames as the learning benchmark runs it), torch threads = cores.

Run: make bench, or .venv/bin/python benchmarks/neonrace_training.py [--steps N]
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.screen_loop import machine, publish  # noqa: E402

START, END = "<!-- neonrace_training:start -->", "<!-- neonrace_training:end -->"
ENV_ID = "pixelpilot/NeonRace-v0"


def a3c_steps_per_second(workers: int, steps: int, runs_dir: str, **settings: Any) -> float:
    from agent.a3c.args import Args
    from agent.a3c.processes import warm_up
    from agent.a3c.trainer import train

    warm_up()
    settings = {"env_id": ENV_ID, **settings}
    args = Args(workers=workers, total_steps=steps, eval_every=0, progress=False, checkpoint_every=10**9,
                run_name=f"neonrace-{len(os.listdir(runs_dir))}", runs_dir=runs_dir, **settings)  # fmt: skip
    result = train(args)
    return result.steps / result.wall_s


def channels_first(env: gym.Env) -> gym.Env:
    """(128, 200, 1) → (1, 128, 200): SB3 transposes only uint8 images itself."""
    box = env.observation_space
    space = gym.spaces.Box(0.0, 1.0, (box.shape[2], *box.shape[:2]), np.float32)
    return gym.wrappers.TransformObservation(env, lambda obs: np.ascontiguousarray(obs.transpose(2, 0, 1)), space)


def sb3_steps_per_second(algorithm: str, steps: int, n_envs: int = 2, frame_stack: int = 1) -> float:
    import torch
    from stable_baselines3 import A2C, PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecFrameStack

    import agent.envs  # noqa: F401 - registers the environments

    torch.set_num_threads(os.cpu_count() or 1)
    env = make_vec_env(ENV_ID, n_envs=n_envs, seed=0, wrapper_class=channels_first)
    if frame_stack > 1:
        env = VecFrameStack(env, frame_stack, channels_order="first")
    # The observations are float images in [0, 1] already: no /255 (SB3 expects uint8 images otherwise).
    kwargs = {"policy_kwargs": {"normalize_images": False}, "seed": 0, "verbose": 0}
    if algorithm == "PPO":
        kwargs.update(n_steps=512, batch_size=64)  # a few full updates within the budget
    model = (PPO if algorithm == "PPO" else A2C)("CnnPolicy", env, **kwargs)
    started = time.perf_counter()
    model.learn(total_timesteps=steps)
    elapsed = time.perf_counter() - started
    env.close()
    return model.num_timesteps / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4096, help="environment steps per run (default 4096)")
    parser.add_argument("--recipe-steps", type=int, default=32_000,
                        help="steps of the recipe's run (default 32,000: its start-up is a few seconds)")  # fmt: skip
    parser.add_argument("--screen-steps", type=int, default=1200, help="steps of the screen run (default 1200)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    options = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as runs_dir:
        for workers in (1, 2):
            rows.append((f"pixelpilot A3C, {workers} worker{'s' if workers > 1 else ''}",
                         a3c_steps_per_second(workers, options.steps, runs_dir)))  # fmt: skip
        rows.append(("pixelpilot A3C, 2 workers × 8 envs, 10 steps (the pilot's setting)",
                     a3c_steps_per_second(2, options.steps, runs_dir, envs_per_worker=8, n_steps=10)))  # fmt: skip
        rows.append(("pixelpilot A3C, 2 workers × 8 envs, 10 steps, CNN-MLP on 2 frames pooled 2x2 (the recipe)",
                     a3c_steps_per_second(2, options.recipe_steps, runs_dir, envs_per_worker=8, n_steps=10,
                                          model="cnn-mlp", frame_stack=2, pool=2)))  # fmt: skip
        screen = {"env_id": "pixelpilot/Screen-v0", "env_kwargs": {"profile": "neonrace", "private_display": True}}
        rows.append(("pixelpilot A3C through the screen, 2 workers (a virtual desktop + game window each, 15 fps)",
                     a3c_steps_per_second(2, options.screen_steps, runs_dir, **screen)))  # fmt: skip
    for algorithm in ("A2C", "PPO"):
        sps = sb3_steps_per_second(algorithm, options.steps)
        rows.append((f"Stable-Baselines3 {algorithm} (CnnPolicy, 2 envs)", sps))
    for algorithm in ("A2C", "PPO"):
        sps = sb3_steps_per_second(algorithm, options.steps, n_envs=8, frame_stack=4)
        rows.append((f"Stable-Baselines3 {algorithm} (CnnPolicy, 8 envs, 4 frames: the learning benchmark's)", sps))
    recipe = rows[3][1]  # the recipe's row
    a2c = max(sps for name, sps in rows if name.startswith("Stable-Baselines3 A2C"))
    lines = [
        "## Training throughput on NeonRace-v0 (issue 5)",
        "",
        f"`make bench` ({options.steps:,} steps per run, the recipe's {options.recipe_steps:,}) on "
        f"{datetime.date.today()}: {machine()}. Whole training "
        "runs on the 128x200x1 observations: A3C with the universe-starter CNN + LSTM 256 and one torch thread per "
        "process (start-up included); SB3 with NatureCNN, torch threads = cores. Through the screen "
        f"({options.screen_steps:,} steps): each worker captures its own game window and presses its keys in "
        "real time, so 2 workers at 15 fps top out at 30 steps/s (desktops and games starting included).",
        "",
        "| trainer | steps/s |",
        "|---|---:|",
        *(f"| {name} | {sps:,.0f} |" for name, sps in rows),
        "",
        f"The recipe (benchmarks/neonrace_learning.py) runs {recipe:,.0f} steps/s: {recipe / a2c:.1f}x SB3 A2C's "
        "faster setting. Goal (issue 17): ≥ 800 steps/s and ≥ 5x SB3 A2C.",
        "",
    ]
    publish(lines, START, END, write=not options.no_write)


if __name__ == "__main__":
    main()
