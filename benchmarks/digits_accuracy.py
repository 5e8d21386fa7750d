"""Accuracy of the digits reward source on gymnasium's CarRacing: the number read against the number drawn.

Two measurements with the bundled profile's region and glyph file (games/profiles/carracing.toml):

1. off-screen: CarRacing in this process, a simple pursuit driver at the wheel; every frame's HUD is
   rendered on the game's 1000x800 surface (exactly what its window shows) and read; the truth is the
   text the game drew there, ``f"{reward:04.0f}"``.
2. window: the real game (``python -m gymnasium.envs.box2d.car_racing``) on a virtual desktop, driven with
   the arrow keys through XTest and grabbed with mss at 15 fps. A shim around the game logs each frame's
   HUD text and the time it reached the screen (:data:`TRUTH_SHIM`); a read is correct when it equals the
   text of a frame on screen while it was grabbed (the last one shown before the grab, or one shown
   during it).

``--samples DIR`` instead writes labelled window frames for ``pixelpilot digits learn``: the game's own HUD
drawn with known scores. The bundled glyph file was made that way:

    .venv/bin/python benchmarks/digits_accuracy.py --samples /tmp/carracing-digits
    pixelpilot digits learn --profile carracing --labels /tmp/carracing-digits/labels.csv

Run: .venv/bin/python benchmarks/digits_accuracy.py [--frames N]  (prints a markdown table)
"""

from __future__ import annotations

import argparse
import bisect
import datetime
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.envs.launcher import GameProcess  # noqa: E402
from agent.envs.profile import GameProfile, load_profile  # noqa: E402
from benchmarks.screen_loop import machine, publish  # noqa: E402
from capture.digits import DigitReader  # noqa: E402

PROFILE = "carracing"
WINDOW = "pygame window"

# Runs the unchanged game module as __main__; it only watches: the HUD text of each frame (the game draws
# it with pygame.font.Font.render) and the moment the frame is on screen (after pygame.display.flip).
TRUTH_SHIM = """
import runpy, sys, time
import pygame

log = open(sys.argv[1], "w", buffering=1)
drawn = [""]


class Font(pygame.font.Font):
    def render(self, text, *args, **kwargs):
        drawn[0] = text
        return super().render(text, *args, **kwargs)


flip = pygame.display.flip


def logged_flip():
    flip()
    log.write(f"{time.monotonic():.6f} {drawn[0]}\\n")


pygame.font.Font = Font
pygame.display.flip = logged_flip
sys.argv = sys.argv[:1]
runpy.run_module("gymnasium.envs.box2d.car_racing", run_name="__main__")
"""


def truth_command(log: Path) -> list[str]:
    """The command that runs the real CarRacing window and logs what it shows to ``log``."""
    return [sys.executable, "-c", TRUTH_SHIM, str(log)]


class Truth:
    """The game's log: when each frame reached the screen and the HUD text it showed."""

    def __init__(self, log: Path) -> None:
        self.times: list[float] = []
        self.texts: list[str] = []
        for line in log.read_text().splitlines():
            stamp, _, text = line.partition(" ")
            self.times.append(float(stamp))
            self.texts.append(text)

    def on_screen(self, start: float, end: float) -> set[str]:
        """Texts on screen at some moment in [start, end]: the last one shown before ``start``, and any
        shown up to ``end`` (plus 5 ms: a frame is logged just after it reached the screen)."""
        before = bisect.bisect_right(self.times, start)
        first = before - 1 if before else 0  # before the first frame the window shows nothing
        last = bisect.bisect_right(self.times, end + 0.005)
        return set(self.texts[first:last])


