"""``pixelpilot``'s entry point: the parser (each command group adds its own subcommands), a virtual desktop for
the commands that need a screen, and one line on stderr for every error a user can cause."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator

from agent.cli import bench, demos, digits, drive, examples, screen, train
from capture.errors import PixelpilotError
from control.keyboard import Terminated

log = logging.getLogger("pixelpilot")
GROUPS = (screen, drive, train, demos, digits, bench, examples)
"""the modules that add subcommands, in the order ``pixelpilot --help`` lists them"""


@contextlib.contextmanager
def desktop(virtual: bool, automatic: bool) -> Iterator[None]:
    """Run on a fresh virtual desktop when asked to, or (``automatic``) when there is no display at all."""
    if not virtual and (os.environ.get("DISPLAY") or not automatic):
        yield
        return
    from capture.display import VirtualDesktop
    from control.guardian import Guardian

    if not virtual:
        log.warning("no DISPLAY: starting a virtual desktop (Xvfb + openbox)")
    previous = os.environ.get("DISPLAY")
    with VirtualDesktop() as vd, Guardian(groups=vd.groups()):  # the desktop goes even after a SIGKILL
        os.environ["DISPLAY"] = vd.display or ""
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("DISPLAY", None)
            else:
                os.environ["DISPLAY"] = previous


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pixelpilot", description="Learns to drive racing games from the screen.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument(
        "--virtual",
        action="store_true",
        help="run on a fresh virtual desktop (Xvfb + openbox); default without a DISPLAY",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="pixelpilot: %(levelname)s: %(message)s",
    )
    try:
        # Commands that work on the screen get a virtual desktop when there is none. A game window for a person
        # to play, and training or evaluating in-process, get one only when asked for with --virtual.
        with desktop(args.virtual, automatic=getattr(args, "needs_screen", False)):
            return int(args.func(args))
    except PixelpilotError as exc:
        print(f"pixelpilot: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pixelpilot: interrupted; all keys released", file=sys.stderr)
        return 130
    except Terminated as exc:
        print(f"pixelpilot: stopped by {exc.signal_name}; all keys released", file=sys.stderr)
        return int(exc.code or 1)
