"""A game nothing was tuned to: TopLap (games/toplap), learned from its window alone, as a new user would.

Everything runs on a virtual desktop of its own, through ``games/profiles/toplap.toml`` (WASD + space, the red
channel as grey, the score read from the screen with learned glyphs):

1. Glyphs without typing a label: the scripted driver drives while ``pixelpilot digits learn --telemetry-port``
   grabs the window and labels each frame with the score the game reports.
2. Record: the scripted driver (``games/toplap/driver.py``, XTest keys at 15 fps, a new track every race) drives
   while ``pixelpilot record`` records the window exactly as it records a person.
3. Clone: ``pixelpilot pretrain`` on the recording.
4. Drive: the demonstrator and the clone each drive the same held-out tracks through the window, episodes ended
   by the profile's rules (the race is 3 laps; 6 s without a new checkpoint ends it); laps are counted from the
   game's telemetry, time is the game's own clock. Target: the clone completes at least 80% of the laps the
   demonstrator completes in the same time, and never sits above 90% on one action.

Outputs stay in ``--out`` and are reused on a second run (delete a stage's folder to redo it).

Run: .venv/bin/python benchmarks/toplap_clone.py [--minutes 10] [--races 5]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.envs.launcher import GameProcess, free_port, wait_for_window  # noqa: E402
from benchmarks.recorder import bundled_profile, recorder  # noqa: E402
from benchmarks.screen_loop import machine, publish  # noqa: E402
from control.actions import ACTION_NAMES  # noqa: E402
from games.toplap.sim import TICK_HZ  # noqa: E402

START, END = "<!-- toplap_clone:start -->", "<!-- toplap_clone:end -->"
GLYPH_SEED, RECORD_SEED, EVAL_SEED = 900, 1000, 5000
TARGET_LAPS, TARGET_SHARE = 0.8, 0.9
CLONE = {"model": "cnn-mlp", "frame_stack": 2, "pool": 1, "epochs": 12, "patience": 3}


class Watch:
    """Follows the game's telemetry on a thread: the latest message, laps completed and game time driven."""

    def __init__(self, port: int) -> None:
        from capture.telemetry import TelemetryReceiver

        self.receiver = TelemetryReceiver(port)
        self.latest: dict[str, Any] = {}
        self.laps = 0
        self.lap_ticks: list[int] = []
        self.ticks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.receiver.close()

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            for msg in self.receiver.drain():
                last = self.latest
                if last and msg["episode"] == last["episode"]:
                    self.ticks += max(0, msg["tick"] - last["tick"]) if not msg["done"] else 0
                    if msg["laps_done"] > last["laps_done"]:
                        self.laps += msg["laps_done"] - last["laps_done"]
                        self.lap_ticks.append(int(msg["last_lap_ticks"]))
                self.latest = msg


def profile_text(glyphs: Path | None) -> str:
    """The bundled profile without its launch command (the benchmark starts the game), reading its glyphs from
    ``glyphs``; None: no reward source (before the glyphs are learned)."""
    text = bundled_profile("toplap", glyphs)
    if glyphs is not None:
        return text
    lines = text.splitlines()  # no reward source, and no rule that needs a score
    start, end = lines.index("[reward]"), lines.index("[done]")
    lines[start:end] = ["[reward]", 'source = "none"', ""]
    return "\n".join(line for line in lines if not line.startswith("no_progress_seconds")) + "\n"


@contextlib.contextmanager
def game(seed: int, ports: list[int], view: str = "north") -> Any:
    process = GameProcess([sys.executable, "-m", "games.toplap", "--seed", str(seed), "--track-per-race", "--view",
                           view, *(a for p in ports for a in ("--telemetry-port", str(p)))])  # fmt: skip
    try:
        wait_for_window("TopLap", 30, process)
        yield process
    finally:
        process.stop()


def drive_scripted(profile: Path, watch: Watch, races: int | None, until: threading.Event | None) -> Counter[int]:
    """The scripted driver at the wheel through ``pixelpilot/Screen-v0`` until ``races`` episodes end or
    ``until`` is set; returns its actions."""
    from agent.envs.screen import ScreenEnv
    from games.toplap.driver import TelemetryDriver

    env = ScreenEnv(profile, launch=False, kill_switch=False)
    driver, actions, done = TelemetryDriver(), Counter[int](), 0
    try:
        env.reset()
        while (races is None or done < races) and not (until and until.is_set()):
            action = driver.act(watch.latest)
            actions[action] += 1
            _, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                done += 1
                if races is None or done < races:
                    env.reset()
    finally:
        env.close()
    return actions


