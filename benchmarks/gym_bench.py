"""pixelpilot's learners next to Stable-Baselines3's on the classic Gymnasium benchmarks (``pixelpilot bench gym``):
A3C next to SB3's A2C, PPO, DQN and DDPG next to SB3's own, REINFORCE and the one-step actor-critic alone (SB3 has
neither) (``--algos``), each on its own environments (``gym_settings.PAIRS``) and in a section of
docs/benchmarks.md.

The two of a pair run one after the other on the same machine, envs and seeds, and are measured the same way:

- every ``eval_every`` environment steps, 10 episodes of the deterministic policy on a separate environment
  (reset seeds ``seed + 10_000 + i``, as A3C's evaluator does); a run stops at the first evaluation whose mean
  reaches the threshold, or at its step budget;
- the policy that reached the threshold (else the last one) is then evaluated on 100 episodes (reset seeds
  10_000 + i).

PPO, DQN and DDPG are ``agent.ppo``, ``agent.dqn`` and ``agent.ddpg`` (their ``presets.py``: rl-zoo3's settings) in
one process that evaluates in between updates, as SB3's does; their clock runs on while they evaluate, SB3's stops.
SB3's have rl-zoo3 2.9.2's ``hyperparams/<algo>.yml``.

A3C is ``agent.a3c`` (``agent/a3c/presets.py``'s settings) with 2 workers and one torch thread per process. Its
clock starts when ``train()`` is called and includes making the model, environments and processes (forked from the
fork server, which
``warm_up()`` starts before any clock, as A2C's process has imported torch before its clock). Its evaluator is a
process of its own that runs while the workers train, so the clock never stops: a curve point's wall-clock is
that of the evaluated snapshot, and the CPU the evaluations take from the workers is in it. A2C is SB3's with
rl-zoo3's published hyperparameters (``hyperparams/a2c.yml`` of rl-zoo3 2.9.2) in one process with
DummyVecEnv, as the zoo runs it, and one torch thread (two are no faster for these 64-unit MLPs: 10.3k vs 10.6k
steps/s on CartPole). Its evaluations block training, so its clock stops while it evaluates: its wall-clock is
training time only. Both choices favour A2C, so a ratio below 1 is not an artefact of the measurement.
Stable-Baselines3 is a benchmark dependency only: ``pip install -e '.[bench]'``.

Results go to the console, docs/benchmarks.md (the section between this benchmark's markers) and
docs/curves/gym_*.png. About two hours on two cores with the default budgets.
Run: make bench, or .venv/bin/python benchmarks/gym_bench.py [--algos a3c ppo dqn ...] [--envs ENV ...]
[--seeds N ...] [--budget X]
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.cli import argtypes  # noqa: E402
from agent.learners import LEARNERS  # noqa: E402
from agent.policy.evaluation import EvalPoint  # noqa: E402
from agent.runs import timestamp  # noqa: E402
from benchmarks import screen_loop  # noqa: E402
from benchmarks.gym_report import Run, report, seconds  # noqa: E402
from benchmarks.gym_settings import (  # noqa: E402
    BENCHMARKS,
    EVAL_EPISODES,
    FINAL_EPISODES,
    FINAL_SEED,
    PAIRS,
    BenchConfig,
    Pair,
)
from capture.errors import PixelpilotError  # noqa: E402


def run_ours(config: BenchConfig, pair: Pair, env_id: str, seed: int) -> Run:
    from agent.a3c.processes import warm_up
    from agent.policy.evaluation import evaluate

    learner = LEARNERS[pair.learner]
    bench = BENCHMARKS[env_id]
    args = dataclasses.replace(
        learner.starting_args(env_id),
        total_steps=config.steps(env_id, pair),
        seed=seed,
        eval_every=config.eval_every(env_id, pair),
        eval_episodes=EVAL_EPISODES,
        target_return=bench.threshold,
        run_name=f"gym-{env_id}-{pair.learner}-s{seed}",
        runs_dir=str(config.runs_dir),
        progress=False,
    )
    if pair.learner == "a3c":
        warm_up()
        args = dataclasses.replace(args, workers=config.workers)
    result = learner.train(args)
    if result.interrupted:  # train() turns Ctrl-C into a checkpoint and a normal return; the benchmark stops
        raise KeyboardInterrupt
    # The policy that reached the threshold (best.pt: the weights that evaluation measured), as SB3's is: A3C's
    # workers went on training while it was evaluated, and latest.pt can be far from it. Else the last one.
    final_policy = "best.pt" if result.solved else "latest.pt"
    # On the environment the evaluations ran on: a learner can train on another (REINFORCE's MountainCar has no
    # 200-step limit), never be judged on it.
    final = evaluate(result.run_dir / "checkpoints" / final_policy, episodes=FINAL_EPISODES, seed=FINAL_SEED,
                     env_kwargs=args.eval_env_kwargs)  # fmt: skip
    return Run(pair.name, env_id, seed, result.steps, result.wall_s, result.curve, result.solved, final.returns)


def episode_returns(act: Callable[[np.ndarray], Any], env_id: str, episodes: int, seed: int) -> list[float]:
    """Returns of the deterministic policy ``act``, episode i reset with ``seed + i`` (as agent.a3c does)."""
    import gymnasium as gym

    from agent.policy.evaluation import policy_episodes

    env = gym.make(env_id)
    try:
        return [episode.ret for episode in policy_episodes(act, env, episodes, seed)]
    finally:
        env.close()


def run_sb3(config: BenchConfig, pair: Pair, env_id: str, seed: int) -> Run:
    import torch

    try:
        import stable_baselines3
        from stable_baselines3.common.env_util import make_vec_env
        from stable_baselines3.common.noise import NormalActionNoise
        from stable_baselines3.common.vec_env import VecNormalize
    except ImportError:
        raise PixelpilotError("the gym benchmark needs Stable-Baselines3: pip install -e '.[bench]'") from None
    bench = BENCHMARKS[env_id]
    hyper = copy.deepcopy(pair.theirs(bench))  # SB3 adds its optimizer to policy_kwargs in place
    n_envs, normalize = hyper.pop("n_envs"), hyper.pop("normalize", False)
    every, steps = config.eval_every(env_id, pair), config.steps(env_id, pair)
    torch.set_num_threads(1)
    started, paused = time.monotonic(), 0.0  # the clock stops while it evaluates (its evaluations block training)
    env = make_vec_env(env_id, n_envs=n_envs, seed=seed)
    if normalize:  # the zoo gives VecNormalize the algorithm's gamma; evaluation uses frozen statistics
        env = VecNormalize(env, gamma=hyper.get("gamma", 0.99))
    if "noise_std" in hyper:  # the zoo's noise_type normal: Gaussian action noise, noise_std wide in every dimension
        dims = env.action_space.shape[0]  # type: ignore[index]
        hyper["action_noise"] = NormalActionNoise(np.zeros(dims), hyper.pop("noise_std") * np.ones(dims))
    model = getattr(stable_baselines3, pair.sb3)("MlpPolicy", env, seed=seed, **hyper)
    curve: list[EvalPoint] = []
    next_eval = every

    def clock() -> float:
        return time.monotonic() - started - paused

    def act(obs: np.ndarray) -> Any:
        if normalize:
            obs = env.normalize_obs(obs)
        return model.predict(obs, deterministic=True)[0]

    def on_step(_locals: dict[str, Any], _globals: dict[str, Any]) -> bool:
        """After every vectorised step: evaluate when due; False (stop) once the threshold is reached."""
        nonlocal next_eval, paused
        at = model.num_timesteps
        if at < next_eval:
            return True
        wall_s, evaluating = clock(), time.monotonic()
        returns = episode_returns(act, env_id, EVAL_EPISODES, seed + 10_000)
        paused += time.monotonic() - evaluating
        curve.append(EvalPoint(at, wall_s, float(np.mean(returns)), float(np.std(returns))))
        next_eval = (at // every + 1) * every
        return curve[-1].mean < bench.threshold

    model.learn(total_timesteps=steps, callback=on_step)
    wall_s = clock()
    solved = curve[-1] if curve and curve[-1].mean >= bench.threshold else None
    returns = episode_returns(act, env_id, FINAL_EPISODES, FINAL_SEED)
    env.close()
    return Run(pair.sb3_name, env_id, seed, model.num_timesteps, wall_s, curve, solved, returns)


def run_benchmark(config: BenchConfig, pair: Pair, log: Callable[[str], None] = print) -> list[Run]:
    """Every env and seed: ours, then SB3's. ``log`` gets one line per finished run."""
    runs = []
    for env_id in config.envs_of(pair):
        for seed in config.seeds:
            for run_one in (run_ours, run_sb3) if pair.sb3 else (run_ours,):
                run = run_one(config, pair, env_id, seed)
                solved = run.solved
                reached = f"reached at {solved.steps:,} steps, {seconds(solved.wall_s)}" if solved else "not reached"
                log(
                    f"{env_id} seed {seed} {run.algorithm}: {reached}; ran {run.steps:,} steps in "
                    f"{seconds(run.wall_s)}; final {np.mean(run.returns):.1f} ± {np.std(run.returns):.1f}"
                )
                runs.append(run)
    return runs


