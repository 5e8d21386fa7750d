"""Looking at recorded demonstrations: a contact sheet (PNG) or a video, each frame with its action overlaid."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from agent.config import ConfigError
from agent.demos.dataset import Demos


def _label(frame: np.ndarray, demos: Demos, i: int, scale: int) -> np.ndarray:
    """One stored frame, enlarged ``scale`` times, in colour, with its step, episode and action written on it."""
    names = demos.meta.get("actions") or [str(a) for a in range(demos.n_actions)]
    image = cv2.cvtColor(
        cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST), cv2.COLOR_GRAY2BGR
    )
    action = "(no action)" if demos.idle[i] else names[demos.actions[i]]
    text = f"#{i} ep {demos.episode[i]} {action}"
    cv2.rectangle(image, (0, 0), (image.shape[1], 16 * scale // 2 + 6), (0, 0, 0), -1)
    cv2.putText(image, text, (4, 8 * scale // 2 + 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * scale / 2, (80, 255, 255), 1)
    return image


def contact_sheet(demos: Demos, out: str | Path, columns: int = 6, rows: int = 5, scale: int = 2) -> Path:
    """``columns`` x ``rows`` frames evenly spread over the dataset, in one PNG."""
    picks = np.linspace(0, len(demos.actions) - 1, min(columns * rows, len(demos.actions))).round().astype(int)
    tiles = [_label(demos.frames[i], demos, i, scale) for i in picks]
    blank = np.zeros_like(tiles[0])
    tiles += [blank] * (columns * rows - len(tiles))
    sheet = np.vstack([np.hstack(tiles[r * columns : (r + 1) * columns]) for r in range(rows)])
    return _write_image(sheet, Path(out))


def video(demos: Demos, out: str | Path, scale: int = 2) -> Path:
    """Every kept frame at the recording's fps (MP4 or AVI by the file name)."""
    out = Path(out)
    fps = float(demos.meta.get("fps") or 15.0)
    fourcc = cv2.VideoWriter.fourcc(*("mp4v" if out.suffix.lower() == ".mp4" else "MJPG"))
    first = _label(demos.frames[0], demos, 0, scale)
    writer = cv2.VideoWriter(str(out), fourcc, fps, (first.shape[1], first.shape[0]))
    if not writer.isOpened():
        raise ConfigError(f"{out}: cannot write a video there (use .mp4 or .avi)")
    try:
        for i in range(len(demos.actions)):
            writer.write(_label(demos.frames[i], demos, i, scale))
    finally:
        writer.release()
    return out


def _write_image(image: np.ndarray, out: Path) -> Path:
    if not cv2.imwrite(str(out), image):
        raise ConfigError(f"{out}: cannot write an image there (use .png or .jpg)")
    return out
