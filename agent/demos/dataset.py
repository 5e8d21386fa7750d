"""Recorded demonstrations: a Minari dataset (parquet format) of uint8 128x200 frames and action indices. This
module says what a dataset holds and reads it; :mod:`agent.demos.writer` records one.

Frames are stored losslessly (Minari's ``jpeg_encoding`` off, parquet's own compression on): Minari's default
JPEG (quality 75) changed pixels by up to 52 grey levels and lost 23% of the contrast of a 3x2-pixel sprite, and
was larger besides: 5.8 KiB per frame of NeonRace against 1.6 lossless, 2.1 against 1.8 on CarRacing (300
frames each, docs/benchmarks.md "Storing frames").

Layout: ``DATASET/data/`` is a Minari storage (``minari.MinariDataset(DATASET / "data")`` opens it), whose
top-level metadata carries ``pixelpilot``: profile, crop, fps, key map, action table, version.

Crash safety: steps are kept in memory for at most one *segment* (``segment_seconds``, default 5 s) and each
segment is written as one Minari episode. A game episode longer than that spans several segments: they share
``game_episode`` in their episode metadata, and every segment but the last of a game episode ends with a
truncation (the game went on). Killing the recorder loses the unwritten segment. Minari rewrites its top-level
``metadata.json`` in place after every segment; a copy of the last good one is kept beside it
(``metadata.json.bak``, replaced atomically), and opening a dataset whose metadata was torn mid-write restores
it: the segment that was being written is then ignored. A segment whose files are damaged costs only itself:
readers skip it with a warning naming it, keep every readable one, and ``pixelpilot demos repair`` writes a copy
without it.

Per step (Minari ``infos``): ``time`` (seconds since the recording started), ``keys`` (bit mask of the held
logical keys in :data:`control.actions.LOGICAL_KEYS` order) and ``idle`` (1 when no held key combination is an
action of the table, e.g. nothing held: the step is stored with action 0 and skipped by behaviour cloning).
"Discard the last N seconds" trims the unwritten segment and marks already written ones (``kept_steps`` in
their episode metadata); readers of this module honour the mark.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from agent.demos.errors import DemoError
from capture.preprocess import OBS_HEIGHT, OBS_WIDTH, obs_to_levels

FRAME_SPACE = spaces.Box(0, 255, (OBS_HEIGHT, OBS_WIDTH), np.uint8)
"""What a dataset stores per observation (the model's input is this / 255, with a channel axis)."""
log = logging.getLogger(__name__)


def stored_frame(obs: np.ndarray) -> np.ndarray:
    """The newest frame of an observation (H, W, stacked frames; values 0-1) as a dataset stores it."""
    return obs_to_levels(obs[..., -1])


def data_dir(path: Path) -> Path:
    """The Minari storage inside the dataset folder ``path``."""
    return path / "data"


@dataclass
class Demos:
    """Every kept step of a dataset, in recording order."""

    path: Path
    meta: dict[str, Any]
    n_actions: int
    frames: np.ndarray  # uint8 (N, 128, 200)
    actions: np.ndarray  # int64 (N,)
    rewards: np.ndarray  # float32 (N,)
    idle: np.ndarray  # bool (N,)
    episode: np.ndarray  # int64 (N,): the game episode of each step
    time: np.ndarray  # float64 (N,)
    ended: np.ndarray  # bool (N,): the step that ended its game episode
    terminated: np.ndarray  # bool (N,): ended it by the game's own end (not a time limit, nor a stop)
    segments: int
    discarded: int
    damaged: tuple[int, ...] = ()
    """Minari episode ids of the segments that could not be read and were left out"""

    def returns(self, gamma: float) -> np.ndarray:
        """Discounted reward-to-go within each game episode (an unfinished one counts nothing after its end)."""
        out = np.zeros(len(self.rewards), np.float32)
        running = 0.0
        for i in range(len(self.rewards) - 1, -1, -1):
            if i == len(self.rewards) - 1 or self.episode[i + 1] != self.episode[i]:
                running = 0.0
            running = float(self.rewards[i]) + gamma * running
            out[i] = running
        return out

    def summary(self) -> dict[str, Any]:
        fps = float(self.meta.get("fps") or 0) or None
        episodes = np.unique(self.episode)
        returns = [float(self.rewards[self.episode == e].sum()) for e in episodes]
        counts = np.bincount(self.actions[~self.idle], minlength=self.n_actions)
        return {
            "episodes": len(episodes),
            "segments": self.segments,
            "frames": len(self.actions),
            "idle_frames": int(self.idle.sum()),
            "discarded_frames": self.discarded,
            "damaged_segments": list(self.damaged),
            "duration_s": len(self.actions) / fps if fps else None,
            "actions": {name: int(c) for name, c in zip(self.meta.get("actions", []), counts, strict=False)},
            "returns": returns,
            "disk_bytes": sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file()),
        }


