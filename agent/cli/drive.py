"""``pixelpilot game``, ``demo``, ``play`` and ``gui``: the bundled game, a pilot driving a window, the panel."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.cli import argtypes


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("game", help="play NeonRace, the bundled racing game, in a window")
    p.add_argument("--seed", type=argtypes.track_seed, default=0, help="track seed (default 0)")
    p.add_argument("--difficulty", type=argtypes.difficulty, default="normal", help="easy, normal or hard (default "
                   "normal)")  # fmt: skip
    p.add_argument("--laps", type=argtypes.positive(int), default=3, help="laps per race (default 3)")
    p.add_argument("--title", default="NeonRace", help="window title (default NeonRace)")
    p.add_argument("--size", type=argtypes.size, default=(800, 500), help="window size WIDTHxHEIGHT (default 800x500)")
    ports = "UDP telemetry port, 0 for none (default 47800); repeat to send to several"
    p.add_argument("--telemetry-port", type=int, action="append", help=ports)
    per_race = "each race (Enter restarts) is on the next track: seed, seed+1, ... (default: the same track)"
    p.add_argument("--track-per-race", action="store_true", help=per_race)
    p.set_defaults(func=cmd_game)

    p = sub.add_parser("demo", help="race a lap of NeonRace in its window through the screen loop; video + summary")
    p.add_argument("--profile", default="neonrace", help="a NeonRace profile (name or path; default neonrace)")
    p.add_argument("--out", default="runs/demo", help="where lap.mp4 and summary.txt go (default runs/demo)")
    give_up = "give up after this long (default 120)"
    p.add_argument("--max-seconds", type=argtypes.positive(float), default=120.0, help=give_up)
    p.add_argument("--checkpoint", help="the pilot (default: the shipped one, models/pretrained/neonrace-pilot.pt)")
    p.add_argument("--expert", action="store_true", help="the scripted expert drives instead of a pilot")
    p.add_argument(
        "--panel",
        action="store_true",
        help="open the control panel with the pilot driving (make demo on a desktop); runs until the panel is closed",
    )
    p.set_defaults(func=cmd_demo, needs_screen=True)

    p = sub.add_parser("play", help="a trained pilot drives a game window (F8 pauses/resumes, F12 stops)")
    p.add_argument("--profile", required=True, help="the game's profile (name or path)")
    p.add_argument("--checkpoint", required=True, help="a checkpoint file or a run folder (its latest.pt)")
    p.add_argument("--episodes", type=argtypes.positive(int), help="stop after this many episodes (default: never)")
    p.add_argument("--max-seconds", type=argtypes.positive(float), help="stop after this long (default: never)")
    quiet = "after a human's last driving key, wait this long before the pilot takes over (default 1)"
    p.add_argument("--quiet-seconds", type=argtypes.positive(float), default=1.0, help=quiet)
    p.add_argument("--record-overrides", metavar="DATASET", help="record every stretch a human drives into this new "
                   "dataset (learning from corrections: pretrain on it, or add it to the pilot's demos)")  # fmt: skip
    p.set_defaults(func=cmd_play, needs_screen=True)

    p = sub.add_parser("gui", help="the control panel: pick and preview a game, record, train, play")
    p.set_defaults(func=cmd_gui, needs_screen=True)


def cmd_game(args: argparse.Namespace) -> int:
    from games.neonrace.window import run_game

    ports = [port for port in args.telemetry_port or [47800] if port]
    return run_game(args.seed, args.difficulty, args.laps, args.title, args.size, ports, args.track_per_race)


def cmd_demo(args: argparse.Namespace) -> int:
    from agent.drive.lap_demo import SHIPPED_PILOT, run_demo

    checkpoint = Path(args.checkpoint) if args.checkpoint else SHIPPED_PILOT
    if args.panel:
        if args.expert:
            from agent.config import ConfigError

            raise ConfigError("--panel plays a checkpoint; the scripted expert races without the panel")
        from gui.app import run

        return run(demo=(args.profile, checkpoint))
    return run_demo(args.profile, Path(args.out), args.max_seconds, None if args.expert else checkpoint)


def cmd_play(args: argparse.Namespace) -> int:
    from agent.drive.play import play

    interactive = sys.stdout.isatty()

    def status(line: str) -> None:
        print(f"\r{line}\033[K" if interactive else line, end="" if interactive else "\n", flush=True)

    result = play(args.profile, args.checkpoint, args.episodes, args.max_seconds, args.quiet_seconds, status=status,
                  record_overrides=args.record_overrides)  # fmt: skip
    if interactive:
        print()
    decide = result.timing.summary().get("decide_ms", {})
    returns = ", ".join(f"{r:.1f}" for r in result.episodes) or "none finished"
    print(f"{result.steps} steps at {result.fps:.1f} fps: pilot {result.pilot_steps}, human {result.human_steps}, "
          f"paused {result.paused_steps}; decide p50 {decide.get('p50', float('nan')):.2f} ms p99 "
          f"{decide.get('p99', float('nan')):.2f} ms; episode returns: {returns}")  # fmt: skip
    if args.record_overrides:
        print(f"human overrides: {result.overrides_recorded} steps written to {args.record_overrides}")
    if result.stopped:
        print(f"stopped: {result.stopped}")
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    from gui.app import run

    return run()
