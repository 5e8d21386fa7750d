"""The ``pixelpilot`` command. Subcommands are thin: each parses options and calls library functions."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from agent import argtypes, demos_cmd, digits_cmd, gym_bench
from capture.errors import PixelpilotError

log = logging.getLogger("pixelpilot")


@contextlib.contextmanager
def desktop(virtual: bool, automatic: bool) -> Iterator[None]:
    """Run on a fresh virtual desktop when asked to, or (``automatic``) when there is no display at all."""
    if not virtual and (os.environ.get("DISPLAY") or not automatic):
        yield
        return
    from capture.display import VirtualDesktop

    if not virtual:
        log.warning("no DISPLAY: starting a virtual desktop (Xvfb + openbox)")
    previous = os.environ.get("DISPLAY")
    with VirtualDesktop() as vd:
        os.environ["DISPLAY"] = vd.display or ""
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("DISPLAY", None)
            else:
                os.environ["DISPLAY"] = previous


def cmd_windows(args: argparse.Namespace) -> int:
    from capture.windows import default_backend

    backend = default_backend()
    active = backend.active_handle()
    windows = backend.list_windows()
    if not windows:
        print("no windows")
    for w in windows:
        r = w.rect
        mark = "*" if w.handle == active else " "
        print(f"{mark} 0x{w.handle:08x}  {r.width}x{r.height}+{r.left}+{r.top}  {w.title}")
    return 0


def cmd_capture(args: argparse.Namespace) -> int:
    import cv2

    from capture.frame_source import FrameSource
    from capture.grabber import WindowGrabber
    from capture.windows import find_window

    window = find_window(args.window)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PixelpilotError(f"cannot create {out}: {exc.strerror}") from None
    with WindowGrabber(window.handle) as grabber:
        source = FrameSource(grabber, args.crop, args.fps)
        for i in range(args.frames):
            frame = source.read()
            for name, image in (
                (f"raw_{i:05d}.png", frame.raw[:, :, :3]),
                (f"obs_{i:05d}.png", frame.obs_u8),
            ):
                if not cv2.imwrite(str(out / name), image):
                    raise PixelpilotError(f"cannot write {out / name}")
        stats = source.stats.summary()
    print(
        f"captured {args.frames} frames of {window.title!r} into {out}/ (raw_*.png and obs_*.png): "
        f"{source.fps():.1f} fps, grab {stats['grab_ms']['p50']:.2f} ms, "
        f"preprocess {stats['preprocess_ms']['p50']:.2f} ms (p50)"
    )
    return 0


def cmd_keys_test(args: argparse.Namespace) -> int:
    from agent.profile import load_profile
    from capture.windows import default_backend, find_window
    from control.actions import ActionTable
    from control.focus import FocusGuard
    from control.hotkeys import Hotkeys
    from control.keyboard import AgentStopped, Keyboard, PynputSender

    table = load_profile(args.profile).actions if args.profile else ActionTable()
    window = find_window(args.window)
    default_backend().activate(window.handle)
    keyboard = Keyboard(PynputSender(), table.managed_keys, FocusGuard(window.handle))
    with keyboard, Hotkeys(kill=args.kill_key, toggle=args.toggle_key, on_kill=keyboard.stop):
        print(f"sending the {table.n} actions to {window.title!r}, {args.hold:g} s each ({args.kill_key} stops)")
        try:
            for action, name in enumerate(table.names):
                keys = table.keys(action)
                sent = keyboard.apply(keys)
                state = "sent" if sent else "held back: the window does not have the focus"
                print(f"  {action}  {name:9s} keys {'+'.join(sorted(keys)) or '-':12s} {state}", flush=True)
                time.sleep(args.hold)
            keyboard.apply(())
        except AgentStopped as exc:
            print(f"stopped: {exc}; all keys released")
            return 1
    print("done; all keys released")
    return 0


def cmd_game(args: argparse.Namespace) -> int:
    from games.neonrace.window import run_game

    ports = [port for port in args.telemetry_port or [47800] if port]
    return run_game(args.seed, args.difficulty, args.laps, args.title, args.size, ports, args.track_per_race)


def cmd_train(args: argparse.Namespace) -> int:
    from agent import a3c, config
    from agent.screen_env import screen_training

    base = None
    if args.resume:
        base = a3c.checkpoint_args(a3c.load_checkpoint(args.resume))
    elif args.config:
        base = config.load_toml(a3c.Args, Path(args.config))
    train_args = config.from_arguments(a3c.Args, args, base)
    if args.profile:
        if args.env_id is not None:
            raise config.ConfigError("--profile trains on the game's window (pixelpilot/Screen-v0); leave out --env")
        train_args = screen_training(train_args, args.profile, args.display)
    result = a3c.train(train_args, resume=args.resume)
    last = result.curve[-1] if result.curve else None
    print(f"run: {result.run_dir} ({result.steps:,} steps in {result.wall_s:.0f} s)")
    if last is not None:
        print(f"last evaluation: {last.mean:.1f} ± {last.std:.1f} at {last.steps:,} steps")
    if result.solved is not None:
        solved = result.solved
        print(f"reached the target {train_args.target_return:g} at {solved.steps:,} steps, {solved.wall_s:.1f} s")
    print(f"checkpoints: {result.run_dir / 'checkpoints'}; curve: {result.run_dir / 'reward_curve.png'}")
    return 130 if result.interrupted else 0


def cmd_play(args: argparse.Namespace) -> int:
    from agent.play import play

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


def cmd_evaluate(args: argparse.Namespace) -> int:
    from agent import a3c, config
    from agent.evaluation import evaluate, report

    env_kwargs = None
    if args.env_kwarg:
        env_kwargs = config.from_arguments(a3c.Args, argparse.Namespace(env_kwargs=args.env_kwarg)).env_kwargs
    render = "human" if args.render else None
    print(report(evaluate(args.checkpoint, args.episodes, args.seed, args.env, env_kwargs, render, args.profile,
                          args.display, args.sample)))  # fmt: skip
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from agent.a3c import export_policy

    out = export_policy(args.checkpoint, args.out, half=not args.full_precision)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from agent.demo import run_demo

    if args.panel:
        if args.expert:
            from agent.config import ConfigError

            raise ConfigError("--panel plays a checkpoint; the scripted expert races without the panel")
        from gui.app import run

        return run(demo=(args.profile, Path(args.checkpoint)))
    return run_demo(args.profile, Path(args.out), args.max_seconds, None if args.expert else Path(args.checkpoint))


def cmd_gui(args: argparse.Namespace) -> int:
    from gui.app import run

    return run()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pixelpilot", description="Learns to drive racing games from the screen.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument(
        "--virtual",
        action="store_true",
        help="run on a fresh virtual desktop (Xvfb + openbox); default without a DISPLAY",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("windows", help="list the visible windows (* marks the focused one)")
    p.set_defaults(func=cmd_windows, needs_screen=True)

    p = sub.add_parser("capture", help="save raw and processed frames of a window")
    p.add_argument("--window", required=True, help="window title or a unique part of it")
    p.add_argument("--out", required=True, help="folder for raw_*.png and obs_*.png")
    p.add_argument("--frames", type=argtypes.positive(int), default=10, help="how many frames (default 10)")
    p.add_argument("--fps", type=argtypes.positive(float), default=15.0, help="capture rate (default 15)")
    p.add_argument("--crop", type=argtypes.crop, help="TOP,LEFT,HEIGHT,WIDTH in window pixels (default: whole window)")
    p.set_defaults(func=cmd_capture, needs_screen=True)

    p = sub.add_parser("keys-test", help="send each action's keys to a window in turn and report them")
    p.add_argument("--window", required=True, help="window title or a unique part of it")
    p.add_argument("--profile", help="take key names from this game profile (default: arrows + x)")
    hold = "seconds each action is held (default 0.5)"
    p.add_argument("--hold", type=argtypes.positive(float), default=0.5, help=hold)
    p.add_argument("--kill-key", type=argtypes.key, default="f12", help="kill switch hotkey (default f12)")
    p.add_argument("--toggle-key", type=argtypes.key, default="f8", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_keys_test, needs_screen=True)

    from games.neonrace.track import DIFFICULTIES

    p = sub.add_parser("game", help="play NeonRace, the bundled racing game, in a window")
    p.add_argument("--seed", type=argtypes.track_seed, default=0, help="track seed (default 0)")
    p.add_argument("--difficulty", choices=list(DIFFICULTIES), default="normal", help="default normal")
    p.add_argument("--laps", type=argtypes.positive(int), default=3, help="laps per race (default 3)")
    p.add_argument("--title", default="NeonRace", help="window title (default NeonRace)")
    p.add_argument("--size", type=argtypes.size, default=(800, 500), help="window size WIDTHxHEIGHT (default 800x500)")
    ports = "UDP telemetry port, 0 for none (default 47800); repeat to send to several"
    p.add_argument("--telemetry-port", type=int, action="append", help=ports)
    per_race = "each race (Enter restarts) is on the next track: seed, seed+1, ... (default: the same track)"
    p.add_argument("--track-per-race", action="store_true", help=per_race)
    p.set_defaults(func=cmd_game)

    from agent.demo import SHIPPED_PILOT

    p = sub.add_parser("demo", help="race a lap of NeonRace in its window through the screen loop; video + summary")
    p.add_argument("--profile", default="neonrace", help="a NeonRace profile (name or path; default neonrace)")
    p.add_argument("--out", default="runs/demo", help="where lap.mp4 and summary.txt go (default runs/demo)")
    give_up = "give up after this long (default 120)"
    p.add_argument("--max-seconds", type=argtypes.positive(float), default=120.0, help=give_up)
    p.add_argument("--checkpoint", default=str(SHIPPED_PILOT), help="the pilot (default: the shipped one)")
    p.add_argument("--expert", action="store_true", help="the scripted expert drives instead of a pilot")
    p.add_argument(
        "--panel",
        action="store_true",
        help="open the control panel with the pilot driving (make demo on a desktop); runs until the panel is closed",
    )
    p.set_defaults(func=cmd_demo, needs_screen=True)

    from agent import a3c, config

    p = sub.add_parser("train", help="train an actor-critic with A3C (classic envs, NeonRace-v0, or a game window)")
    p.add_argument("--config", help="start from a run's config.toml (options given here override it)")
    p.add_argument("--resume", help="continue a run: its folder or a checkpoint (options given here override)")
    config.add_arguments(p, a3c.Args, aliases={"env_id": "--env"})
    p.add_argument("--profile", help="train through this game profile's window (pixelpilot/Screen-v0) instead of --env")
    p.add_argument("--display", default="virtual", help="with --profile: 'virtual' (default: every worker and the "
                   "evaluator start their own Xvfb desktop and copy of the game) or a real display such as :0 "
                   "(one worker)")  # fmt: skip
    p.set_defaults(func=cmd_train)

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

    p = sub.add_parser("evaluate", help="run a checkpoint's policy (most likely actions, or --sample): returns, "
                       "laps, lap time, latency")  # fmt: skip
    p.add_argument("--checkpoint", required=True, help="a checkpoint file or a run folder (its latest.pt)")
    p.add_argument("--episodes", type=argtypes.positive(int), default=10, help="episodes (default 10)")
    p.add_argument("--seed", type=int, default=10_000, help="seed of the first episode (default 10000)")
    p.add_argument("--env", help="evaluate on this environment id instead of the training one")
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

    p = sub.add_parser("gui", help="the control panel: pick and preview a game, record, train, play")
    p.set_defaults(func=cmd_gui, needs_screen=True)

    demos_cmd.add_parsers(sub)
    digits_cmd.add_parser(sub)
    gym_bench.add_parser(sub)
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
            return args.func(args)
    except PixelpilotError as exc:
        print(f"pixelpilot: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pixelpilot: interrupted; all keys released", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
