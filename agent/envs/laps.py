"""Laps from what a racing environment reports: ``pixelpilot/NeonRace-v0``'s info, or the game's telemetry in a
screen environment's ``info["telemetry"]``. Environments that report no laps (CartPole, a game read from its
score digits) give None, and reports leave the lap columns out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def race_fields(info: dict[str, Any]) -> dict[str, Any]:
    """The fields that describe the race: the telemetry of a screen env, else the info itself."""
    telemetry = info.get("telemetry")
    return telemetry if isinstance(telemetry, dict) else info


def laps_done(info: dict[str, Any]) -> int | None:
    """Laps completed by the time of ``info`` (the game counts the lap being driven, from 1)."""
    fields = race_fields(info)
    if "lap" not in fields:
        return None
    return int(fields["lap"]) - 1 + int(bool(fields.get("finished", False)))


def last_lap_time(info: dict[str, Any]) -> float | None:
    """Seconds of the most recently completed lap (None before the first one)."""
    value = race_fields(info).get("last_lap_time")
    return None if value is None else float(value)


def lap_completion(final_infos: Sequence[dict[str, Any]]) -> float | None:
    """The share of episodes (given their last info) that completed at least one lap."""
    done = [laps_done(info) for info in final_infos]
    if not done or any(d is None for d in done):
        return None
    return sum(d >= 1 for d in done if d is not None) / len(done)
