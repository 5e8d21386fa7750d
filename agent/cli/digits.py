"""``pixelpilot digits``: learn a game's score font, and see what the digits reward source reads.

``learn`` takes window frames (e.g. ``raw_*.png`` from ``pixelpilot capture``) listed with the number each
one shows, cuts the profile's ``reward.region`` out of every frame and writes the glyph file the profile
names. ``read`` reads the number from the live game window as the environment will, with the per-glyph
scores when a read fails, so a bad region or glyph file shows at once.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING

from agent.cli import argtypes
from capture.errors import PixelpilotError

if TYPE_CHECKING:
    import numpy as np

    from agent.envs.profile import GameProfile

_LABEL = re.compile(r"-?[0-9]+")


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``digits learn`` and ``digits read`` to the ``pixelpilot`` command."""
    parser = subparsers.add_parser("digits", help="learn a game's score digits, or read them live")
    sub = parser.add_subparsers(dest="digits_command", required=True, metavar="ACTION")

    p = sub.add_parser(
        "learn",
        help="learn the glyphs of a game's score from window frames labelled by hand or by the game's telemetry",
    )
    p.add_argument("--profile", required=True, help="game profile with reward.source = 'digits' (name or path)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--labels",
        help="text file with one 'IMAGE,NUMBER' line per window frame: IMAGE relative to this file, NUMBER "
        "as drawn (e.g. 0042 or -007); blank lines and lines starting with # are skipped",
    )
    source.add_argument(
        "--telemetry-port",
        type=int,
        help="no labels to type: while the game is played, grab its window and label each frame with the score "
        "the game sends to this localhost UDP port (JSON datagrams, see capture/telemetry.py)",
    )
    p.add_argument("--key", default="score", help="--telemetry-port: the field that holds the number (default score)")
    p.add_argument(
        "--samples", type=argtypes.positive(int), default=200, help="--telemetry-port: frames to label (default 200)"
    )
    p.add_argument(
        "--timeout",
        type=argtypes.positive(float),
        default=300.0,
        help="--telemetry-port: stop after this many seconds with what was labelled (default 300)",
    )
    p.add_argument("--window", help="--telemetry-port: window title or a unique part of it (default: the profile's)")
    p.add_argument(
        "--keep",
        help="--telemetry-port: also write the labelled frames and their labels.csv here (usable with --labels)",
    )
    p.add_argument("--out", help="glyph file to write (default: the profile's reward.glyphs)")
    p.set_defaults(func=cmd_learn)

    p = sub.add_parser("read", help="read the number from the game window live, as the environment does")
    p.add_argument("--profile", required=True, help="game profile with reward.source = 'digits' (name or path)")
    p.add_argument("--window", help="window title or a unique part of it (default: the profile's)")
    p.add_argument("--frames", type=argtypes.positive(int), default=10, help="how many reads (default 10)")
    p.add_argument("--fps", type=argtypes.positive(float), default=2.0, help="reads per second (default 2)")
    p.set_defaults(func=cmd_read, needs_screen=True)


def _digits_profile(name: str) -> GameProfile:
    from agent.envs.profile import ProfileError, load_profile

    profile = load_profile(name)
    if profile.reward.source != "digits":
        raise ProfileError(
            f"{profile.path}: reward.source: is {profile.reward.source!r}; reading digits needs "
            'source = "digits" with a region and a glyphs file'
        )
    return profile


def load_samples(labels: Path, profile: GameProfile) -> list[tuple[np.ndarray, str]]:
    """(region image, number as drawn) for every line of a labels file; errors name the file and line."""
    import cv2
    import numpy as np

    region = profile.reward.region
    assert region is not None
    try:
        lines = labels.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise PixelpilotError(f"{labels}: cannot read the labels file: {exc}") from None
    samples = []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, text = (part.strip() for part in line.rpartition(","))
        where = f"{labels}:{number}"
        if not name or not _LABEL.fullmatch(text):
            raise PixelpilotError(f"{where}: expected IMAGE,NUMBER (e.g. raw_00001.png,-007), got {line!r}")
        path = labels.parent / name
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None or image.dtype != np.uint8:
            raise PixelpilotError(f"{where}: {path} is not a readable 8-bit image")
        bottom, right = region.top + region.height, region.left + region.width
        if bottom > image.shape[0] or right > image.shape[1]:
            raise PixelpilotError(
                f"{where}: {path} is {image.shape[1]}x{image.shape[0]}, smaller than the profile's "
                f"reward.region reaches ({right}x{bottom}); give whole window frames"
            )
        samples.append((region.cut(image), text))
    if not samples:
        raise PixelpilotError(f"{labels}: no IMAGE,NUMBER lines")
    return samples


