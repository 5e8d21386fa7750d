"""``pixelpilot maze`` and ``pixelpilot markov``: the seed documents' tabular examples, each one command that prints
its table (Q-learning, Sarsa and Sarsa(λ) on the grid maze; Markov reward and decision processes solved by the
Bellman equation and by Monte-Carlo)."""

from __future__ import annotations

import argparse
from pathlib import Path

from agent.cli import argtypes


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("maze", help="Q-learning, Sarsa and Sarsa(λ) side by side on the documents' 4x4 grid maze")
    p.add_argument("--episodes", type=argtypes.positive(int), default=300, help="episodes per run (default 300)")
    p.add_argument("--seeds", type=argtypes.positive(int), default=5, help="runs per learner (default 5)")
    p.add_argument("--lr", type=float, default=0.01, help="step toward each target (default 0.01)")
    p.add_argument("--gamma", type=float, default=0.9, help="discount factor (default 0.9)")
    p.add_argument("--greedy", type=float, default=0.9, help="chance of the greedy action (default 0.9)")
    p.add_argument("--trace-decay", type=float, default=0.9, help="Sarsa(λ)'s λ (default 0.9)")
    p.add_argument("--plot", type=Path, help="also draw the learning curves into this PNG")
    p.set_defaults(func=cmd_maze)

    p = sub.add_parser("markov", help="the documents' Markov reward and decision processes: values from the Bellman "
                       "equation next to Monte-Carlo estimates")  # fmt: skip
    p.add_argument("--episodes", type=argtypes.positive(int), default=1000,
                   help="sampled sequences per Monte-Carlo estimate (default 1000)")  # fmt: skip
    p.add_argument("--max-steps", type=argtypes.positive(int), default=20, help="steps per sequence (default 20)")
    p.add_argument("--seed", type=int, default=0, help="seed of the samples (default 0)")
    p.set_defaults(func=cmd_markov)


def cmd_maze(args: argparse.Namespace) -> int:
    from agent.config import ConfigError
    from agent.tabular.learners import TableOptions
    from agent.tabular.maze import compare, plot, table

    try:
        options = TableOptions(args.lr, args.gamma, args.greedy, args.trace_decay)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    curves = compare(args.episodes, args.seeds, options)
    print(table(curves, options))
    if args.plot:
        plot(curves, args.plot)
        print(f"\nlearning curves: {args.plot}")
    return 0


def cmd_markov(args: argparse.Namespace) -> int:
    from agent.tabular.markov import report

    print(report(args.episodes, args.max_steps, args.seed))
    return 0
