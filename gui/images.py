"""numpy frames → QImages, made on worker threads.

QImage (unlike QPixmap) may be built off the GUI thread, so scaling and conversion happen where the frame is
grabbed and the GUI thread only turns a small finished image into a pixmap.
"""

from __future__ import annotations

import cv2
import numpy as np
from PyQt5.QtGui import QImage

from capture.preprocess import Crop


def fit(width: int, height: int, max_width: int, max_height: int) -> tuple[int, int]:
    """The largest size with the aspect ratio of ``width`` x ``height`` inside the box (never enlarged)."""
    scale = min(max_width / width, max_height / height, 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))


def owned_image(frame: np.ndarray, image_format: QImage.Format) -> QImage:
    """An HxW or HxWxC frame as a QImage of ``image_format`` that owns its pixels."""
    frame = np.ascontiguousarray(frame)
    height, width = frame.shape[:2]
    # PyQt takes any buffer here; its stubs name bytes only
    return QImage(frame.data, width, height, frame.strides[0], image_format).copy()  # type: ignore[call-overload]


def bgra_image(frame: np.ndarray) -> QImage:
    """An HxWx4 BGRA frame (as mss grabs it) as a QImage that owns its pixels."""
    # Format_RGB32 is 0xffRRGGBB per pixel: B, G, R, A bytes in memory on little-endian machines.
    return owned_image(frame, QImage.Format_RGB32)


def gray_image(frame: np.ndarray, scale: int = 1) -> QImage:
    """A uint8 HxW frame as a grayscale QImage, enlarged ``scale`` times with square pixels."""
    if scale > 1:
        frame = cv2.resize(frame, (frame.shape[1] * scale, frame.shape[0] * scale), interpolation=cv2.INTER_NEAREST)
    return owned_image(frame, QImage.Format_Grayscale8)


def scaled_with_crop(raw: np.ndarray, crop: Crop | None, max_width: int, max_height: int) -> np.ndarray:
    """``raw`` (BGRA) shrunk to fit the box, with the crop's rectangle drawn on it in yellow."""
    height, width = raw.shape[:2]
    size = fit(width, height, max_width, max_height)
    small = cv2.resize(raw, size, interpolation=cv2.INTER_AREA) if size != (width, height) else raw.copy()
    if crop is not None:
        sx, sy = size[0] / width, size[1] / height
        top_left = (round(crop.left * sx), round(crop.top * sy))
        bottom_right = (round((crop.left + crop.width) * sx) - 1, round((crop.top + crop.height) * sy) - 1)
        cv2.rectangle(small, top_left, bottom_right, (0, 230, 255, 255), 2)
    return small
