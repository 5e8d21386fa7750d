"""Labelled score frames without a person typing numbers: the game's own telemetry says what it drew.

While someone (or a scripted driver) plays, the window is grabbed a few times a second and each grab is
labelled with the score the game reported around it. A grab counts only when the score was the same in the
last message before it and in the first message after it, so a frame caught while the number changes is
never mislabelled. A few frames per number are kept: a long stretch at one score teaches nothing new.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from capture.digits import DigitsError
from capture.grabber import WindowGrabber
from capture.telemetry import TelemetryReceiver, is_number
from capture.timing import Ticker

PER_NUMBER = 4  # frames kept per distinct number
WAIT_FOR_MESSAGE = 1.0  # seconds to wait for the message after a grab before giving the grab up


@dataclass
class LabelledFrames:
    frames: list[np.ndarray] = field(default_factory=list)
    """whole window frames (BGRA)"""
    numbers: list[int] = field(default_factory=list)
    grabs: int = 0
    """grabs taken, kept or not"""
    changing: int = 0
    """grabs dropped because the number changed around them"""


def _number(message: dict[str, Any], key: str) -> int | None:
    """The whole number in ``message[key]``, or None (missing, not a number, not whole)."""
    value = message.get(key)
    return int(value) if is_number(value) and value == int(value) else None


def label_from_telemetry(
    handle: int,
    port: int,
    samples: int,
    timeout: float,
    key: str = "score",
    fps: float = 5.0,
    stop: threading.Event | None = None,
) -> LabelledFrames:
    """Grab window ``handle`` until ``samples`` frames are labelled with telemetry ``key`` (at most
    :data:`PER_NUMBER` per number) or ``timeout`` seconds pass; raises when nothing was heard from the game."""
    if samples < 1 or timeout <= 0 or fps <= 0:
        raise ValueError(f"samples, timeout and fps must be > 0, got {samples}, {timeout}, {fps}")
    result = LabelledFrames()
    per_number: Counter[int] = Counter()
    last: int | None = None
    heard = False
    deadline = time.monotonic() + timeout
    ticker = Ticker(fps)
    with contextlib.closing(TelemetryReceiver(port)) as receiver, WindowGrabber(handle) as grabber:
        while len(result.frames) < samples and time.monotonic() < deadline and not (stop and stop.is_set()):
            ticker.wait()
            for message in receiver.drain():
                heard = True
                last = _number(message, key)
            before = last
            frame = grabber.grab()
            result.grabs += 1
            after = _first_after(receiver, key)
            if after is not None:
                heard, last = True, after
            if before is None or after != before:
                result.changing += before is not None and after is not None
                continue
            if per_number[before] < PER_NUMBER:
                per_number[before] += 1
                result.frames.append(frame)
                result.numbers.append(before)
    if not heard:
        raise DigitsError(
            f"no telemetry with a numeric {key!r} arrived on port {port} in {timeout:g} s: is the game sending to "
            "this port?"
        )
    return result


def _first_after(receiver: TelemetryReceiver, key: str) -> int | None:
    """The number in the first message that arrives after now (None if none within WAIT_FOR_MESSAGE)."""
    end = time.monotonic() + WAIT_FOR_MESSAGE
    while time.monotonic() < end:
        messages = receiver.drain()
        if messages:
            return _number(messages[0], key)
        time.sleep(0.005)
    return None