def join_demos(parts: list[Demos]) -> Demos:
    """Several recording sessions as one (each keeps its own game episodes); they must share the profile's
    action table and frame rate."""
    first = parts[0]
    for other in parts[1:]:
        for key in ("actions", "fps"):
            if other.meta.get(key) != first.meta.get(key):
                raise DemoError(
                    f"{other.path}: {key} {other.meta.get(key)!r} differ from {first.path}'s {first.meta.get(key)!r}"
                )
    episodes, offset = [], 0
    for part in parts:
        episodes.append(part.episode - part.episode.min() + offset)
        offset = int(episodes[-1].max()) + 1
    columns = ("frames", "actions", "rewards", "idle", "time", "ended", "terminated")
    return Demos(
        path=first.path,
        meta=first.meta,
        n_actions=first.n_actions,
        segments=sum(p.segments for p in parts),
        discarded=sum(p.discarded for p in parts),
        damaged=(),  # segment ids are per dataset: each part named its own when it was loaded
        episode=np.concatenate(episodes),
        **{k: np.concatenate([getattr(p, k) for p in parts]) for k in columns},
    )


def _restore_torn_metadata(data: Path) -> None:
    """Minari's metadata.json is rewritten in place: after a crash mid-write, put back the last good copy."""
    main, backup = data / "metadata.json", data / "metadata.json.bak"
    try:
        json.loads(main.read_text())
        return
    except (OSError, ValueError):
        if not backup.is_file():
            raise DemoError(f"{data.parent}: its metadata is unreadable and there is no backup copy") from None
    shutil.copyfile(backup, main)


def open_minari(path: str | Path) -> Any:
    """The Minari dataset inside a pixelpilot dataset folder (its metadata restored if a crash tore it); a missing
    or foreign folder is a DemoError."""
    import minari

    path = Path(path)
    data = data_dir(path)
    if not path.exists():
        raise DemoError(f"{path}: no such dataset")
    if not (data / "metadata.json").is_file():
        raise DemoError(f"{path}: not a pixelpilot demo dataset (no Minari metadata at {data / 'metadata.json'})")
    _restore_torn_metadata(data)
    metadata = json.loads((data / "metadata.json").read_text())
    if not isinstance(metadata, dict) or not isinstance(metadata.get("pixelpilot"), dict):
        raise DemoError(f"{path}: not a pixelpilot demo dataset (its Minari metadata has no 'pixelpilot' table)")
    if not all(isinstance(metadata.get(k), str) for k in ("observation_space", "action_space")):
        # Without them Minari makes the environment the metadata names (importing its entry point) to find them:
        # a dataset is data, and opening one never runs what it names.
        raise DemoError(f"{path}: its metadata does not describe its observation and action spaces")
    try:
        return minari.MinariDataset(data)
    except Exception as exc:  # Minari raises assertion, key and value errors for foreign metadata
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else f"Minari refused its metadata ({type(exc).__name__})"
        raise DemoError(f"{path}: not a readable Minari dataset ({detail})".split("\n")[0]) from None