def telemetry_samples(args: argparse.Namespace, profile: GameProfile) -> list[tuple[np.ndarray, str]]:
    """(region image, number) pairs grabbed from the live window and labelled by the game's telemetry."""
    import cv2

    from capture.digit_labels import label_from_telemetry
    from capture.windows import find_window

    region = profile.reward.region
    assert region is not None
    window = find_window(args.window or profile.window)
    print(f"labelling {window.title!r} from telemetry {args.key!r} on port {args.telemetry_port}: play the game "
          f"so the number changes (up to {args.samples} frames or {args.timeout:g} s)", flush=True)  # fmt: skip
    labelled = label_from_telemetry(window.handle, args.telemetry_port, args.samples, args.timeout, args.key)
    print(f"{len(labelled.frames)} frames labelled from {labelled.grabs} grabs "
          f"({labelled.changing} dropped: the number changed while grabbed)")  # fmt: skip
    if not labelled.frames:
        raise PixelpilotError("no frame could be labelled: the number never held still across a grab")
    if args.keep:
        keep = Path(args.keep)
        keep.mkdir(parents=True, exist_ok=True)
        lines = []
        for i, (frame, number) in enumerate(zip(labelled.frames, labelled.numbers, strict=True)):
            name = f"frame_{i:05d}.png"
            if not cv2.imwrite(str(keep / name), frame):
                raise PixelpilotError(f"{keep / name}: cannot write the frame")
            lines.append(f"{name},{number}")
        (keep / "labels.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"kept the frames and {keep / 'labels.csv'}")
    return [(region.cut(f), str(n)) for f, n in zip(labelled.frames, labelled.numbers, strict=True)]


def cmd_learn(args: argparse.Namespace) -> int:
    from capture.digits import DigitReader

    profile = _digits_profile(args.profile)
    out = Path(args.out) if args.out else profile.reward.glyphs
    assert out is not None
    samples = load_samples(Path(args.labels), profile) if args.labels else telemetry_samples(args, profile)
    reader, report = DigitReader.fit(samples)
    reader.save(out)
    skipped = report.samples - report.used
    print(
        f"learned {len(reader.chars)} glyphs from {report.used} of {report.samples} frames"
        + (f" ({skipped} not cut into as many glyphs as their number has characters)" if skipped else "")
    )
    print("examples per glyph: " + "  ".join(f"{c}:{n}" for c, n in report.counts.items()))
    print(f"reads back {report.accuracy:.1%} of the frames")
    if report.missing:
        print(f"never seen: {' '.join(report.missing)} (numbers with these digits will not be read; add frames)")
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    return 0


def cmd_read(args: argparse.Namespace) -> int:
    from capture.digits import DigitReader, DigitsReward
    from capture.grabber import WindowGrabber
    from capture.timing import Ticker
    from capture.windows import find_window

    profile = _digits_profile(args.profile)
    region, glyphs = profile.reward.region, profile.reward.glyphs
    assert region is not None and glyphs is not None
    reader = DigitReader.load(glyphs)
    source = DigitsReward(reader, region, profile.reward.scale)
    window = find_window(args.window or profile.window)
    ticker = Ticker(args.fps)
    print(f"reading {window.title!r} at top={region.top} left={region.left} {region.width}x{region.height}")
    with WindowGrabber(window.handle) as grabber:
        for i in range(args.frames):
            ticker.wait()
            frame = grabber.grab()
            reading = source.poll(frame)
            read = reading.info["digits"]
            if read is None:
                cut = region.cut(frame)
                glyphs_seen = " ".join(f"{c}:{score:.2f}" for c, score in reader.classify(cut)) or "no glyphs"
                shown = f"unreadable ({glyphs_seen})"
            else:
                shown = str(read)
            print(f"{i:4d}  {shown}  number {reading.info['number']}  reward {reading.reward:+g}", flush=True)
    print(f"{source.reads} reads, {source.failures} unreadable")
    return 0
