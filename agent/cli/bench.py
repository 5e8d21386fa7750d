"""``pixelpilot bench NAME``: run one of the source checkout's benchmarks (``benchmarks/*.py``).

Benchmarks write the checkout's docs (``docs/benchmarks.md``, ``docs/curves/``) and compare against libraries the
package does not depend on, so they live beside the docs as scripts, not in the installed package; this command
runs the script as a program of its own (``python benchmarks/NAME.py OPTIONS``), which nothing in the package
imports. ``gym`` is short for ``gym_bench``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from capture.errors import PixelpilotError

ALIASES = {"gym": "gym_bench"}
CHECKOUT = Path(__file__).resolve().parents[2]
"""the source checkout this package runs from, when it is one (an editable install)"""


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("bench", help="run a benchmark of the source checkout (benchmarks/NAME.py; gym: pixelpilot's "
                       "learners next to Stable-Baselines3's on the classic benchmarks), which writes "
                       "docs/benchmarks.md")  # fmt: skip
    p.add_argument("name", metavar="NAME", help="gym, or the name of any benchmarks/*.py")
    p.add_argument("options", nargs=argparse.REMAINDER, help="the benchmark's own options (see NAME --help)")
    p.set_defaults(func=cmd_bench)


def script(name: str) -> Path:
    folder = CHECKOUT / "benchmarks"
    if not folder.is_dir():
        raise PixelpilotError(f"benchmarks run from a source checkout (with benchmarks/ beside agent/); {CHECKOUT} is "
                              "not one")  # fmt: skip
    path = folder / f"{ALIASES.get(name, name)}.py"
    if not path.is_file() or path.name.startswith("_"):
        known = sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))
        raise PixelpilotError(f"no benchmark {name!r}; choose gym or one of {', '.join(known)}")
    return path


def cmd_bench(args: argparse.Namespace) -> int:
    return subprocess.run([sys.executable, str(script(args.name)), *args.options], cwd=CHECKOUT).returncode
