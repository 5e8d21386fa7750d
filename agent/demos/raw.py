"""Raw window frames beside a dataset, so that it can be re-processed with another crop.

``pixelpilot record --raw-frames`` keeps every captured window frame (before crop and resize) as a JPEG, one
file per segment: ``DATASET/raw/<segment id>.npz`` holding ``jpeg`` (the images' bytes, end to end) and
``ends`` (where each one ends). A segment's file holds its observations' frames (steps + 1) and is written,
atomically, before the segment itself: a crash never leaves a segment without its raw frames. JPEG at quality
95 keeps the file about 30x smaller than the pixels, with errors well below one gray level after the resize.

``pixelpilot demos reprocess`` (:mod:`agent.demos.reprocess`) turns them into a new dataset with another crop.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from agent.demos.errors import DemoError

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
    path = dataset / RAW_DIR / f"{segment_id}.npz"
    try:
        with np.load(path, allow_pickle=False) as f:
            data, ends = f["jpeg"], f["ends"]
    except FileNotFoundError:
        raise DemoError(f"{dataset}: segment {segment_id} has no raw frames (recorded without --raw-frames?)") from None
    except (OSError, ValueError, KeyError) as exc:
        raise DemoError(f"{path}: damaged raw frames ({exc})") from None
    starts = np.concatenate([[0], ends[:-1]])
    frames = []
    for s, e in zip(starts, ends, strict=True):
        frame = cv2.imdecode(data[s:e], cv2.IMREAD_COLOR)
        if frame is None:
            raise DemoError(f"{path}: damaged raw frames (a JPEG does not decode)")
        frames.append(np.asarray(frame))
    return frames
