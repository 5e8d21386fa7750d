"""pixelpilot's A3C next to Stable-Baselines3 A2C on CartPole, Acrobot, Pendulum and LunarLander (agent.gym_bench).

The same as ``pixelpilot bench gym``; results go to the console, docs/benchmarks.md (the section between this
benchmark's markers) and docs/curves/gym_*.png. About an hour on two cores with the default budgets.
Run: make bench, or .venv/bin/python benchmarks/gym_bench.py [--envs ENV ...] [--seeds N ...] [--budget X]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent import gym_bench


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    gym_bench.add_options(parser)
    args = parser.parse_args()
    return args.func(args)


if __name__ == "__main__":  # A3C's worker processes are spawned: they import this file without running it
    sys.exit(main())