@dataclass
class Score:
    """Reads against the truth, one row of the table."""

    name: str
    correct: int = 0
    wrong: int = 0
    unreadable: int = 0
    truths: list[int] = field(default_factory=list)
    read_ms: list[float] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)  # a few wrong reads, for the report

    def add(self, read: str | None, truth: set[str], read_ms: float) -> None:
        self.read_ms.append(read_ms)
        self.truths.extend(int(t) for t in truth)
        if read is None:
            self.unreadable += 1
        elif read in truth:
            self.correct += 1
        else:
            self.wrong += 1
            if len(self.examples) < 5:
                self.examples.append(f"read {read}, shown {'/'.join(sorted(truth))}")

    @property
    def frames(self) -> int:
        return self.correct + self.wrong + self.unreadable

    def row(self) -> str:
        shown = f"{min(self.truths)}..{max(self.truths)}" if self.truths else "-"
        return (
            f"| {self.name} | {self.frames} | {shown} | {self.correct} | {self.wrong} | {self.unreadable} | "
            f"{self.correct / max(self.frames, 1):.1%} | {np.percentile(self.read_ms, 50):.2f} |"
        )


def _region(frame: np.ndarray, profile: GameProfile) -> np.ndarray:
    r = profile.reward.region
    assert r is not None
    return r.cut(frame)