def learn_glyphs(out: Path) -> Path:
    glyphs = out / "toplap_digits.npz"
    if glyphs.exists():
        return glyphs
    driver_port, label_port = free_port(), free_port()
    (out / "driver-none.toml").write_text(profile_text(None))
    with game(GLYPH_SEED, [driver_port, label_port]), Watch(driver_port) as watch:
        stop = threading.Event()
        learner = subprocess.Popen([sys.executable, "-m", "agent.cli", "digits", "learn", "--profile",
                                    str(ROOT / "games" / "profiles" / "toplap.toml"), "--telemetry-port",
                                    str(label_port), "--samples", "120", "--timeout", "240", "--keep",
                                    str(out / "glyph-frames"), "--out", str(glyphs)], cwd=ROOT)  # fmt: skip
        failed: list[BaseException] = []

        def driver() -> None:
            try:
                drive_scripted(out / "driver-none.toml", watch, None, stop)
            except BaseException as exc:
                failed.append(exc)
                learner.terminate()

        thread = threading.Thread(target=driver)
        thread.start()
        try:
            code = learner.wait()
        finally:
            stop.set()
            thread.join()
        if failed:
            raise RuntimeError("the scripted driver failed while the glyphs were learned") from failed[0]
        if code != 0:
            raise RuntimeError("digits learn failed")
    return glyphs


def record(out: Path, profile: Path, minutes: float, view: str = "north") -> dict[str, Any]:
    demos, saved = out / "demos", out / "record.json"
    if saved.exists():
        return json.loads(saved.read_text())
    port = free_port()
    with game(RECORD_SEED, [port], view), Watch(port) as watch, recorder(profile, demos, minutes * 60) as recording:
        finished = threading.Event()
        thread = threading.Thread(target=lambda: (recording.wait(), finished.set()))
        thread.start()
        drive_scripted(profile, watch, None, finished)
        thread.join()
        if recording.returncode != 0:
            raise RuntimeError("the recorder failed")
        result = {"laps": watch.laps, "game_minutes": watch.ticks / TICK_HZ / 60}
    saved.write_text(json.dumps(result))
    return result


def clone(out: Path, demos: Path) -> tuple[Path, dict[str, Any]]:
    from agent.demos.pretrain import PretrainArgs, pretrain

    checkpoint, saved = out / "clone" / "checkpoints" / "latest.pt", out / "clone" / "result.json"
    if not saved.exists():
        result = pretrain(PretrainArgs(data=[str(demos)], run_name="clone", runs_dir=str(out), **CLONE))
        fit = {k: v for k, v in dataclasses.asdict(result).items() if k != "checkpoint"}
        saved.write_text(json.dumps(fit))
    return checkpoint, json.loads(saved.read_text())


def drive(out: Path, name: str, profile: Path, races: int, checkpoint: Path | None, view: str) -> dict[str, Any]:
    """``name`` (the scripted driver, or the clone at ``checkpoint``) drives ``races`` held-out races."""
    saved = out / f"drive-{name}.json"
    if saved.exists():
        return json.loads(saved.read_text())
    port = free_port()
    t0 = time.monotonic()
    with game(EVAL_SEED, [port], view), Watch(port) as watch:
        if checkpoint is None:
            actions = drive_scripted(profile, watch, races, None)
            counts = [actions[a] for a in range(len(ACTION_NAMES))]
            returns: list[float] = []
        else:
            from agent.policy.evaluation import evaluate

            evaluation = evaluate(checkpoint, races, profile=str(profile), display=os.environ["DISPLAY"])
            counts = [int(sum(e.actions[a] for e in evaluation.episodes if e.actions is not None))
                      for a in range(len(ACTION_NAMES))]  # fmt: skip
            returns = [float(r) for r in evaluation.returns]
        result = {"laps": watch.laps, "game_minutes": watch.ticks / TICK_HZ / 60, "actions": counts,
                  "lap_ticks": watch.lap_ticks, "returns": returns, "wall_s": time.monotonic() - t0}  # fmt: skip
    saved.write_text(json.dumps(result))
    return result


