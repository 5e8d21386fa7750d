"""New datasets from a recorded one, with the same steps, actions, rewards and race boundaries.

- ``pixelpilot demos reprocess DATASET --crop ... --out NEW``: frames made anew from the raw window frames of a
  recording made with ``--raw-frames``, with another crop.
- ``pixelpilot demos export DATASET --out NEW``: one Minari episode per race, for users of Minari's own API. A
  recording writes a Minari episode every 5 s so that a crash loses at most that much; a 5-minute recording of 15
  races opens in Minari as 72 episodes. The export joins the segments of each race; where a race has a gap (a
  pause, or seconds forgotten with the discard key) its stretches stay separate episodes, the earlier one
  truncated, both with the race's ``game_episode`` in their metadata.
- ``pixelpilot demos repair DATASET --out NEW``: the readable segments of a dataset with damaged ones, as they
  were (the source is never changed: what cannot be read there may still be worth a closer look).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from agent.demos.dataset import Demos, load_demos, open_minari, readable_segments
from agent.demos.errors import DemoError
from agent.demos.raw import read_segment
from agent.demos.writer import DemoWriter
from capture.preprocess import Crop, Grey, to_uint8

Frames = Callable[[dict[str, Any], Any, int], list[np.ndarray]]
"""(segment metadata, Minari episode, kept steps) → the kept steps' frames and the one after them"""


def reprocess(source: str | Path, out: str | Path, crop: Crop) -> Demos:
    """A new dataset at ``out``: ``source``'s steps with frames made from its raw frames with ``crop``."""
    source = Path(source)
    demos = load_demos(source)  # every check of a readable dataset
    if not demos.meta.get("raw_frames"):
        raise DemoError(f"{source}: recorded without raw frames (pixelpilot record --raw-frames)")
    meta = {**demos.meta, "crop": dataclasses.asdict(crop), "raw_frames": False, "reprocessed_from": str(source)}

    grey = Grey(**demos.meta["grey"]) if demos.meta.get("grey") else None  # recorded before profiles chose: mean

    def frames(seg_meta: dict[str, Any], ep: Any, kept: int) -> list[np.ndarray]:
        return [to_uint8(f, crop, grey) for f in read_segment(source, int(seg_meta["id"]))[: kept + 1]]

    return _rewrite(source, out, demos.n_actions, meta, frames, join=False)


def export(source: str | Path, out: str | Path) -> Demos:
    """A new dataset at ``out`` whose Minari episodes are ``source``'s races (stretches without a gap)."""
    source = Path(source)
    demos = load_demos(source)
    meta = {**demos.meta, "raw_frames": False, "segment_seconds": None, "exported_from": str(source),
            "minari_episodes": "one per race; a race with a gap (a pause, a discard) has one per stretch, the same "
            "game_episode in their episode metadata"}  # fmt: skip
    return _rewrite(source, out, demos.n_actions, meta, _stored_frames, True)


def _stored_frames(seg_meta: dict[str, Any], ep: Any, kept: int) -> list[np.ndarray]:
    """The frames a segment stored (its kept steps' and the one after them), as they are."""
    return list(ep.observations[: kept + 1])


def repair(source: str | Path, out: str | Path) -> Demos:
    """A new dataset at ``out`` with ``source``'s readable segments (the damaged ones left out)."""
    source = Path(source)
    demos = load_demos(source)
    meta = {**demos.meta, "raw_frames": False, "repaired_from": str(source), "damaged_segments": list(demos.damaged)}
    return _rewrite(source, out, demos.n_actions, meta, _stored_frames, False)


def _rewrite(
    source: Path, out: str | Path, n_actions: int, meta: dict[str, Any], frames_of: Frames, join: bool
) -> Demos:
    """``source``'s kept steps into a new dataset at ``out``, a segment per source segment, or (``join``) per
    stretch of a race whose segments follow on from each other (each starts at the frame the last one ended on)."""
    dataset = open_minari(source)
    writer = DemoWriter(out, n_actions, meta, segment_steps=2**31)
    try:
        previous_episode = None
        open_end: np.ndarray | None = None  # the last frame of a segment the race went on after
        for seg_meta, ep in readable_segments(dataset, []):  # load_demos has named the damaged ones
            n = len(ep.actions)
            kept = int(seg_meta.get("kept_steps", n))
            if kept == 0:
                open_end = None
                continue
            frames = frames_of(seg_meta, ep, kept)
            game_episode = seg_meta.get("game_episode", previous_episode)
            goes_on = game_episode == previous_episode and open_end is not None and np.array_equal(open_end, frames[0])
            if not (join and goes_on):
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
            open_end = frames[kept] if not ends and kept == n else None
            if not ends and not join:
                writer.cut()  # the game episode goes on in the next segment (or its end was discarded)
    finally:
        writer.close()
    return load_demos(out)
