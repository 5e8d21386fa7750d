"""Augmentation of cloning batches: a few minutes of driving are a few thousand nearly repeated pictures, and a
network fitted to them learns the pictures rather than the road. Each training window is moved by a few pixels
and its brightness and contrast changed, the same way for all of its frames (so the motion between stacked
frames is what it was); validation frames are never changed."""

from __future__ import annotations

import numpy as np
import torch


def augment(obs: torch.Tensor, shift: int, brightness: float, rng: np.random.Generator) -> torch.Tensor:
    """``obs`` (T, B, H, W, C) in [0, 1] with each window b moved by up to ``shift`` pixels in each direction
    (the edge rows and columns repeated into the gap) and scaled by a gain in [1 - brightness, 1 + brightness]
    about its mean plus an offset of up to ``brightness / 2``; a new tensor."""
    if shift < 0 or not 0 <= brightness < 1:
        raise ValueError(f"shift must be >= 0 and brightness in [0, 1), got {shift} and {brightness}")
    out = obs.clone()
    _, windows, height, width, _ = obs.shape
    for b in range(windows):
        if shift:
            dy, dx = (int(v) for v in rng.integers(-shift, shift + 1, size=2))
            rows = np.clip(np.arange(height) - dy, 0, height - 1)
            cols = np.clip(np.arange(width) - dx, 0, width - 1)
            out[:, b] = obs[:, b][:, rows][:, :, cols]
        if brightness:
            gain = float(rng.uniform(1 - brightness, 1 + brightness))
            offset = float(rng.uniform(-brightness / 2, brightness / 2))
            mean = out[:, b].mean()
            out[:, b] = ((out[:, b] - mean) * gain + mean + offset).clamp(0.0, 1.0)
    return out
