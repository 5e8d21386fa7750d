"""``pixelpilot demos reprocess DATASET --crop ... --out NEW``: a new dataset with the same steps, actions, rewards and
episode boundaries as one recorded with ``--raw-frames``, its frames made from the raw window frames with another
crop."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from agent.demos.dataset import Demos, DemoWriter, load_demos, open_minari
from agent.demos.errors import DemoError
from agent.demos.raw import read_segment
from capture.preprocess import Crop, to_uint8


def reprocess(source: str | Path, out: str | Path, crop: Crop) -> Demos:
    """A new dataset at ``out``: ``source``'s steps with frames made from its raw frames with ``crop``."""
    source = Path(source)
    demos = load_demos(source)  # every check of a readable dataset
    if not demos.meta.get("raw_frames"):
        raise DemoError(f"{source}: recorded without raw frames (pixelpilot record --raw-frames)")
    dataset = open_minari(source)
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
