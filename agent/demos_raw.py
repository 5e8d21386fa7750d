"""Raw window frames beside a dataset, so that it can be re-processed with another crop.

``pixelpilot record --raw-frames`` keeps every captured window frame (before crop and resize) as a JPEG, one
file per segment: ``DATASET/raw/<segment id>.npz`` holding ``jpeg`` (the images' bytes, end to end) and
``ends`` (where each one ends). A segment's file holds its observations' frames (steps + 1) and is written,
atomically, before the segment itself: a crash never leaves a segment without its raw frames. JPEG at quality
95 keeps the file about 30x smaller than the pixels, with errors well below one gray level after the resize.

``pixelpilot demos reprocess DATASET --crop ... --out NEW`` turns them into a new dataset with the same steps,
actions, rewards and episode boundaries, its frames made with the new crop.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from capture.preprocess import Crop, to_uint8

RAW_DIR = "raw"
JPEG_QUALITY = 95


def encode(frame: np.ndarray) -> bytes:
    """A captured BGRA (or BGR) window frame as JPEG bytes."""
    ok, data = cv2.imencode(".jpg", frame[:, :, :3], [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError(f"cannot JPEG-encode a frame of shape {frame.shape}")
    return data.tobytes()


def write_segment(dataset: Path, segment_id: int, images: list[bytes]) -> None:
    folder = dataset / RAW_DIR
    folder.mkdir(exist_ok=True)
    ends = np.cumsum([len(b) for b in images], dtype=np.int64)
    data = np.frombuffer(b"".join(images), np.uint8)
    tmp = folder / f"{segment_id}.tmp.npz"
    np.savez(tmp, jpeg=data, ends=ends)
    os.replace(tmp, folder / f"{segment_id}.npz")


def read_segment(dataset: Path, segment_id: int) -> list[np.ndarray]:
    """The BGR window frames of one segment."""
    from agent.demos import DemoError

    path = dataset / RAW_DIR / f"{segment_id}.npz"
    try:
        with np.load(path, allow_pickle=False) as f:
            data, ends = f["jpeg"], f["ends"]
    except FileNotFoundError:
        raise DemoError(f"{dataset}: segment {segment_id} has no raw frames (recorded without --raw-frames?)") from None
    except (OSError, ValueError, KeyError) as exc:
        raise DemoError(f"{path}: damaged raw frames ({exc})") from None
    starts = np.concatenate([[0], ends[:-1]])
    frames = [cv2.imdecode(data[s:e], cv2.IMREAD_COLOR) for s, e in zip(starts, ends, strict=True)]
    if any(f is None for f in frames):
        raise DemoError(f"{path}: damaged raw frames (a JPEG does not decode)")
    return frames


def reprocess(source: str | Path, out: str | Path, crop: Crop) -> Any:
    """A new dataset at ``out``: ``source``'s steps with frames made from its raw frames with ``crop``."""
    import minari

    from agent.demos import DemoError, DemoWriter, load_demos

    source = Path(source)
    demos = load_demos(source)  # every check of a readable dataset
    if not demos.meta.get("raw_frames"):
        raise DemoError(f"{source}: recorded without raw frames (pixelpilot record --raw-frames)")
    dataset = minari.MinariDataset(source / "data")
    meta = {**demos.meta, "crop": dataclasses.asdict(crop), "raw_frames": False, "reprocessed_from": str(source)}
    writer = DemoWriter(out, demos.n_actions, meta, segment_steps=2**31)
    try:
        ids = range(dataset.storage.total_episodes)
        previous_episode = None
        for seg_meta, ep in zip(dataset.storage.get_episode_metadata(ids), dataset.iterate_episodes(), strict=True):
            n = len(ep.actions)
            kept = int(seg_meta.get("kept_steps", n))
            if kept == 0:
                continue
            raw = read_segment(source, int(seg_meta["id"]))
            frames = [to_uint8(f, crop) for f in raw[: kept + 1]]
            game_episode = seg_meta.get("game_episode", previous_episode)
            writer.begin(frames[0], new_episode=game_episode != previous_episode)
            previous_episode = game_episode
            ends = kept == n and seg_meta.get("episode_end", True)
            for i in range(kept):
                last = ends and i == kept - 1
                idle = bool(ep.infos["idle"][i, 0])
                writer.step(None if idle else int(ep.actions[i]), float(ep.rewards[i]), frames[i + 1],
                            float(ep.infos["time"][i, 0]), int(ep.infos["keys"][i, 0]),
                            terminated=last and bool(ep.terminations[-1]),
                            truncated=last and not bool(ep.terminations[-1]))  # fmt: skip
            if not ends:
                writer.cut()  # the game episode goes on in the next segment (or its end was discarded)
    finally:
        writer.close()
    return load_demos(out)
