"""``pixelpilot train``, ``evaluate`` and ``export``: A3C runs, and what their checkpoints do."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from agent import config
from agent.a3c.args import Args
from agent.cli import argtypes
from agent.learners import DEFAULT, LEARNERS, learner
from agent.learning.args import RunArgs

if TYPE_CHECKING:
    from agent.policy.checkpoint import Checkpoint


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("train", help="train a policy with one of the learners (A3C, PPO, REINFORCE, one-step "
                       "actor-critic, DQN, DDPG) on classic envs, NeonRace-v0, or a game window")  # fmt: skip
    p.add_argument("--algo", choices=LEARNERS, help=f"the learner (default: {DEFAULT}; --resume: the run's own). "
                   "Each option below says which learners take it")  # fmt: skip
    p.add_argument("--config", help="start from a run's config.toml (options given here override it)")
    p.add_argument("--resume", help="continue a run: its folder or a checkpoint (options given here override; a run "
                   "through a game window needs --profile again)")  # fmt: skip
    config.add_arguments(p, [entry.args for entry in LEARNERS.values()], aliases={"env_id": "--env"})
    p.epilog = (
        "Defaults: those shown, changed by the environment's preset (agent/<learner>/presets.py): "
        "pixel games (NeonRace-v0, --profile) train a CNN on 2 stacked frames pooled 2x2 with the measured recipe; "
        "the classic Gymnasium environments have tuned settings. config.toml in the run folder lists every value."
    )
    p.add_argument("--profile", help="train through this game profile's window (pixelpilot/Screen-v0) instead of --env")
    p.add_argument("--display", default="virtual", help="with --profile: 'virtual' (default: every worker and the "
                   "evaluator start their own Xvfb desktop and copy of the game) or a real display such as :0 "
                   "(one worker)")  # fmt: skip
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="run a checkpoint's policy (most likely actions, or --sample): returns, "
                       "laps, lap time, latency")  # fmt: skip
    p.add_argument("--checkpoint", required=True, help="a checkpoint file or a run folder (its latest.pt)")
    p.add_argument("--episodes", type=argtypes.positive(int), default=10, help="episodes (default 10)")
    p.add_argument("--seed", type=int, default=10_000, help="seed of the first episode (default 10000)")
    p.add_argument("--env", help="evaluate on this environment id (default: the one it was trained on, when that is "
                   "pixelpilot's or Gymnasium's)")  # fmt: skip
    p.add_argument("--env-kwarg", action="append", metavar="KEY=VALUE", help="environment keyword argument")
    p.add_argument("--render", action="store_true", help="show the episodes in a window")
    p.add_argument("--sample", action="store_true", help="draw actions from the policy (seeded by --seed) instead "
                   "of taking the most likely one")  # fmt: skip
    p.add_argument("--profile", help="evaluate through this game profile's window (pixelpilot/Screen-v0)")
    p.add_argument("--display", default="virtual", help="with --profile: 'virtual' (default: a desktop and game of "
                   "its own) or a display such as :0")  # fmt: skip
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("export", help="write a checkpoint's policy alone (no optimizer state, float16) to ship it")
    p.add_argument("--checkpoint", required=True, help="a checkpoint file or a run folder (its latest.pt)")
    p.add_argument("--out", required=True, help="the policy file to write")
    p.add_argument("--full-precision", action="store_true", help="keep float32 weights")
    p.set_defaults(func=cmd_export)


def train_args_of(args: argparse.Namespace) -> tuple[RunArgs, Checkpoint | None]:
    """The run ``pixelpilot train``'s options describe: a resumed run's options, a config file's, or the chosen
    environment's preset, each with the options given on top; and the checkpoint to resume. The learner is
    ``--algo``, or a resumed run's own."""
    from agent.a3c.args import for_screen
    from agent.envs import SCREEN_ENV
    from agent.policy.checkpoint import load_checkpoint

    resumed = None
    if args.resume:
        resumed = load_checkpoint(args.resume)
        entry = learner(args.algo or resumed.learner)
        base = entry.resume_args(resumed)
        # What a file names is made only when it is pixelpilot's or Gymnasium's own, and a game window's profile
        # always comes from the user.
        if args.env_id is None and not args.profile:
            resumed.builtin_env()
        elif args.env_id == SCREEN_ENV and not args.profile:
            raise config.ConfigError("--env pixelpilot/Screen-v0: name the game's profile with --profile instead")
    else:
        entry = learner(args.algo or DEFAULT)
        if args.config:
            base = config.load_toml(entry.args, Path(args.config))
        else:
            base = entry.starting_args(SCREEN_ENV if args.profile else args.env_id or entry.args.env_id)
    own = {f.name for f in dataclasses.fields(entry.args)}
    for other in LEARNERS.values():
        for f in dataclasses.fields(other.args):
            if f.name not in own and getattr(args, f.name, None) is not None:
                raise config.ConfigError(f"--{f.name.replace('_', '-')}: not an option of {entry.name} (its options: "
                                         f"pixelpilot train --algo {entry.name} --help)")  # fmt: skip
    train_args = config.from_arguments(entry.args, args, base)
    if args.profile:
        if args.env_id is not None:
            raise config.ConfigError("--profile trains on the game's window (pixelpilot/Screen-v0); leave out --env")
        if not isinstance(train_args, Args):
            raise config.ConfigError(f"--profile: {entry.title} trains on in-process environments only; train through "
                                     "a game's window with --algo a3c")  # fmt: skip
        train_args = for_screen(train_args, args.profile, args.display)
    return train_args, resumed


def cmd_train(args: argparse.Namespace) -> int:
    train_args, resumed = train_args_of(args)
    result = learner(train_args.label).train(train_args, resume=resumed)
    last = result.curve[-1] if result.curve else None
    print(f"run: {result.run_dir} ({result.steps:,} steps in {result.wall_s:.0f} s)")
    if last is not None:
        print(f"last evaluation: {last.mean:.1f} ± {last.std:.1f} at {last.steps:,} steps")
    if result.solved is not None:
        solved = result.solved
        print(f"reached the target {train_args.target_return:g} at {solved.steps:,} steps, {solved.wall_s:.1f} s")
    print(f"checkpoints: {result.run_dir / 'checkpoints'}; curve: {result.run_dir / 'reward_curve.png'}")
    return 130 if result.interrupted else 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from agent.policy.evaluation import evaluate, report

    env_kwargs = None
    if args.env_kwarg:
        env_kwargs = config.from_arguments(Args, argparse.Namespace(env_kwargs=args.env_kwarg)).env_kwargs
    render = "human" if args.render else None
    print(report(evaluate(args.checkpoint, args.episodes, args.seed, args.env, env_kwargs, render, args.profile,
                          args.display, args.sample)))  # fmt: skip
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from agent.policy.checkpoint import export_policy

    out = export_policy(args.checkpoint, args.out, half=not args.full_precision)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0