def load_demos(path: str | Path, n_actions: int | None = None) -> Demos:
    """Every kept step of the dataset at ``path``; a missing, foreign, empty or damaged one is a DemoError.
    ``n_actions``: the action table the caller will use (a dataset of another table is refused)."""
    path = Path(path)
    dataset = open_minari(path)
    meta = dataset.storage.metadata["pixelpilot"]  # open_minari checked it
    obs_space, act_space = dataset.observation_space, dataset.action_space
    if not (isinstance(obs_space, spaces.Box) and obs_space.shape == FRAME_SPACE.shape and obs_space.dtype == np.uint8):
        raise DemoError(
            f"{path}: frames are {getattr(obs_space, 'dtype', '?')} {getattr(obs_space, 'shape', '?')}; "
            f"pixelpilot learns from uint8 {FRAME_SPACE.shape}"
        )
    if not isinstance(act_space, spaces.Discrete):
        raise DemoError(f"{path}: actions are {act_space}, not an action table's indices")
    if n_actions is not None and int(act_space.n) != n_actions:
        raise DemoError(
            f"{path}: recorded with {act_space.n} actions ({meta.get('actions')}); the model has {n_actions}"
        )
    columns: dict[str, list[np.ndarray]] = {
        k: [] for k in ("frames", "actions", "rewards", "idle", "episode", "time", "ended", "terminated")
    }
    discarded, game_episode = 0, 0
    damaged: list[int] = []
    for seg_meta, ep in readable_segments(dataset, damaged):
        n = len(ep.actions)
        kept = int(seg_meta.get("kept_steps", n))
        discarded += n - kept
        infos = ep.infos
        columns["frames"].append(ep.observations[:kept])
        columns["actions"].append(np.asarray(ep.actions[:kept], np.int64))
        columns["rewards"].append(np.asarray(ep.rewards[:kept], np.float32))
        columns["idle"].append(np.asarray(infos["idle"][:kept, 0], bool))
        columns["time"].append(np.asarray(infos["time"][:kept, 0], np.float64))
        # Missing only on a segment whose writer was killed between Minari's write and ours: it went on with the
        # previous segment's game episode.
        game_episode = int(seg_meta.get("game_episode", game_episode))
        columns["episode"].append(np.full(kept, game_episode, np.int64))
        ended = np.zeros(kept, bool)
        if kept == n and kept and seg_meta.get("episode_end", True):
            ended[-1] = True
        columns["ended"].append(ended)
        columns["terminated"].append(np.asarray(ep.terminations[:kept], bool))
    total = dataset.storage.total_episodes
    if damaged and len(damaged) == total:
        raise DemoError(f"{path}: every recorded segment is damaged ({_ids(damaged)})")
    if damaged:
        log.warning("%s: %d of %d recorded segments are damaged and left out (%s); `pixelpilot demos repair %s "
                    "--out NEW` writes a copy without them",
                    path, len(damaged), total, _ids(damaged), path)  # fmt: skip
    if not columns["actions"] or sum(len(a) for a in columns["actions"]) == 0:
        raise DemoError(f"{path}: the dataset has no recorded steps")
    stacked = {k: np.concatenate(v) for k, v in columns.items()}
    return Demos(
        path=path,
        meta=meta,
        n_actions=int(act_space.n),
        segments=total - len(damaged),
        discarded=discarded,
        damaged=tuple(damaged),
        **stacked,
    )


# What a damaged segment's files raise while read: parquet and arrow errors (ValueErrors and OSErrors), a torn
# JSON file (ValueError), missing columns or fields (KeyError, IndexError), undecodable frames (ValueError).
UNREADABLE = (OSError, ValueError, KeyError, IndexError, TypeError, AssertionError)


def readable_segments(dataset: Any, damaged: list[int]) -> Iterator[tuple[dict[str, Any], Any]]:
    """Each segment of a Minari ``dataset`` that can be read, in order, as (its episode metadata, its episode);
    the id of each one that cannot is added to ``damaged``. Read one at a time, so that one segment's bad file
    costs only that segment (Minari reads a list of episodes as one arrow dataset, which one bad file refuses)."""
    for i in range(dataset.storage.total_episodes):
        try:
            seg_meta = next(iter(dataset.storage.get_episode_metadata([i])))
            episode = next(dataset.iterate_episodes([i]))
        except UNREADABLE:
            damaged.append(i)
            continue
        yield seg_meta, episode


def _ids(ids: list[int]) -> str:
    listed = ", ".join(str(i) for i in ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
    return f"segment{'s' if len(ids) > 1 else ''} {listed}"