def _offscreen_frames(steps: int, seed: int, drive: bool) -> Iterator[tuple[np.ndarray, float]]:
    """(BGRA window frame, score) of CarRacing rendered off-screen; with ``drive`` a pursuit driver plays,
    else the score is set to random values before each render (the game still draws it)."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame
    from gymnasium.envs.box2d.car_racing import CarRacing

    env = CarRacing(render_mode="rgb_array")
    rng = np.random.default_rng(seed)
    try:
        env.reset(seed=seed)
        for _ in range(steps):
            if drive:
                env.step(_pursuit(env))
            else:
                env.reward = float(rng.uniform(-1000, 1000) if rng.random() < 0.9 else rng.uniform(-3, 3))
            env.render()  # draws the whole window surface, HUD included
            rgb = pygame.surfarray.array3d(env.surf).transpose(1, 0, 2)
            bgra = np.dstack([rgb[:, :, ::-1], np.full(rgb.shape[:2], 255, np.uint8)])
            yield bgra, env.reward
    finally:
        env.close()


def _pursuit(env: object) -> np.ndarray:
    """Steer towards the track a few tiles ahead; gas on straights, less in bends."""
    car = env.car.hull  # type: ignore[attr-defined]
    track = np.asarray([(x, y) for _, _, x, y in env.track])  # type: ignore[attr-defined]
    position = np.asarray(car.position)
    nearest = int(np.argmin(np.linalg.norm(track - position, axis=1)))
    target = track[(nearest + 5) % len(track)] - position
    heading = car.angle + math.pi / 2
    error = math.atan2(target[1], target[0]) - heading
    error = (error + math.pi) % (2 * math.pi) - math.pi
    speed = float(np.linalg.norm(car.linearVelocity))
    return np.array([np.clip(-2.0 * error, -1, 1), 0.3 if speed < 40 else 0.0, 0.0])


def measure_offscreen(reader: DigitReader, profile: GameProfile, frames: int, seed: int = 3) -> Score:
    score = Score("off-screen render, pursuit driver")
    for frame, reward in _offscreen_frames(frames, seed, drive=True):
        t0 = time.perf_counter()
        read = reader.read_text(_region(frame, profile))
        score.add(read, {f"{reward:04.0f}"}, (time.perf_counter() - t0) * 1000)
    return score


def keys_plan(elapsed: float) -> frozenset[str]:
    """Keys for the window measurement: standing still (the score goes negative), accelerating along the
    first straight (new tiles make it climb), braking, then standing (it sinks below zero again)."""
    if 2.0 <= elapsed < 4.5:
        return frozenset({"up"})
    if 4.5 <= elapsed < 6.0:
        return frozenset({"down"})
    return frozenset()


def wait_for_first_frame(log: Path, game: GameProcess, timeout: float = 30.0) -> None:
    """The window exists a moment before the game draws into it; measure from its first frame on."""
    deadline = time.monotonic() + timeout
    while not (log.exists() and log.stat().st_size):
        if how := game.exited():
            raise RuntimeError(f"{how} before drawing its first frame")
        if time.monotonic() > deadline:
            raise TimeoutError(f"no frame in {log} within {timeout:g} s")
        time.sleep(0.05)


def measure_window(
    reader: DigitReader,
    profile: GameProfile,
    frames: int,
    fps: float = 15.0,
    plan: Callable[[float], frozenset[str]] = keys_plan,
) -> Score:
    """Drive the real CarRacing window (on the current DISPLAY) and read its score on every grab."""
    from agent.envs.launcher import wait_for_window
    from capture.grabber import WindowGrabber
    from capture.timing import Ticker
    from capture.windows import default_backend
    from control.focus import FocusGuard
    from control.keyboard import Keyboard, PynputSender

    score = Score(f"real window on Xvfb, mss grab at {fps:g} fps, arrow keys")
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "truth.log"
        game = GameProcess(truth_command(log))
        reads: list[tuple[float, float, str | None, float]] = []
        try:
            window = wait_for_window(WINDOW, 30, game)
            wait_for_first_frame(log, game)
            default_backend().activate(window.handle)
            keyboard = Keyboard(PynputSender(), {"left", "right", "up", "down"}, FocusGuard(window.handle))
            with keyboard, WindowGrabber(window.handle) as grabber:
                ticker = Ticker(fps)
                start = time.monotonic()
                for _ in range(frames):
                    ticker.wait()
                    keyboard.apply(plan(time.monotonic() - start))
                    g0 = time.monotonic()
                    frame = grabber.grab()
                    g1 = time.monotonic()
                    read = reader.read_text(_region(frame, profile))
                    reads.append((g0, g1, read, (time.monotonic() - g1) * 1000))
        finally:
            game.stop()
        truth = Truth(log)
    for g0, g1, read, read_ms in reads:
        score.add(read, truth.on_screen(g0, g1), read_ms)
    return score


def write_labelled(out: Path, samples: Iterable[tuple[np.ndarray, str]]) -> None:
    """Window frames and the number each shows (as drawn), with labels.csv for ``pixelpilot digits learn``."""
    import cv2

    out.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, (frame, label) in enumerate(samples):
        name = f"frame_{i:04d}.png"
        if not cv2.imwrite(str(out / name), frame):
            raise OSError(f"cannot write {out / name}")
        lines.append(f"{name},{label}")
    (out / "labels.csv").write_text("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} frames and {out / 'labels.csv'}")


def report(title: str, marker: str, frames: int, scores: Sequence[Score], write: bool) -> None:
    """Print the accuracy table, and put it in docs/benchmarks.md under ``marker`` when ``write``."""
    lines = [
        f"## Digits reward source: {title} (issue 3)",
        "",
        f"`make bench` ({frames} frames each) on {datetime.date.today()}: {machine()}.",
        "",
        "| frames from | frames | numbers shown | correct | wrong | unreadable | accuracy | read p50 (ms) |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
        *(score.row() for score in scores),
        *(f"- {score.name}: {example}" for score in scores for example in score.examples),
    ]
    publish(lines, f"<!-- {marker}:start -->", f"<!-- {marker}:end -->", write)


def parse_args(doc: str, argv: Sequence[str] | None) -> argparse.Namespace:
    """The options both digits benchmarks take."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=300, help="frames per measurement (default 300)")
    parser.add_argument("--samples", type=Path, help="write labelled frames for `pixelpilot digits learn` instead")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(__doc__, argv)
    if args.samples:
        write_labelled(args.samples, ((f, f"{r:04.0f}") for f, r in _offscreen_frames(200, 0, drive=False)))
        return 0
    from capture.display import VirtualDesktop

    profile = load_profile(PROFILE)
    assert profile.reward.glyphs is not None
    reader = DigitReader.load(profile.reward.glyphs)
    scores = [measure_offscreen(reader, profile, args.frames)]
    with VirtualDesktop() as desktop:
        os.environ["DISPLAY"] = desktop.display or ""
        scores.append(measure_window(reader, profile, args.frames))
    report("gymnasium's CarRacing window", "digits_carracing", args.frames, scores, not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