# -- the command ---------------------------------------------------------------------------------------------
def add_options(parser: argparse.ArgumentParser) -> None:
    defaults = BenchConfig()
    parser.add_argument("--algos", nargs="+", choices=list(PAIRS), default=list(defaults.algos), metavar="ALGO",
                        help=f"pixelpilot's learners to measure next to SB3's (default: {' '.join(PAIRS)}; "
                        "each on its own environments)")  # fmt: skip
    parser.add_argument("--envs", nargs="+", choices=list(BENCHMARKS), default=list(defaults.envs), metavar="ENV",
                        help=f"environments (default: all of {', '.join(BENCHMARKS)})")  # fmt: skip
    parser.add_argument("--seeds", nargs="+", type=int, default=list(defaults.seeds), metavar="SEED",
                        help="seeds (default 1 2 3)")  # fmt: skip
    parser.add_argument("--budget", type=argtypes.positive(float), default=1.0,
                        help="scale every env's step budget, e.g. 0.05 for a quick look (default 1)")  # fmt: skip
    parser.add_argument(
        "--curves", type=Path, help="folder for the learning-curve PNGs (default: the checkout's docs/curves)"
    )
    parser.add_argument(
        "--runs",
        type=Path,
        default=defaults.runs_dir,
        help="pixelpilot's run folders go in a folder per invocation under this one (default runs/bench)",
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.set_defaults(func=cmd_gym)


def cmd_gym(args: argparse.Namespace) -> int:
    # A folder per invocation: run folders are never written twice.
    config = BenchConfig(tuple(args.algos), tuple(args.envs), tuple(args.seeds), args.budget,
                         runs_dir=args.runs / timestamp())  # fmt: skip
    defaults = BenchConfig()
    options = [
        f"--{name} {' '.join(map(str, value)) if isinstance(value, tuple) else value}"
        for name, value in (("envs", config.envs), ("seeds", config.seeds), ("budget", config.budget))
        if value != getattr(defaults, name)
    ]
    doc_dir = screen_loop.DOC.parent
    for algo in config.algos:
        pair = PAIRS[algo]
        if not config.envs_of(pair):
            print(f"{pair.name}: none of the chosen environments is one of its own ({', '.join(pair.envs)})")
            continue
        started = time.monotonic()
        runs = run_benchmark(config, pair, log=lambda line: print(line, flush=True))
        command = " ".join(["pixelpilot bench gym", *([] if config.algos == defaults.algos else [f"--algos {algo}"]),
                            *options])  # fmt: skip
        text = report(config, pair, runs, args.curves or doc_dir / "curves", doc_dir, command,
                      time.monotonic() - started)  # fmt: skip
        print(text)
        if not args.no_write:
            screen_loop.write_section(text, pair.start, pair.end)
            print(f"\nwritten to {screen_loop.DOC}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_options(parser)
    args = parser.parse_args()
    return int(args.func(args))


if __name__ == "__main__":  # A3C's worker processes start from a fork server: they never run this file
    sys.exit(main())
