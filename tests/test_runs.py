"""Runs never overwrite each other: a named run that exists is refused, generated names never collide, and a
dataset folder is claimed by exactly one recorder."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from agent.a3c.args import Args
from agent.a3c.trainer import train
from agent.config import ConfigError
from agent.demos.errors import DemoError
from agent.demos.writer import DemoWriter
from agent.runs import free_path, new_run_dir
from tests.test_cli import assert_one_line_error, run


def test_generated_names_never_collide_even_when_started_at_once(tmp_path):
    made: list = []
    threads = [
        threading.Thread(target=lambda: made.append(new_run_dir(tmp_path, None, "same-second"))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(p.name for p in made) == sorted(["same-second", *(f"same-second-{n}" for n in range(2, 9))])
    assert free_path(tmp_path, "same-second") == tmp_path / "same-second-9"


@pytest.mark.slow
def test_a_named_run_that_exists_is_refused_and_unnamed_runs_get_their_own_folders(tmp_path):
    new_run_dir(tmp_path, "mine", "unused")
    with pytest.raises(ConfigError, match="a run of that name exists; resume it"):
        new_run_dir(tmp_path, "mine", "unused")
    args = Args(workers=1, total_steps=100, eval_every=0, runs_dir=str(tmp_path), progress=False)
    first, second = train(args), train(args)  # the same default name, most likely in the same second
    assert first.run_dir != second.run_dir and first.run_dir.parent == second.run_dir.parent == tmp_path
    assert_one_line_error(
        run("train", "--runs-dir", str(tmp_path), "--run-name", "mine", "--total-steps", "100", "--no-progress"),
        "a run of that name exists; resume it (--resume",
    )


def test_a_dataset_folder_is_claimed_by_one_recorder(tmp_path):
    meta = {"fps": 15, "actions": ["a", "b"]}
    first = DemoWriter(tmp_path / "demos", 2, meta, segment_steps=5)
    with pytest.raises(DemoError, match="already exists; record into a new folder"):
        DemoWriter(tmp_path / "demos", 2, meta, segment_steps=5)
    first.begin(np.zeros((128, 200), np.uint8))
    first.close()
