"""Recording a dataset of demonstrations, one crash-safe segment at a time (the format, the segments and what a
crash costs: :mod:`agent.demos.dataset`)."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from agent.demos import raw
from agent.demos.dataset import FRAME_SPACE, data_dir
from agent.demos.errors import DemoError

MIN_FREE_BYTES = 200 * 2**20
"""Recording refuses to start with less free disk than this (about 2 hours of lossless frames at 15 fps)."""
DATASET_ID = "pixelpilot/demos-v0"


def _write_json_atomically(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, path)


@dataclass
class _Segment:
    frames: list[np.ndarray]
    actions: list[int] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    keys: list[int] = field(default_factory=list)
    idle: list[int] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    """the window frames of ``frames`` as JPEG (with ``raw_frames`` only; see :mod:`agent.demos.raw`)"""


class DemoWriter:
    """Appends steps to a new dataset, one segment at a time (see the module docstring).

    Use: ``begin(frame)`` at the start of each game episode, then ``step(...)`` with the frame that followed
    each action; ``close()`` writes what is left.
    """

    def __init__(
        self, path: str | Path, n_actions: int, meta: dict[str, Any], segment_steps: int, raw_frames: bool = False
    ) -> None:
        from minari.dataset.minari_storage import MinariStorage

        if segment_steps < 1:
            raise ValueError(f"segment_steps must be at least 1, got {segment_steps}")
        self.path = Path(path)
        if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
            raise DemoError(f"{self.path}: already exists; record into a new folder")
        self._made_folder = not self.path.exists()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            # The claim: exactly one recorder creates the storage folder, also when two start at once.
            data_dir(self.path).mkdir()
            free = shutil.disk_usage(self.path).free
        except FileExistsError:
            raise DemoError(f"{self.path}: already exists; record into a new folder") from None
        except OSError as exc:
            raise DemoError(f"{self.path}: cannot create the dataset folder ({exc.strerror})") from None
        if free < MIN_FREE_BYTES:
            raise DemoError(f"{self.path}: only {free / 2**20:.0f} MiB free on its disk; recording needs 200 MiB")
        if not os.access(self.path, os.W_OK):
            raise DemoError(f"{self.path}: not writable")
        self.storage = MinariStorage.new(
            # Absolute: Minari's size count joins each file it finds onto the folder again, which doubles a
            # relative path ("demo1/data/demo1/data/...") and failed the first segment's write.
            data_dir(self.path.absolute()),
            observation_space=FRAME_SPACE,
            action_space=spaces.Discrete(n_actions),
            data_format="parquet",
            jpeg_encoding=False,
        )
        import minari

        self.storage.update_metadata(
            {
                "dataset_id": DATASET_ID,
                "minari_version": minari.__version__,
                "pixelpilot": meta | {"raw_frames": raw_frames},
            }
        )
        self._backup()
        self._fps = float(meta.get("fps") or 0)
        self.segment_steps = segment_steps
        self.raw_frames = raw_frames
        self.game_episode = -1
        self.segments = 0
        self.steps_written = 0
        self._marked = 0
        self._segment_of_episode = 0
        self._current: _Segment | None = None
        self._written: list[tuple[int, int]] = []  # (segment id, steps) of the current game episode
        self.n_actions = n_actions
        self._segment_actions: dict[int, np.ndarray] = {}  # per written segment: each step's action, -1 idle
        self._segment_kept: dict[int, int] = {}

    def _backup(self) -> None:
        source = data_dir(self.path) / "metadata.json"
        tmp = source.with_name("metadata.json.bak.tmp")
        shutil.copyfile(source, tmp)
        os.replace(tmp, source.with_name("metadata.json.bak"))

    def begin(self, frame: np.ndarray, new_episode: bool = True, raw: np.ndarray | None = None) -> None:
        """Start recording at ``frame`` (``raw``: the window frame it was made from, with ``raw_frames``): a
        new game episode, or (``new_episode=False``) the current one going on after a pause. What is left of
        the previous segment is written first."""
        self.cut()
        if new_episode:
            self.game_episode += 1
            self._segment_of_episode = 0
            self._written = []
        self._current = _Segment([frame], raw=self._raw(raw))

    def _raw(self, frame: np.ndarray | None) -> list[bytes]:
        if not self.raw_frames:
            return []
        if frame is None:
            raise ValueError("this dataset keeps raw frames: pass the window frame too")
        return [raw.encode(frame)]

    def cut(self) -> None:
        """Stop recording for now (a pause): the unwritten steps become a segment."""
        self._flush(ended=False)
        self._current = None

    @property
    def kept_steps(self) -> int:
        """Steps written and not discarded since."""
        return self.steps_written - self._marked

    def step(
        self,
        action: int | None,
        reward: float,
        next_frame: np.ndarray,
        t: float,
        keys: int,
        terminated: bool = False,
        truncated: bool = False,
        raw: np.ndarray | None = None,
    ) -> None:
        """``action`` (None: no action of the table was held) taken at the latest frame, ``reward`` received
        for it, and the frame that followed (``raw``: its window frame); an episode's last step says how it
        ended."""
        seg = self._current
        if seg is None:
            raise RuntimeError("call begin() before step()")
        seg.actions.append(0 if action is None else action)
        seg.idle.append(int(action is None))
        seg.rewards.append(float(reward))
        seg.times.append(t)
        seg.keys.append(keys)
        seg.frames.append(next_frame)
        seg.raw += self._raw(raw)
        if terminated or truncated:
            self._flush(ended=True, terminated=terminated)
            self._current = None
        elif len(seg.actions) >= self.segment_steps:
            last_raw = seg.raw[-1:]  # the next segment starts at this step's frame
            self._flush(ended=False)
            self._current = _Segment([next_frame], raw=last_raw)

    def discard(self, steps: int) -> int:
        """Forget the last ``steps`` steps of the current game episode; returns how many there were."""
        left = steps
        seg = self._current
        if seg is not None and seg.actions:
            n = min(left, len(seg.actions))
            for column in (seg.actions, seg.idle, seg.rewards, seg.times, seg.keys, seg.frames, seg.raw):
                del column[len(column) - n :]
            left -= n
        while left > 0 and self._written:
            segment_id, kept = self._written[-1]
            n = min(left, kept)
            self._mark_kept(segment_id, kept - n)
            self._marked += n
            left -= n
            if kept - n == 0:
                self._written.pop()
            else:
                self._written[-1] = (segment_id, kept - n)
        return steps - left

    def action_counts(self) -> np.ndarray:
        """Kept steps of the written segments per action (idle ones left out): the recording's histogram
        without reading its frames back."""
        counts = np.zeros(self.n_actions, np.int64)
        for segment_id, actions in self._segment_actions.items():
            kept = actions[: self._segment_kept[segment_id]]
            counts += np.bincount(kept[kept >= 0], minlength=self.n_actions)
        return counts

    def _mark_kept(self, segment_id: int, kept: int) -> None:
        self._segment_kept[segment_id] = kept
        path = data_dir(self.path) / str(segment_id) / "metadata.json"
        metadata = json.loads(path.read_text())
        metadata["kept_steps"] = kept
        _write_json_atomically(path, metadata)

    def _flush(self, ended: bool, terminated: bool = False) -> None:
        from minari.data_collector import EpisodeBuffer

        seg = self._current
        if seg is None or not seg.actions:
            return
        n = len(seg.actions)
        terminations = [False] * n
        truncations = [False] * n
        if ended and terminated:
            terminations[-1] = True
        else:
            truncations[-1] = True  # a time limit, the recording's end, or the next segment goes on
        column = lambda values, dtype: np.asarray(values + values[-1:], dtype=dtype)[:, None]  # noqa: E731
        buffer = EpisodeBuffer(
            observations=list(seg.frames),
            actions=list(seg.actions),
            rewards=list(seg.rewards),
            terminations=terminations,
            truncations=truncations,
            infos={
                "time": column(seg.times, np.float64),
                "keys": column(seg.keys, np.int16),
                "idle": column(seg.idle, np.int8),
            },
        )
        segment_id = self.storage.total_episodes
        try:
            if self.raw_frames:  # first: a segment is never without its raw frames
                raw.write_segment(self.path, segment_id, seg.raw)
            self._backup()
            self.storage.update_episodes([buffer])
            _write_json_atomically(
                data_dir(self.path) / str(segment_id) / "metadata.json",
                {
                    "id": segment_id,
                    "total_steps": n,
                    "game_episode": self.game_episode,
                    "segment": self._segment_of_episode,
                    "episode_end": ended,
                },
            )
            self._backup()
        except OSError as exc:  # a full disk, say: what was written stays readable, this segment is lost
            self._current = None  # closing must not try it again
            kept = f" ({self.steps_written / self._fps:.0f} s)" if self._fps else ""
            raise DemoError(f"{self.path}: cannot write segment {segment_id} ({exc.strerror or exc}); the "
                            f"{self.segments} segments written before it{kept} are kept") from None  # fmt: skip
        self._written.append((segment_id, n))
        self._segment_actions[segment_id] = np.where(np.asarray(seg.idle, bool), -1, np.asarray(seg.actions))
        self._segment_kept[segment_id] = n
        self._segment_of_episode += 1
        self.segments += 1
        self.steps_written += n
        seg.frames, seg.actions, seg.rewards, seg.times, seg.keys, seg.idle, seg.raw = [], [], [], [], [], [], []

    def close(self) -> None:
        """Write the unwritten steps (as a truncated segment)."""
        self._flush(ended=True)
        self._current = None

    def remove_if_empty(self) -> bool:
        """After ``close``: when nothing was recorded (the window never opened, say), remove the dataset rather
        than leave an empty one that every later command would refuse."""
        if self.segments:
            return False
        if self._made_folder:
            shutil.rmtree(self.path)
        else:
            shutil.rmtree(data_dir(self.path))
        return True
