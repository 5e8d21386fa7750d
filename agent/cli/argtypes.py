"""argparse types shared by the ``pixelpilot`` subcommands: each turns a bad value into one clear line, and imports
what it checks with only when a value is parsed (building the parser stays fast)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from control.keys import KeyNameError, parse_key

if TYPE_CHECKING:
    from capture.preprocess import Crop


def crop(text: str) -> Crop:
    from capture.preprocess import Crop

    try:
        top, left, height, width = (int(v) for v in text.split(","))
        return Crop(top, left, height, width)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected TOP,LEFT,HEIGHT,WIDTH integers ({exc})") from None


def key(text: str) -> str:
    try:
        return parse_key(text)
    except KeyNameError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    """``kind(text)``, which must be > 0."""

    def check(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value

    return check


def size(text: str) -> tuple[int, int]:
    """WIDTHxHEIGHT, each at least 64."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. 800x500, got {text!r}") from None
    if width < 64 or height < 64:
        raise argparse.ArgumentTypeError(f"the window must be at least 64x64, got {text}")
    return width, height


def track_seed(text: str) -> int:
    from games.neonrace.track import check_seed

    try:
        return check_seed(int(text))
    except ValueError as exc:
        message = str(exc) if text.lstrip("-").isdigit() else f"not an integer: {text!r}"
        raise argparse.ArgumentTypeError(message) from None


def difficulty(text: str) -> str:
    from games.neonrace.track import difficulty as check

    try:
        check(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text
