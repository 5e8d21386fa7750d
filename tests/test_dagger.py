"""DAgger with the scripted expert, cloning on stacked frames, and learning from a person's corrections."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from agent.cli import main
from agent.config import ConfigError
from agent.demos.corrections import learn_from_corrections, pilot_demos
from agent.demos.dagger import TRACKS
from agent.demos.dataset import load_demos
from agent.demos.pretrain import PretrainArgs, pretrain, stacked, stretch_starts
from agent.envs.neonrace import NeonRaceEnv
from agent.envs.wrappers import FrameStack
from agent.policy.checkpoint import load_checkpoint
from games.neonrace.expert import expert_action
from tests.test_demos import expert_frames, write

pytestmark = pytest.mark.slow  # clones trained, the game driven


def test_stacked_frames_match_the_frame_stack_of_training_and_play():
    """Two stretches (an end after step 2): each step's stack is what FrameStack gives over its own stretch."""
    frames = np.arange(6, dtype=np.uint8)[:, None, None] * np.ones((1, 128, 200), np.uint8)
    ends = np.array([False, False, True, False, False, True])
    first = stretch_starts(ends)
    assert first.tolist() == [0, 0, 0, 3, 3, 3]
    got = stacked(frames, np.arange(6), first, 3)[..., 0, 0, :] * 255  # (steps, 3 frames): the frame numbers
    expected = []
    for start, stop in ((0, 3), (3, 6)):
        stack = FrameStack(3)
        obs = [frames[i][..., None].astype(np.float32) for i in range(start, stop)]
        expected += [stack.start(obs[0])] + [stack.push(o) for o in obs[1:]]
    assert np.array_equal(np.rint(got), np.stack(expected)[..., 0, 0, :])
    assert np.rint(got).tolist()[3:] == [[3, 3, 3], [3, 3, 4], [3, 4, 5]]


def test_a_stacked_clone_is_built_for_and_drives_two_frames(tmp_path):
    write(tmp_path / "d", [expert_frames(120, seed=s) for s in range(3)], segment_steps=40)
    args = PretrainArgs(data=[str(tmp_path / "d")], env_id="pixelpilot/NeonRace-v0", model="cnn-mlp", frame_stack=2,
                        pool=2, epochs=1, burn_in=0, runs_dir=str(tmp_path), run_name="bc",
                        val_block_seconds=4)  # fmt: skip
    clone = load_checkpoint(pretrain(args).checkpoint)
    assert clone.spec.kind == "cnn-mlp" and clone.spec.frame_stack == 2 and clone.spec.pool == 2
    assert clone.spec.observation_shape == (128, 200, 2)
    assert main(["evaluate", "--checkpoint", str(clone.path), "--episodes", "1", "--env-kwarg",
                 "max_episode_steps=20"]) == 0  # fmt: skip


def test_dagger_labels_the_clones_own_states_with_the_expert(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["dagger", "--rounds", "1", "--episodes-per-round", "2", "--envs", "2", "--eval-episodes", "2",
                 "--epochs", "1", "--env-kwargs", "max_episode_steps=60", "--val-block-seconds", "2",
                 "--runs-dir", str(runs), "--run-name", "d"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "round 0: 120 steps labelled" in out and "round 1: 120 steps labelled (240 in all)" in out
    with (runs / "d" / "progress.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert [row["round"] for row in rows] == ["0", "1"] and [row["beta"] for row in rows] == ["1", "0.5"]
    assert rows[0]["agreement"] == "" and 0 <= float(rows[1]["agreement"]) <= 1
    assert len(rows[1]["action_shares"].split()) == 7
    assert load_checkpoint(runs / "d").is_clone

    # Each stored frame carries the expert's action in that very state: round 0's first step is the first race's
    # standing start, labelled as the expert labels it there.
    data = load_demos(runs / "d" / "rounds" / "00-data")
    env = NeonRaceEnv(laps=1)
    obs, _ = env.reset(seed=TRACKS + 1_000_000)  # seed 1, round 0, race 0
    assert np.array_equal(data.frames[0], np.rint(obs[..., 0] * 255).astype(np.uint8))
    assert data.actions[0] == expert_action(env.game)
    assert data.meta["beta"] == 1.0 and load_demos(runs / "d" / "rounds" / "01-data").meta["beta"] == 0.5
    # Round 1 went on from round 0's clone: its run started from those weights.
    started = load_checkpoint(runs / "d" / "rounds" / "01-clone").config["init_from"]
    assert started.endswith("00-clone/checkpoints/latest.pt")


def test_corrections_retrain_the_pilot_with_the_demonstrations_it_was_cloned_from(tmp_path):
    write(tmp_path / "demos", [expert_frames(60, seed=s) for s in range(2)], segment_steps=30)
    args = PretrainArgs(data=[str(tmp_path / "demos")], env_id="pixelpilot/NeonRace-v0", epochs=1,
                        runs_dir=str(tmp_path), run_name="pilot", val_block_seconds=2)  # fmt: skip
    pilot = pretrain(args).checkpoint
    assert pilot_demos(pilot) == [str(tmp_path / "demos")]
    write(tmp_path / "fixes", [expert_frames(40, seed=9)], segment_steps=20)
    lines: list[str] = []
    result = learn_from_corrections(pilot, [tmp_path / "fixes"], tmp_path, "fixed", epochs=1, status=lines.append)
    assert lines[0] == "retraining latest.pt on 1 correction(s) and its 1 demonstration(s)"
    fixed = load_checkpoint(result.checkpoint)
    assert fixed.config["data"] == [str(tmp_path / "demos"), str(tmp_path / "fixes")]
    assert fixed.spec == load_checkpoint(pilot).spec and fixed.env_id == "pixelpilot/NeonRace-v0"
    with pytest.raises(ConfigError, match="no corrections"):
        learn_from_corrections(pilot, [], tmp_path)