class OffScreen:
    """TopLap's window pictures drawn off-screen with the window's own calls, as the grabber gives them (BGR)."""

    def __init__(self, view: str) -> None:
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import pygame

        from games.toplap.render import VIEW_H, VIEW_W

        self.view = view
        self.screen = pygame.Surface((VIEW_W, VIEW_H))
        self.world: Any = None

    def new_track(self, race: Any) -> None:
        from games.toplap.render import draw_track

        self.world = draw_track(race.track)

    def frame(self, race: Any) -> Any:
        import numpy as np
        import pygame

        from games.toplap.render import draw_frame

        draw_frame(self.screen, self.world, race.state, race.laps, race.finished, self.view)
        rgb = pygame.surfarray.array3d(self.screen).transpose(1, 0, 2)
        return np.ascontiguousarray(rgb[:, :, ::-1])


def offline_drive(checkpoint: Path, races: int, profile_path: Path | None = None, ticks_per_step: int = 2,
                  view: str = "north") -> dict[str, Any]:  # fmt: skip
    """The clone on the held-out tracks in this process, without a window: the window's pictures drawn off-screen
    with the same calls and made into observations with the profile's grey, ``ticks_per_step`` game ticks per
    decision (the window's 30 ticks/s at the profile's 15 fps). Minutes instead of the window's real time, to
    compare clones; the table's figures come from the window."""
    from types import SimpleNamespace

    import gymnasium as gym
    import numpy as np

    from agent.envs.profile import load_profile
    from agent.policy.pilot import Pilot
    from capture.preprocess import OBS_SHAPE, preprocess
    from control.actions import ACTIONS
    from games.toplap.sim import Race
    from games.toplap.track import generate

    profile = load_profile(profile_path or "toplap")
    done = profile.done  # the profile's rules end a race here as in the window
    assert done.no_progress_seconds is not None and done.max_episode_seconds is not None
    spaces = SimpleNamespace(observation_space=gym.spaces.Box(0, 1, OBS_SHAPE, np.float32),
                             action_space=gym.spaces.Discrete(len(ACTIONS)))  # fmt: skip
    pilot = Pilot(checkpoint, spaces)  # type: ignore[arg-type]
    picture = OffScreen(view)
    counts, laps, ticks = np.zeros(len(ACTIONS), int), 0, 0
    for race_seed in range(EVAL_SEED + 1, EVAL_SEED + 1 + races):
        race, stuck = Race(generate(race_seed), laps=3), 0
        picture.new_track(race)
        pilot.reset()
        while (not race.finished and stuck < done.no_progress_seconds * TICK_HZ
               and race.state.ticks < done.max_episode_seconds * TICK_HZ):  # fmt: skip
            action = pilot.act(preprocess(picture.frame(race), profile.crop, profile.grey))
            counts[action] += 1
            score = race.state.score
            for _ in range(ticks_per_step):
                race.tick(ACTIONS[action])
            stuck = 0 if race.state.score > score else stuck + ticks_per_step
        laps += race.state.laps_done
        ticks += race.state.ticks
    return {"laps": laps, "game_minutes": ticks / TICK_HZ / 60, "actions": counts.tolist()}


