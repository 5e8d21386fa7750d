"""How recorded frames are stored: Minari's default (arrow, images as JPEG) against what pixelpilot records
(parquet, lossless), on 300 processed 128x200 frames of two games.

Per format: disk per frame, write and read time per frame, the largest and mean change of a pixel, and how much of
a small sprite's contrast survives (a 3x2-pixel patch 15 grey levels darker than the road, as a far rival is).

Run: .venv/bin/python benchmarks/frame_storage.py [--no-write]
"""

from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.screen_loop import machine, publish  # noqa: E402

START, END = "<!-- frame_storage:start -->", "<!-- frame_storage:end -->"
FRAMES = 300
SEGMENT = 75
"""steps per Minari episode, as a 5 s recording segment at 15 fps"""
FORMATS = {"Minari's default: arrow, JPEG": ("arrow", True), "pixelpilot's: parquet, lossless": ("parquet", False)}


def neonrace_frames() -> list[np.ndarray]:
    """The scripted expert driving a held-out NeonRace track, as NeonRace-v0 observes it."""
    import gymnasium as gym

    import agent.envs  # noqa: F401 - registers the environments
    from games.neonrace.expert import expert_action

    env = gym.make("pixelpilot/NeonRace-v0", laps=1, max_episode_steps=FRAMES + 10)
    obs, _ = env.reset(seed=1_000_001)
    frames = [np.rint(obs[..., 0] * 255).astype(np.uint8)]
    while len(frames) <= FRAMES:
        obs, *_ = env.step(expert_action(env.unwrapped.game))
        frames.append(np.rint(obs[..., 0] * 255).astype(np.uint8))
    env.close()
    return frames


def carracing_frames() -> list[np.ndarray]:
    """gymnasium's CarRacing (its textured grass) driven straight ahead, through pixelpilot's preprocessing."""
    import gymnasium as gym

    from capture.preprocess import to_uint8

    env = gym.make("CarRacing-v3", render_mode="rgb_array")
    env.reset(seed=0)
    frames = []
    for t in range(FRAMES + 1):
        env.step(np.array([0.0, 0.5 if t < FRAMES // 2 else 0.2, 0.0]))
        frames.append(to_uint8(env.render()))
    env.close()
    return frames


def stored(frames: list[np.ndarray], data_format: str, jpeg: bool) -> tuple[np.ndarray, float, float, float]:
    """The frames written as Minari episodes and read back; KiB per frame, write and read ms per frame."""
    import gymnasium as gym
    import minari
    from minari.data_collector import EpisodeBuffer
    from minari.dataset.minari_storage import MinariStorage

    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data"
        storage = MinariStorage.new(data, observation_space=gym.spaces.Box(0, 255, frames[0].shape, np.uint8),
                                    action_space=gym.spaces.Discrete(7), data_format=data_format,
                                    jpeg_encoding=jpeg)  # fmt: skip
        storage.update_metadata({"dataset_id": "bench/frames-v0", "minari_version": minari.__version__})
        started = time.perf_counter()
        for i in range(0, FRAMES, SEGMENT):
            n = min(SEGMENT, FRAMES - i)
            storage.update_episodes([EpisodeBuffer(observations=frames[i : i + n + 1], actions=[0] * n,
                                                   rewards=[0.0] * n, terminations=[False] * n,
                                                   truncations=[False] * (n - 1) + [True])])  # fmt: skip
        write_ms = (time.perf_counter() - started) * 1000 / FRAMES
        size = sum(f.stat().st_size for f in data.rglob("*") if f.is_file()) / FRAMES / 1024
        started = time.perf_counter()
        episodes = list(minari.MinariDataset(data).iterate_episodes())
        read_ms = (time.perf_counter() - started) * 1000 / FRAMES
        back = np.concatenate([e.observations[:-1] for e in episodes])
    return back, size, write_ms, read_ms


def with_sprite(frame: np.ndarray) -> np.ndarray:
    """The frame with a 3x2-pixel patch 15 grey levels darker in the middle of the road ahead."""
    out = frame.copy()
    out[84:86, 99:102] = np.clip(out[84:86, 99:102].astype(int) - 15, 0, 255)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only")
    options = parser.parse_args()
    lines = [
        "## Storing frames (issue 18)",
        "",
        f"`.venv/bin/python benchmarks/frame_storage.py` on {datetime.date.today()}: {machine()}. {FRAMES} processed "
        f"128x200 frames per game, written as Minari episodes of {SEGMENT} steps and read back with "
        "`minari.MinariDataset`. Sprite: a 3x2-pixel patch 15 grey levels darker than the road (a far rival), "
        "its contrast after storage.",
        "",
        "| game | storage | KiB per frame | write ms/frame | read ms/frame | largest pixel change | mean change | "
        "sprite contrast kept |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for game, make in (("NeonRace", neonrace_frames), ("CarRacing", carracing_frames)):
        frames = make()
        sprite = [frames[0], with_sprite(frames[0])]
        for name, (data_format, jpeg) in FORMATS.items():
            back, size, write_ms, read_ms = stored(frames, data_format, jpeg)
            change = np.abs(back.astype(int) - np.array(frames[:FRAMES]))
            plain, marked = stored(sprite * (FRAMES // 2), data_format, jpeg)[0][:2].astype(int)
            kept = float((marked - plain)[84:86, 99:102].mean()) / -15
            lines.append(f"| {game} | {name} | {size:.1f} | {write_ms:.2f} | {read_ms:.2f} | {change.max()} | "
                         f"{change.mean():.2f} | {kept:.0%} |")  # fmt: skip
    lines += [
        "",
        "Recordings (`pixelpilot record`) use the lossless parquet storage; `minari.MinariDataset` opens both.",
    ]
    publish(lines, START, END, write=not options.no_write)


if __name__ == "__main__":
    main()
