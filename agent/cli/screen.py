"""``pixelpilot windows``, ``capture`` and ``keys-test``: look at the desktop's windows, grab one, send it keys."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from agent.cli import argtypes
from capture.errors import PixelpilotError


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    from agent.envs.profile import load_profile
    from capture.windows import default_backend, find_window
    from control.actions import ActionTable
    from control.claim import WindowClaim
    from control.focus import FocusGuard
    from control.guardian import Guardian
    from control.hotkeys import Hotkeys
    from control.keyboard import AgentStopped, Keyboard, PynputSender

    table = load_profile(args.profile).actions if args.profile else ActionTable()
    window = find_window(args.window)
    claim = WindowClaim(os.environ.get("DISPLAY", ""), window.handle, window.title)  # one driver per window
    default_backend().activate(window.handle)
    keyboard = Keyboard(PynputSender(), table.managed_keys, FocusGuard(window.handle))
    with claim, Guardian(table.managed_keys), keyboard, Hotkeys(kill=args.kill_key, toggle=args.toggle_key,
                                                                on_kill=keyboard.stop):  # fmt: skip
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
