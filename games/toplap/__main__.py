"""``python -m games.toplap [--seed N] [--laps N] [--track-per-race] [--telemetry-port PORT ...]``"""

from __future__ import annotations

import argparse
import sys

from capture.errors import PixelpilotError
from games.toplap.window import run_game


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m games.toplap", description=__doc__)
    parser.add_argument("--seed", type=int, default=0, help="track seed (default 0)")
    parser.add_argument("--laps", type=int, default=3, help="laps per race (default 3)")
    parser.add_argument("--track-per-race", action="store_true", help="a new track (the next seed) every race")
    parser.add_argument("--telemetry-port", type=int, action="append", default=[], help="send telemetry here")
    parser.add_argument("--title", default="TopLap", help="window title (default TopLap)")
    parser.add_argument("--view", choices=("north", "chase"), default="north",
                        help="north: the world stays upright and the car turns (default); chase: the world turns "
                        "so that the car always points up")  # fmt: skip
    args = parser.parse_args(argv)
    if args.seed < 0 or args.laps < 1:
        parser.error(f"--seed must be >= 0 and --laps >= 1, got {args.seed} and {args.laps}")
    try:
        return run_game(args.seed, args.laps, args.track_per_race, args.telemetry_port, args.title, args.view)
    except PixelpilotError as exc:
        print(f"toplap: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