def offline_demos(out: Path, profile_path: Path, minutes: float, wobble: float = 0.0, seed: int = 0,
                  view: str = "north") -> Path:  # fmt: skip
    """A dataset like the window's recording, made in this process (for comparing clone settings quickly): the
    scripted driver on the recording's tracks, frames drawn off-screen and stored as the recorder stores them.
    ``wobble``: the chance per step that the driver swerves for 2-5 steps (as a person does, and then corrects)."""
    import numpy as np

    from agent.drive.session import recording
    from agent.envs.profile import load_profile
    from capture.preprocess import to_uint8
    from control.actions import ACTIONS, key_bits
    from games.toplap.driver import LEFT_UP, RIGHT_UP, action
    from games.toplap.sim import Race
    from games.toplap.track import generate

    profile = load_profile(profile_path)
    rng = np.random.default_rng(seed)
    offscreen = OffScreen(view)
    writer = recording(profile, out, 5.0)
    steps, clock, race_seed = 0, 0.0, RECORD_SEED

    def picture(race: Race) -> np.ndarray:
        return to_uint8(offscreen.frame(race), profile.crop, profile.grey)

    try:
        while steps < minutes * 60 * profile.fps:
            race_seed += 1
            race, swerve, swerving = Race(generate(race_seed), laps=3), 0, 0
            offscreen.new_track(race)
            writer.begin(picture(race))
            while not race.finished and steps < minutes * 60 * profile.fps:
                if swerving == 0 and rng.random() < wobble:
                    swerve, swerving = int(rng.choice([LEFT_UP, RIGHT_UP])), int(rng.integers(2, 6))
                chosen = swerve if swerving else action(race.track, race.state)
                swerving = max(0, swerving - 1)
                score = race.state.score
                for _ in range(round(TICK_HZ / profile.fps)):
                    race.tick(ACTIONS[chosen])
                clock += 1 / profile.fps
                steps += 1
                last = race.finished or steps >= minutes * 60 * profile.fps
                writer.step(chosen, float(race.state.score - score), picture(race), clock, key_bits(ACTIONS[chosen]),
                            terminated=race.finished, truncated=last and not race.finished)  # fmt: skip
            clock += 1.0
    finally:
        writer.close()
    return out


