"""Frame → observation, the one place where pixels become model input.

The recipe is fixed by the design (it is the original system's ``_process_frame``): crop, ``cv2.resize`` to
200x128 with the default bilinear filter on the colour frame, mean over the three colour channels, float32
times 1/255, shape (128, 200, 1). Frames arrive as uint8 with 3 (BGR/RGB) or 4 (BGRA, as mss gives) channels;
alpha is ignored and the channel order does not matter for a mean.

A game profile may weigh the channels otherwise (:class:`Grey`): a small red car on a grey road is 8 grey levels
above the road in the mean and far more in the red channel. Weighted frames are read as BGR(A), the order of
every window frame (mss) and of the raw frames a recording keeps.

Storage (demos, replay) keeps :func:`to_uint8`'s 128x200 uint8 frame; :func:`uint8_to_obs` is the only
conversion from stored frames to model input. It differs from :func:`preprocess` by rounding only
(at most 0.5/255).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from capture.errors import CropError

OBS_HEIGHT = 128
OBS_WIDTH = 200
OBS_SHAPE = (OBS_HEIGHT, OBS_WIDTH, 1)


@dataclass(frozen=True)
class Crop:
    """The part of a window the agent sees, in window pixels."""

    top: int
    left: int
    height: int
    width: int

    def __post_init__(self) -> None:
        for name in ("top", "left", "height", "width"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"crop {name} must be an integer, got {value!r}")
        if self.top < 0 or self.left < 0:
            raise ValueError(f"crop top/left must be >= 0, got top={self.top}, left={self.left}")
        if self.height <= 0 or self.width <= 0:
            raise ValueError(f"crop height/width must be > 0, got height={self.height}, width={self.width}")

    def cut(self, frame: np.ndarray) -> np.ndarray:
        """The part of ``frame`` (rows, columns, ...) this crop covers: a view, no copy."""
        return frame[self.top : self.top + self.height, self.left : self.left + self.width]

    def check_fits(self, height: int, width: int) -> None:
        """Raise a :class:`CropError` if this crop reaches outside a ``height`` x ``width`` window picture."""
        if self.top + self.height > height or self.left + self.width > width:
            raise CropError(
                f"crop (top={self.top}, left={self.left}, height={self.height}, width={self.width}) reaches "
                f"{self.left + self.width} px across and {self.top + self.height} px down: it does not fit the "
                f"{width}x{height} window; make the profile's crop fit inside it"
            )


@dataclass(frozen=True)
class Grey:
    """How colour becomes grey: the weights of red, green and blue (normalised to sum to 1). The default is the
    seed recipe's mean."""

    red: float = 1.0
    green: float = 1.0
    blue: float = 1.0

    def __post_init__(self) -> None:
        weights = (self.red, self.green, self.blue)
        if not all(isinstance(w, int | float) and not isinstance(w, bool) and np.isfinite(w) and w >= 0
                   for w in weights) or sum(weights) <= 0:  # fmt: skip
            raise ValueError(f"grey weights must be numbers >= 0 with a positive sum, got {weights}")

    @property
    def is_mean(self) -> bool:
        return self.red == self.green == self.blue

    def bgr(self) -> np.ndarray:
        """The weights in the order of window frames (blue, green, red), summing to 1."""
        weights = np.array([self.blue, self.green, self.red], np.float64)
        return weights / weights.sum()


GREYS = {
    "mean": Grey(),
    "luma": Grey(0.299, 0.587, 0.114),  # ITU-R BT.601, what cv2's BGR2GRAY computes
    "red": Grey(1, 0, 0),
    "green": Grey(0, 1, 0),
    "blue": Grey(0, 0, 1),
}
"""the grey conversions a profile names (``grey = "luma"``); a table of weights gives any other"""


def _cropped(frame: np.ndarray, crop: Crop | None) -> np.ndarray:
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise ValueError(f"expected a uint8 HxWx3 or HxWx4 frame, got {frame.dtype} {frame.shape}")
    if crop is not None:
        crop.check_fits(frame.shape[0], frame.shape[1])
        frame = crop.cut(frame)
    return frame


def gray_small(frame: np.ndarray, crop: Crop | None = None, grey: Grey | None = None) -> np.ndarray:
    """The recipe's shared first half: crop, resize to 200x128, channel mean (float64, shape (128, 200)), or the
    channels weighted by ``grey`` (a BGR(A) frame).

    Two shortcuts, both bit-identical to the recipe (the transcription test checks it): a BGRA frame is
    resized with its alpha channel and alpha is dropped afterwards (cv2 resizes channels independently, and
    this avoids a slow strided copy); and the channel mean is the integer channel sum divided by 3.0, which
    is what numpy's ``mean(2)`` computes (sums of three uint8 values are exact in float64), at a tenth of
    the cost of numpy's reduction over a short last axis.
    """
    resized = np.asarray(cv2.resize(_cropped(frame, crop), (OBS_WIDTH, OBS_HEIGHT)), np.uint8)  # no copy
    if grey is not None and not grey.is_mean:
        return np.asarray(resized[:, :, :3] @ grey.bgr(), np.float64)
    total = resized[:, :, 0].astype(np.uint16)
    total += resized[:, :, 1]
    total += resized[:, :, 2]
    return total / 3.0


def gray_to_obs(gray: np.ndarray) -> np.ndarray:
    """:func:`gray_small`'s output → the model's float32 observation, shape (128, 200, 1)."""
    obs = gray.astype(np.float32)
    obs *= 1.0 / 255.0
    return obs.reshape(OBS_SHAPE)


def gray_to_uint8(gray: np.ndarray) -> np.ndarray:
    """:func:`gray_small`'s output → the uint8 storage frame, shape (128, 200)."""
    return np.rint(gray).astype(np.uint8)


def preprocess(frame: np.ndarray, crop: Crop | None = None, grey: Grey | None = None) -> np.ndarray:
    """The model's observation: float32 in [0, 1], shape (128, 200, 1)."""
    return gray_to_obs(gray_small(frame, crop, grey))


def to_uint8(frame: np.ndarray, crop: Crop | None = None, grey: Grey | None = None) -> np.ndarray:
    """The storage form of the observation: uint8, shape (128, 200)."""
    return gray_to_uint8(gray_small(frame, crop, grey))


def uint8_to_obs(frames: np.ndarray) -> np.ndarray:
    """Stored uint8 frames (..., 128, 200) → observations (..., 128, 200, 1) float32."""
    if frames.dtype != np.uint8 or frames.shape[-2:] != (OBS_HEIGHT, OBS_WIDTH):
        raise ValueError(f"expected uint8 frames of shape (..., 128, 200), got {frames.dtype} {frames.shape}")
    return levels_to_obs(frames)[..., None]


def obs_to_levels(obs: np.ndarray) -> np.ndarray:
    """Observations of any shape (values in [0, 1]) as the nearest of 256 grey levels, uint8: what storage keeps."""
    return np.rint(np.clip(obs, 0.0, 1.0) * 255.0).astype(np.uint8)


def levels_to_obs(levels: np.ndarray) -> np.ndarray:
    """Grey levels of any shape back as float32 observation values in [0, 1]."""
    obs = levels.astype(np.float32)
    obs *= 1.0 / 255.0
    return obs
