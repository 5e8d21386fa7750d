"""Accuracy of the digits reward source on NeonRace's HUD score: the number read against the game's own.

Two measurements with games/profiles/neonrace-digits.toml (its region and glyph file):

1. off-screen: the game's renderer at the window's 800x500, states from the scripted expert racing several
   tracks; the truth is the state's score.
2. window: the real game window on a virtual desktop, raced by the expert through ``pixelpilot/Screen-v0``
   (real capture, real key presses); the truth comes from the game's telemetry: a read is correct when it
   equals the score of one of the last ticks the game reported (the capture shows one of them).

``--samples DIR`` instead writes labelled 800x500 frames for ``pixelpilot digits learn``; the bundled glyph
file was made with:

    .venv/bin/python benchmarks/digits_neonrace.py --samples /tmp/neonrace-digits
    pixelpilot digits learn --profile neonrace-digits --labels /tmp/neonrace-digits/labels.csv

Run: .venv/bin/python benchmarks/digits_neonrace.py [--frames N]  (prints a markdown table)
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.envs.profile import GameProfile, load_profile  # noqa: E402
from benchmarks.digits_accuracy import Score, _region, parse_args, report, write_labelled  # noqa: E402
from capture.digits import DigitReader  # noqa: E402
from control.actions import ACTIONS  # noqa: E402
from games.neonrace.expert import expert_action  # noqa: E402
from games.neonrace.render import Renderer  # noqa: E402
from games.neonrace.sim import Game  # noqa: E402

PROFILE = "neonrace-digits"


def rendered_frames(count: int, every: int = 7) -> Iterator[tuple[np.ndarray, int]]:
    """(800x500 BGR frame, score shown) from the expert racing tracks of every difficulty."""
    produced, seed = 0, 0
    while True:
        game = Game(seed, ("easy", "normal", "hard")[seed % 3], 2)
        renderer = Renderer(game, 800, 500)
        while not game.state.done:
            keys = ACTIONS[expert_action(game)]
            game.tick(keys)
            if game.state.ticks % every == 0:
                yield renderer.render()[:, :, ::-1].copy(), game.state.score
                produced += 1
                if produced == count:
                    return
        seed += 1


def measure_offscreen(reader: DigitReader, profile: GameProfile, frames: int) -> Score:
    score = Score("off-screen render, expert driver")
    for frame, truth in rendered_frames(frames):
        t0 = time.perf_counter()
        read = reader.read(_region(frame, profile))
        score.add(None if read is None else str(read), {str(truth)}, (time.perf_counter() - t0) * 1000)
    return score


def measure_window(reader: DigitReader, frames: int, tmp: Path) -> Score:
    """The real window raced by the expert; truth from the game's telemetry."""
    from agent.envs.screen import ScreenEnv
    from games.neonrace.mirror import StateMirror

    title, port = f"NeonRace-{uuid.uuid4().hex[:6]}", 47000 + os.getpid() % 1000
    profile = tmp / "neonrace-telemetry.toml"
    profile.write_text(
        f'name = "neonrace-bench"\nwindow = "{title}"\n'
        f'launch = ["{{python}}", "-m", "agent.cli", "game", "--title", "{title}", "--telemetry-port", "{port}"]\n'
        f'fps = 15\n[keys]\nreset = ["enter"]\n[reward]\nsource = "telemetry"\nport = {port}\n'
    )
    region = load_profile(PROFILE).reward.region
    assert region is not None
    score = Score("real window on Xvfb, mss grab at 15 fps, expert via keys")
    env = ScreenEnv(profile, render_mode="rgb_array")
    mirror = StateMirror()
    shown: dict[int, int] = {}  # tick → score, from the game's telemetry

    def follow(messages: list[dict]) -> None:
        for msg in messages:
            mirror.feed([msg])
            shown[msg["tick"]] = msg["score"]

    try:
        follow(env.reset()[1]["telemetry_messages"])
        while score.frames < frames:
            assert mirror.game is not None
            if mirror.game.state.done:
                shown.clear()
                follow(env.reset()[1]["telemetry_messages"])
                continue
            follow(env.step(expert_action(mirror.game))[4]["telemetry_messages"])
            last = max(shown)
            truth = {str(shown[t]) for t in range(last - 3, last + 1) if t in shown}
            frame = env.render()[:, :, ::-1]  # the frame this step captured, BGR like the learning samples
            t0 = time.perf_counter()
            read = reader.read(region.cut(frame))
            score.add(None if read is None else str(read), truth, (time.perf_counter() - t0) * 1000)
    finally:
        env.close()
    return score


def main(argv: Sequence[str] | None = None) -> int:
    import tempfile

    args = parse_args(__doc__, argv)
    if args.samples:
        write_labelled(args.samples, ((frame, str(score)) for frame, score in rendered_frames(200, every=23)))
        return 0
    from capture.display import VirtualDesktop

    profile = load_profile(PROFILE)
    assert profile.reward.glyphs is not None
    reader = DigitReader.load(profile.reward.glyphs)
    scores = [measure_offscreen(reader, profile, args.frames)]
    with VirtualDesktop() as desktop, tempfile.TemporaryDirectory() as tmp:
        os.environ["DISPLAY"] = desktop.display or ""
        scores.append(measure_window(reader, args.frames, Path(tmp)))
    report("NeonRace's HUD", "digits_neonrace", args.frames, scores, not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
