"""``pixelpilot record``, ``pixelpilot demos info|view|reprocess|export``, ``pixelpilot pretrain`` and
``pixelpilot dagger``: demonstrations in, a cloned pilot out."""

from __future__ import annotations

import argparse
import sys

from agent import config
from agent.cli import argtypes
from agent.demos.dagger_args import DaggerArgs
from agent.demos.pretrain_args import PretrainArgs


def cmd_record(args: argparse.Namespace) -> int:
    from agent.drive.record import record

    interactive = sys.stdout.isatty()

    def status(line: str) -> None:
        print(f"\r{line}\033[K" if interactive else line, end="" if interactive else "\n", flush=True)

    print(f"recording {args.profile} into {args.out}: {args.toggle_hint}", flush=True)
    result = record(args.profile, args.out, args.max_seconds, args.episodes, args.segment_seconds,
                    args.discard_seconds, args.discard_key, status=status, raw_frames=args.raw_frames)  # fmt: skip
    if interactive:
        print()
    if result.segments == 0:
        print(f"nothing was recorded; {args.out} was not kept")
        return 0
    print(f"wrote {result.steps} steps ({result.seconds:.1f} s) in {result.segments} segments, {result.episodes} "
          f"episode(s); {result.discarded} discarded, {result.idle_steps} without an action, {result.paused_steps} "
          f"paused")  # fmt: skip
    total = sum(result.actions.values()) or 1
    print("actions: " + ", ".join(f"{name} {count / total:.0%}" for name, count in result.actions.items()))
    for key in result.missing_keys:
        print(f"warning: no recorded step holds {key!r} ({args.profile}'s key for it): the recording never saw it "
              "pressed, so a clone of it will never press it", file=sys.stderr)  # fmt: skip
    if result.stopped:
        print(f"stopped: {result.stopped}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from agent.demos.dataset import load_demos

    demos = load_demos(args.dataset)
    s = demos.summary()
    meta = demos.meta
    duration = "?" if s["duration_s"] is None else f"{s['duration_s']:.1f} s"
    print(f"{demos.path}: recorded {meta.get('recorded_at', '?')} from profile {meta.get('profile')!r} at "
          f"{meta.get('fps')} fps, crop {meta.get('crop')}, pixelpilot {meta.get('pixelpilot_version')}")  # fmt: skip
    print(f"episodes {s['episodes']}, frames {s['frames']} ({duration}), segments {s['segments']}, "
          f"without an action {s['idle_frames']}, discarded {s['discarded_frames']}, "
          f"damaged {len(s['damaged_segments'])}, "
          f"on disk {s['disk_bytes'] / 2**20:.1f} MiB")  # fmt: skip
    total = max(1, sum(s["actions"].values()))
    print("actions:")
    for name, count in s["actions"].items():
        print(f"  {name:9} {count:7d} {count / total:6.1%} {'#' * round(40 * count / total)}")
    returns = ", ".join(f"{r:.1f}" for r in s["returns"])
    print(f"returns per episode: {returns}")
    return 0


def cmd_view(args: argparse.Namespace) -> int:
    from agent.demos.dataset import load_demos
    from agent.demos.view import contact_sheet, video

    demos = load_demos(args.dataset)
    out = video(demos, args.out) if args.video else contact_sheet(demos, args.out, args.columns, args.rows)
    print(f"wrote {out}")
    return 0


def cmd_reprocess(args: argparse.Namespace) -> int:
    from agent.demos.reprocess import reprocess

    demos = reprocess(args.dataset, args.out, args.crop)
    print(f"wrote {args.out}: {len(demos.actions)} steps in {demos.segments} segments, crop {demos.meta['crop']}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np

    from agent.demos.reprocess import export

    demos = export(args.dataset, args.out)
    print(f"wrote {args.out}: {len(demos.actions)} steps of {len(np.unique(demos.episode))} races as {demos.segments} "
          f"Minari episodes (minari.MinariDataset({str(Path(args.out) / 'data')!r}))")  # fmt: skip
    return 0


def cmd_repair(args: argparse.Namespace) -> int:
    from agent.demos.reprocess import repair

    demos = repair(args.dataset, args.out)
    left_out = ", ".join(str(i) for i in demos.meta["damaged_segments"]) or "none"
    print(f"wrote {args.out}: {len(demos.actions)} steps in {demos.segments} segments; damaged segments left out: "
          f"{left_out}")  # fmt: skip
    return 0


def cmd_pretrain(args: argparse.Namespace) -> int:
    from agent.demos.pretrain import pretrain

    result = pretrain(config.from_arguments(PretrainArgs, args), status=say)
    print(f"best epoch {result.best_epoch} of {result.epochs}: validation loss {result.val_loss:.3f}, accuracy "
          f"{result.val_accuracy:.1%} ({result.train_windows} training / {result.val_windows} validation windows, "
          f"{result.seconds:.0f} s)\nwrote {result.checkpoint}")  # fmt: skip
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def cmd_dagger(args: argparse.Namespace) -> int:
    from agent.demos.dagger import dagger

    result = dagger(config.from_arguments(DaggerArgs, args), status=say)
    print(f"wrote {result.checkpoint} (rounds in {result.run_dir / 'progress.csv'})")
    return 0


def cmd_corrections(args: argparse.Namespace) -> int:
    from agent.demos.corrections import learn_from_corrections

    result = learn_from_corrections(args.pilot, args.datasets, args.runs_dir, args.run_name, args.epochs, status=say)
    print(f"validation accuracy {result.val_accuracy:.1%} (best epoch {result.best_epoch} of {result.epochs})\n"
          f"wrote {result.checkpoint}: play it with --checkpoint {result.checkpoint}")  # fmt: skip
    return 0


def say(line: str) -> None:
    print(line, flush=True)


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("record", help="record a person driving a game window as a demonstration dataset")
    p.add_argument("--profile", required=True, help="the game's profile (name or path)")
    p.add_argument("--out", required=True, help="the dataset folder to create (must not exist)")
    p.add_argument("--max-seconds", type=argtypes.positive(float), help="stop after this long (default: never)")
    p.add_argument("--episodes", type=argtypes.positive(int), help="stop after this many episodes (default: never)")
    p.add_argument("--segment-seconds", type=argtypes.positive(float), default=5.0,
                   help="steps are written this often: a crash loses at most that (default 5)")  # fmt: skip
    p.add_argument("--discard-seconds", type=argtypes.positive(float), default=5.0,
                   help="how much the discard key forgets (default 5)")  # fmt: skip
    p.add_argument("--discard-key", default="f9", help="forget the last --discard-seconds (default f9)")
    p.add_argument("--raw-frames", action="store_true",
                   help="also keep the window frames (JPEG) to re-process later with another crop")  # fmt: skip
    p.set_defaults(func=cmd_record, needs_screen=True,
                   toggle_hint="F8 pauses/resumes, F9 discards the last seconds, F12 or Ctrl-C stops")  # fmt: skip

    p = subparsers.add_parser("demos", help="look at a recorded dataset: info, or a contact sheet / video")
    sub = p.add_subparsers(dest="demos_command", required=True, metavar="ACTION")
    q = sub.add_parser("info", help="episodes, frames, duration, action histogram, returns")
    q.add_argument("dataset", help="a dataset folder written by pixelpilot record")
    q.set_defaults(func=cmd_info)
    q = sub.add_parser("view", help="write a contact sheet (PNG) or a video of the frames with their actions")
    q.add_argument("dataset", help="a dataset folder written by pixelpilot record")
    q.add_argument("--out", required=True, help="the PNG (contact sheet) or .mp4/.avi (with --video) to write")
    q.add_argument("--video", action="store_true", help="every frame as a video instead of a contact sheet")
    q.add_argument("--columns", type=argtypes.positive(int), default=6, help="contact sheet columns (default 6)")
    q.add_argument("--rows", type=argtypes.positive(int), default=5, help="contact sheet rows (default 5)")
    q.set_defaults(func=cmd_view)
    q = sub.add_parser("reprocess", help="a new dataset from one's raw frames (record --raw-frames), another crop")
    q.add_argument("dataset", help="a dataset folder written by pixelpilot record --raw-frames")
    q.add_argument("--crop", type=argtypes.crop, required=True, help="TOP,LEFT,HEIGHT,WIDTH in window pixels")
    q.add_argument("--out", required=True, help="the new dataset folder (must not exist)")
    q.set_defaults(func=cmd_reprocess)
    q = sub.add_parser("export", help="a new dataset with one Minari episode per race (recordings write 5 s ones)")
    q.add_argument("dataset", help="a dataset folder written by pixelpilot record")
    q.add_argument("--out", required=True, help="the new dataset folder (must not exist)")
    q.set_defaults(func=cmd_export)
    q = sub.add_parser("repair", help="a new dataset with the readable segments of one with damaged segments")
    q.add_argument("dataset", help="a dataset folder written by pixelpilot record")
    q.add_argument("--out", required=True, help="the new dataset folder (must not exist)")
    q.set_defaults(func=cmd_repair)

    p = subparsers.add_parser("pretrain", help="behaviour cloning of a dataset into a checkpoint A3C can fine-tune")
    config.add_arguments(p, PretrainArgs)
    p.set_defaults(func=cmd_pretrain)

    p = subparsers.add_parser("dagger", help="DAgger on the bundled game: the clone drives, the scripted expert "
                              "labels what it saw, the clone is retrained, round after round")  # fmt: skip
    config.add_arguments(p, DaggerArgs)
    p.set_defaults(func=cmd_dagger)

    p = subparsers.add_parser("corrections", help="retrain a pilot on the stretches a person drove while it played "
                              "(play --record-overrides), with the demonstrations it was cloned from")  # fmt: skip
    p.add_argument("datasets", nargs="+", help="datasets written by play --record-overrides")
    p.add_argument("--pilot", required=True, help="the pilot that was corrected (a checkpoint file or run folder)")
    p.add_argument("--epochs", type=argtypes.positive(int), default=10, help="passes over the data at most (10)")
    p.add_argument("--runs-dir", default="runs", help="where the new run folder goes (default runs)")
    p.add_argument("--run-name", help="its name (default: pretrain__DATASET__DATE-TIME)")
    p.set_defaults(func=cmd_corrections)
