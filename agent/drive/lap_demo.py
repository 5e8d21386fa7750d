"""The demo: a driver races a lap of NeonRace in its real window, through the screen loop.

``pixelpilot/Screen-v0`` launches the game window, captures it and sends keys at the profile's rate. The
driver is the shipped pilot (``models/pretrained/neonrace-pilot.pt``), which sees only the captured frames, or
any other checkpoint, or the scripted expert, which needs the game's internal state: it follows the window's
game through its telemetry (:mod:`games.neonrace.mirror`). Out come a video of the lap and a summary with the
score, the lap time and the loop's timing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import cv2
import numpy as np

from agent.envs.screen import ScreenEnv
from agent.policy.pilot import Pilot
from capture.errors import PixelpilotError
from control.xkeys import pressed
from games.neonrace.mirror import MirroredExpert

SHIPPED_PILOT = Path(str(files("models").joinpath("pretrained", "neonrace-pilot.pt")))
"""the pilot pixelpilot ships (package data of ``models``)"""


def run_demo(profile: str, out: Path, max_seconds: float = 120.0, checkpoint: Path | None = SHIPPED_PILOT) -> int:
    """Race one lap with ``checkpoint``'s pilot (None: the scripted expert)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PixelpilotError(f"cannot create {out}: {exc.strerror}") from None
    env = ScreenEnv(profile, render_mode="rgb_array")
    expert: MirroredExpert | None = None  # the expert follows the game's state; a pilot needs none
    decide: Callable[[np.ndarray], int]
    if checkpoint is not None:
        pilot = Pilot(checkpoint, env)
        decide = pilot.act
        driver = f"the pilot {checkpoint} ({pilot.training}; it sees only the captured frames)"
    else:
        expert = MirroredExpert()
        decide = expert.act
        driver = "the scripted expert (reads the game state through telemetry)"
    video_path = out / "lap.mp4"
    writer: cv2.VideoWriter | None = None
    decide_ms: list[float] = []
    steps, total_reward, telemetry = 0, 0.0, {}
    try:
        obs, info = env.reset()
        if expert is not None:
            expert.feed(info)
        print(f"racing {env.profile.window!r} with {driver}")
        started = time.monotonic()
        while time.monotonic() - started < max_seconds:
            t0 = time.perf_counter()
            action = decide(obs)
            decide_ms.append((time.perf_counter() - t0) * 1000.0)
            obs, reward, terminated, truncated, info = env.step(action)
            if expert is not None:
                expert.feed(info)
            total_reward += reward
            steps += 1
            rendered = env.render()
            assert rendered is not None  # made with render_mode="rgb_array"
            frame = np.ascontiguousarray(rendered[:, :, ::-1])
            if writer is None:
                size = (frame.shape[1], frame.shape[0])
                writer = cv2.VideoWriter(str(video_path), cv2.VideoWriter.fourcc(*"mp4v"), env.profile.fps, size)
            writer.write(frame)
            telemetry = info["telemetry"]
            if telemetry.get("last_lap_time") is not None or terminated or truncated:
                break
    finally:
        timing = env.timing.summary()
        fps = env.frames.fps() if env.frames else 0.0
        counters = dict(env.frames.stats.counters) if env.frames else {}
        managed = env.keyboard.managed if env.keyboard else frozenset()
        env.close()
        if writer is not None:
            writer.release()
    stuck = pressed(managed)
    lap_time = telemetry.get("last_lap_time")
    p50, p99 = np.percentile(decide_ms, [50, 99]) if decide_ms else (0.0, 0.0)
    labels = {"agent_ms": "turn (obs → keys)", "send_ms": "key send", "capture_ms": "capture (tick → frame)"}
    lines = [
        f"driver: {driver}",
        f"lap time {lap_time:.1f} s" if lap_time is not None else "the lap was not finished",
        f"score {telemetry.get('score')}, crashes {telemetry.get('crashes')}, "
        f"reward {total_reward:g} over {steps} steps",
        f"achieved {fps:.1f} fps (target {env.profile.fps:g}): {counters.get('overruns', 0)} of {steps} steps "
        f"overran the {1000 / env.profile.fps:.1f} ms period, {counters.get('dropped', 0)} frames dropped",
        f"latency (ms)             {'p50':>7s} {'p99':>7s}",
        f"  {'decision (the pilot)':22s} {p50:7.2f} {p99:7.2f}",
        *(f"  {labels[name]:22s} {t['p50']:7.2f} {t['p99']:7.2f}" for name, t in timing.items() if name in labels),
        "  (decision: the pilot's forward pass; turn: from the observation to the keys, the decision and the "
        "video frame this demo writes; capture: from the step's tick to the processed frame)",
        f"video: {video_path}",
        f"keys still held by the X server after closing: {', '.join(sorted(stuck)) or 'none'}",
    ]
    (out / "summary.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if lap_time is not None and not stuck else 1