def offline(options: argparse.Namespace) -> None:
    """One row of the in-process comparison: data (made here, or a recording), a clone, its drive."""
    from agent.demos.pretrain import PretrainArgs, pretrain

    out = options.out / "offline" / options.offline
    out.mkdir(parents=True, exist_ok=True)
    profile = out / "toplap.toml"
    text = profile_text((options.out / "toplap_digits.npz").resolve())
    if options.crop:
        top, left, height, width = (int(v) for v in options.crop.split(","))
        text = text.replace('grey = "red"\n', f'grey = "red"\ncrop = {{ top = {top}, left = {left}, height = '
                            f"{height}, width = {width} }}\n")  # fmt: skip
    profile.write_text(text)
    data = options.data or out / "data"
    if not data.exists():
        offline_demos(data, profile, options.minutes, options.wobble, view=options.view)
    saved = out / "result.json"
    if not saved.exists():
        settings = {**CLONE, **json.loads(options.pretrain)}
        fit = pretrain(PretrainArgs(data=[str(data)], run_name="clone", runs_dir=str(out), **settings))
        drove = offline_drive(fit.checkpoint, options.races, profile, view=options.view)
        saved.write_text(json.dumps({"settings": settings, "epochs": fit.epochs, "best_epoch": fit.best_epoch,
                                     "val_accuracy": fit.val_accuracy, **drove}))  # fmt: skip
    print(options.offline, saved.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench" / "toplap_clone")
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes of recorded driving (default 10)")
    parser.add_argument("--races", type=int, default=5, help="held-out races per driver (default 5)")
    parser.add_argument("--views", nargs="+", choices=("north", "chase"), default=["north", "chase"],
                        help="the game's views to record, clone and drive (default both)")  # fmt: skip
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--offline", metavar="NAME", help="instead: one clone setting compared in this process, "
                        "cached in OUT/offline/NAME (see --wobble, --view, --crop, --pretrain)")  # fmt: skip
    parser.add_argument("--data", type=Path, help="--offline: clone this recording instead of making one in-process")
    parser.add_argument("--wobble", type=float, default=0.0, help="--offline: the driver's swerve chance per step")
    parser.add_argument("--view", choices=("north", "chase"), default="north", help="--offline: the game's view")
    parser.add_argument("--crop", help="--offline: TOP,LEFT,HEIGHT,WIDTH for the profile (default: none)")
    parser.add_argument("--pretrain", default="{}", help="--offline: pretrain options over the default, as JSON")
    options = parser.parse_args()
    options.out.mkdir(parents=True, exist_ok=True)
    if options.offline:
        offline(options)
        return

    from capture.display import VirtualDesktop

    desktop = VirtualDesktop().start()
    os.environ["DISPLAY"] = desktop.display or ""
    t0 = time.monotonic()
    try:
        glyphs = learn_glyphs(options.out)
        profile = options.out / "toplap.toml"
        profile.write_text(profile_text(glyphs.resolve()))
        runs = {}
        for view in options.views:
            out = options.out / view
            out.mkdir(exist_ok=True)
            recorded = record(out, profile, options.minutes, view)
            checkpoint, fit = clone(out, out / "demos")
            runs[view] = (recorded, fit, drive(out, "scripted", profile, options.races, None, view),
                          drive(out, "clone", profile, options.races, checkpoint, view))  # fmt: skip
    finally:
        desktop.stop()

    def rate(d: dict[str, Any]) -> float:
        return d["laps"] / max(d["game_minutes"], 1e-9)

    def shares(d: dict[str, Any]) -> str:
        total = max(sum(d["actions"]), 1)
        return ", ".join(f"{ACTION_NAMES[a]} {c / total:.0%}" for a, c in enumerate(d["actions"]) if c / total >= 0.01)

    def row(name: str, d: dict[str, Any], demo: dict[str, Any]) -> str:
        lap = sum(d["lap_ticks"]) / len(d["lap_ticks"]) / TICK_HZ if d["lap_ticks"] else None
        mean_lap = "—" if lap is None else f"{lap:.1f} s"
        return (f"| {name} | {d['laps']} | {d['game_minutes']:.1f} | {rate(d):.2f} | "
                f"{rate(d) / max(rate(demo), 1e-9):.0%} | {mean_lap} | {shares(d)} |")  # fmt: skip

    settings = ", ".join(f"{k} {v}" for k, v in CLONE.items())
    lines = [
        "## A game nothing was tuned to: TopLap, cloned from its window (issue 18)",
        "",
        f"`.venv/bin/python benchmarks/toplap_clone.py --minutes {options.minutes:g} --races {options.races} --views "
        f"{' '.join(options.views)}` on {datetime.date.today()}: {machine()}; {(time.monotonic() - t0) / 60:.0f} min "
        "this run (stages reused from an earlier run count 0).",
        "",
        "TopLap (`games/toplap`) is a top-down racer written as a test bed: the view follows a 14x8 px car that "
        "differs from the grey road by hue alone (the seed recipe's channel mean makes it the road's grey; the "
        "profile takes the red channel), WASD + space for turbo, a seven-segment score. Its two views: *north* (the "
        "world stays upright and the car turns: which way it points is a 4x2 px blob in the 200x128 observation) "
        "and *chase* (the world turns, the car always points up). Steps: the score's glyphs learned from frames the "
        "game's telemetry labelled (`pixelpilot digits learn --telemetry-port`, no typed labels); for each view "
        f"{options.minutes:g} minutes of the scripted driver recorded through the window by `pixelpilot record`; a "
        f"clone by `pixelpilot pretrain` ({settings}); then the driver and the clone drive the same "
        f"{options.races} held-out races (3 laps each) through the window, episodes ended by the profile's rules. "
        "Laps and time from the game's telemetry.",
        "",
        "| driver | laps | game minutes | laps per minute | vs the demonstrator | mean lap | actions |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    verdicts = []
    for view, (recorded, fit, demo, bc) in runs.items():
        fitted = f"{fit['epochs']} epochs, val. accuracy {fit['val_accuracy']:.1%}"
        lines += [row(f"{view}: scripted driver ({recorded['laps']} laps recorded)", demo, demo),
                  row(f"{view}: clone ({fitted})", bc, demo)]  # fmt: skip
        ratio, top = rate(bc) / max(rate(demo), 1e-9), max(bc["actions"]) / max(sum(bc["actions"]), 1)
        met = ratio >= TARGET_LAPS and top <= TARGET_SHARE
        verdicts.append(f"{view} **{'met' if met else 'not met'}** ({ratio:.0%} of the laps, top action {top:.0%})")
    lines += [
        "",
        f"Target (at least {TARGET_LAPS:.0%} of the demonstrator's laps in the same time, no action above "
        f"{TARGET_SHARE:.0%}): {'; '.join(verdicts)}.",
    ]
    publish(lines, START, END, write=not options.no_write)


if __name__ == "__main__":
    main()
