"""The demo: run the screen loop on a game window and show what happened.

It opens ``pixelpilot/Screen-v0`` on the profile's game (launching it when needed), holds each action of
the table in turn, and checks through the game's telemetry that the game saw exactly the keys that were
sent. It writes a contact sheet of the processed observations (one per action) and a summary with the
loop's timing.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from agent.screen_env import ScreenEnv
from capture.errors import PixelpilotError
from control.xkeys import pressed


def contact_sheet(frames: list[np.ndarray], labels: list[str]) -> np.ndarray:
    """Processed uint8 frames side by side in rows of four, each with its label underneath."""
    tiles = []
    for frame, label in zip(frames, labels, strict=True):
        tile = np.zeros((frame.shape[0] + 20, frame.shape[1]), np.uint8)
        tile[: frame.shape[0]] = frame
        cv2.putText(tile, label, (4, frame.shape[0] + 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 255, 1, cv2.LINE_AA)
        tiles.append(np.pad(tile, 2))
    while len(tiles) % 4:
        tiles.append(np.zeros_like(tiles[0]))
    return np.vstack([np.hstack(tiles[i : i + 4]) for i in range(0, len(tiles), 4)])


def run_demo(profile: str, out: Path, seconds_per_action: float = 1.0) -> int:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PixelpilotError(f"cannot create {out}: {exc.strerror}") from None
    env = ScreenEnv(profile)
    table = env.profile.actions
    steps = max(2, round(seconds_per_action * env.profile.fps))
    rows, frames, total_reward, failures = [], [], 0.0, 0
    try:
        env.reset()
        print(f"driving {env.profile.window!r}: {table.n} actions, {steps} steps each at {env.profile.fps:g} fps")
        for action, name in enumerate(table.names):
            for _ in range(steps):
                obs, reward, terminated, truncated, info = env.step(action)
                total_reward += reward
                if terminated or truncated:
                    env.reset()
            seen = info["telemetry"].get("held")
            ok = seen is None or set(seen) == set(info["keys"])
            failures += not ok
            sent = "+".join(info["keys"]) or "-"
            shown = "(no key report)" if seen is None else "+".join(seen) or "-"
            rows.append(f"  {action}  {name:9s} sent {sent:10s} game saw {shown:10s} {'ok' if ok else 'MISMATCH'}")
            print(rows[-1], flush=True)
            frames.append((obs[:, :, 0] * 255).round().astype(np.uint8))
    finally:
        timing = env.timing.summary()
        fps = env.frames.fps() if env.frames else 0.0
        counters = {**(env.frames.stats.counters if env.frames else {})}
        managed = env.keyboard.managed if env.keyboard else frozenset()
        env.close()
    stuck = pressed(managed)
    sheet = out / "observations.png"
    cv2.imwrite(str(sheet), contact_sheet(frames, list(table.names)))
    lines = [
        *rows,
        f"reward {total_reward:g} over {len(rows) * steps} steps; achieved {fps:.1f} fps "
        f"(target {env.profile.fps:g}); dropped {counters.get('dropped', 0)}, "
        f"overruns {counters.get('overruns', 0)}",
        *(f"  {name:10s} p50 {t['p50']:6.2f} ms   p99 {t['p99']:6.2f} ms" for name, t in timing.items()),
        f"observations: {sheet}",
        f"keys still held by the X server after closing: {', '.join(sorted(stuck)) or 'none'}",
        f"{failures} action(s) did not reach the game" if failures else "every action reached the game",
    ]
    summary = "\n".join(lines[len(rows) :])
    (out / "summary.txt").write_text("\n".join(lines) + "\n")
    print(summary)
    return 1 if failures or stuck else 0
