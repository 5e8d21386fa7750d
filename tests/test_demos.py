import csv
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import gymnasium as gym
import numpy as np
import pytest
import torch

from agent.a3c.args import Args
from agent.a3c.trainer import train
from agent.cli import main
from agent.demos.dataset import DemoError, join_demos, load_demos
from agent.demos.pretrain import PretrainArgs, pretrain
from agent.demos.writer import DemoWriter
from agent.envs.neonrace import NeonRaceEnv
from agent.policy.checkpoint import load_checkpoint
from games.neonrace.expert import expert_action

META = {"profile": "neonrace", "fps": 15, "actions": ["left", "right", "up", "left+up", "right+up", "down", "up+x"]}


def expert_frames(steps: int, seed: int = 0):
    """(frames uint8, actions, rewards, terminated) of the scripted expert on an in-process track."""
    env = NeonRaceEnv(track_seed=seed, laps=1)
    obs, _ = env.reset()
    frames, actions, rewards = [np.rint(obs[..., 0] * 255).astype(np.uint8)], [], []
    for _ in range(steps):
        action = expert_action(env.game)
        obs, reward, terminated, truncated, _ = env.step(action)
        frames.append(np.rint(obs[..., 0] * 255).astype(np.uint8))
        actions.append(action)
        rewards.append(reward)
        if terminated or truncated:
            break
    env.close()
    return frames, actions, rewards


def write(path, episodes, segment_steps=10, idle_every=0):
    writer = DemoWriter(path, 7, META, segment_steps)
    for frames, actions, rewards in episodes:
        writer.begin(frames[0])
        for i, (action, reward) in enumerate(zip(actions, rewards, strict=True)):
            idle = idle_every and i % idle_every == idle_every - 1
            last = i == len(actions) - 1
            writer.step(None if idle else action, reward, frames[i + 1], i / 15, 4, terminated=last)
    writer.close()
    return writer


@pytest.mark.slow
def test_round_trip_segments_and_episodes(tmp_path):
    first, second = expert_frames(25, seed=1), expert_frames(17, seed=2)
    writer = write(tmp_path / "d", [first, second], segment_steps=10, idle_every=7)
    assert writer.segments == 3 + 2 and writer.kept_steps == 42
    demos = load_demos(tmp_path / "d", n_actions=7)
    assert len(demos.actions) == 42 and demos.segments == 5
    assert list(np.unique(demos.episode)) == [0, 1] and (demos.episode == 0).sum() == 25
    assert demos.ended.sum() == 2 and demos.ended[24] and demos.ended[41]
    assert np.array_equal(demos.frames[0], first[0][0])  # lossless
    assert demos.idle.sum() == 25 // 7 + 17 // 7
    expected = [0 if i % 7 == 6 else a for i, a in enumerate(first[1])] + [
        0 if i % 7 == 6 else a for i, a in enumerate(second[1])
    ]
    assert demos.actions.tolist() == expected
    np.testing.assert_allclose(demos.rewards, np.array(first[2] + second[2], np.float32), rtol=1e-6)
    returns = demos.returns(0.5)
    assert returns[24] == pytest.approx(first[2][-1]) and returns[23] == pytest.approx(
        first[2][-2] + 0.5 * first[2][-1]
    )
    summary = demos.summary()
    assert summary["episodes"] == 2 and summary["frames"] == 42 and summary["duration_s"] == pytest.approx(42 / 15)
    assert sum(summary["actions"].values()) == 42 - demos.idle.sum()

    # The same files are a Minari dataset for any Minari user.
    import minari

    dataset = minari.MinariDataset(tmp_path / "d" / "data")
    assert dataset.total_episodes == 5 and dataset.observation_space.shape == (128, 200)


@pytest.mark.slow
def test_discard_reaches_into_written_segments(tmp_path):
    frames, actions, rewards = expert_frames(30)
    writer = DemoWriter(tmp_path / "d", 7, META, 10)
    writer.begin(frames[0])
    for i in range(25):
        writer.step(actions[i], rewards[i], frames[i + 1], i / 15, 4)
    assert writer.discard(12) == 12  # 5 unwritten + 7 of the second segment
    for i in range(25, 28):
        writer.step(actions[i], rewards[i], frames[i + 1], i / 15, 4)
    writer.close()
    demos = load_demos(tmp_path / "d")
    assert len(demos.actions) == 13 + 3 and demos.discarded == 7
    assert demos.actions.tolist() == actions[:13] + actions[25:28]
    # The histogram the recorder prints is counted as it writes, discards included, without reading frames back.
    assert writer.action_counts().tolist() == np.bincount(demos.actions, minlength=7).tolist()


CRASH_WRITER = """
import sys, time
import numpy as np
from agent.demos.writer import DemoWriter
writer = DemoWriter(sys.argv[1], 7, {"profile": "neonrace", "fps": 15}, 15)
frame = np.zeros((128, 200), np.uint8)
writer.begin(frame)
i = 0
while True:
    frame = np.full((128, 200), i % 255, np.uint8)
    writer.step(i % 7, 1.0, frame, i / 15, 4)
    i += 1
    if i % 15 == 0:
        print(writer.segments, flush=True)
    time.sleep(0.002)
"""


@pytest.mark.slow
def test_a_killed_recorder_leaves_a_dataset_that_opens(tmp_path):
    path = tmp_path / "crash"
    proc = subprocess.Popen([sys.executable, "-c", CRASH_WRITER, str(path)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).parents[1])  # fmt: skip
    try:
        for line in proc.stdout:
            if int(line) >= 6:
                break
        time.sleep(0.013)  # land anywhere in the next segment, writing or not
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    demos = load_demos(path)
    assert len(demos.actions) >= 6 * 15 - 15 and len(demos.actions) % 15 == 0
    assert demos.actions.tolist() == [i % 7 for i in range(len(demos.actions))]


@pytest.mark.slow
def test_sessions_join_with_their_own_episodes(tmp_path):
    write(tmp_path / "a", [expert_frames(12, seed=1), expert_frames(9, seed=2)], segment_steps=5)
    write(tmp_path / "b", [expert_frames(7, seed=3)], segment_steps=5)
    a, b = load_demos(tmp_path / "a"), load_demos(tmp_path / "b")
    joined = join_demos([a, b])
    assert len(joined.actions) == 28 and joined.segments == a.segments + b.segments
    assert joined.episode.tolist() == [0] * 12 + [1] * 9 + [2] * 7
    assert np.array_equal(joined.frames[21:], b.frames) and joined.ended.sum() == 3
    b.meta = {**b.meta, "fps": 30}
    with pytest.raises(DemoError, match="fps 30 differ from"):
        join_demos([a, b])


@pytest.mark.slow
def test_torn_metadata_is_restored_from_its_copy(tmp_path):
    write(tmp_path / "d", [expert_frames(12)], segment_steps=5)
    main_file = tmp_path / "d" / "data" / "metadata.json"
    main_file.write_text(main_file.read_text()[:100])  # a crash in the middle of Minari's in-place rewrite
    assert len(load_demos(tmp_path / "d").actions) == 12


@pytest.mark.slow
def test_bad_datasets_give_clear_errors(tmp_path, capsys):
    with pytest.raises(DemoError, match="no such dataset"):
        load_demos(tmp_path / "missing")
    (tmp_path / "folder").mkdir()
    with pytest.raises(DemoError, match="not a pixelpilot demo dataset"):
        load_demos(tmp_path / "folder")
    write(tmp_path / "d", [expert_frames(12)], segment_steps=5)
    with pytest.raises(DemoError, match=r"recorded with 7 actions .* the model has 8"):
        load_demos(tmp_path / "d", n_actions=8)
    with pytest.raises(DemoError, match="already exists"):
        DemoWriter(tmp_path / "d", 7, META, 5)
    empty = DemoWriter(tmp_path / "empty", 7, META, 5)
    empty.close()
    with pytest.raises(DemoError, match="has no recorded steps"):
        load_demos(tmp_path / "empty")
    assert empty.remove_if_empty() and not (tmp_path / "empty").exists()
    (tmp_path / "given").mkdir()  # a folder the user made stays, empty
    given = DemoWriter(tmp_path / "given", 7, META, 5)
    given.close()
    assert given.remove_if_empty() and list((tmp_path / "given").iterdir()) == []
    other = tmp_path / "other"
    other.mkdir()
    from minari.dataset.minari_storage import MinariStorage

    storage = MinariStorage.new(other / "data", observation_space=gym.spaces.Box(0, 255, (64, 64), np.uint8),
                                action_space=gym.spaces.Discrete(7), data_format="arrow")  # fmt: skip
    storage.update_metadata({"dataset_id": "x/y-v0", "minari_version": "0.5.4", "pixelpilot": {"fps": 15}})
    with pytest.raises(DemoError, match=r"frames are uint8 \(64, 64\)"):
        load_demos(other)
    meta = json.loads((other / "data" / "metadata.json").read_text())
    del meta["pixelpilot"]
    (other / "data" / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(DemoError, match="its Minari metadata has no 'pixelpilot' table"):
        load_demos(other)
    (tmp_path / "foreign" / "data").mkdir(parents=True)
    (tmp_path / "foreign" / "data" / "metadata.json").write_text('{"dataset_id": "a/b-v0", "pixelpilot": {}}')
    assert main(["demos", "info", str(tmp_path / "foreign")]) == 1
    assert capsys.readouterr().err == (
        f"pixelpilot: error: {tmp_path / 'foreign'}: its metadata does not describe its observation and action spaces\n"
    )
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(DemoError, match="cannot create the dataset folder"):
            DemoWriter(locked / "d", 7, META, 5)


@pytest.mark.slow
def test_pretrain_clones_the_expert_into_a_checkpoint_a3c_takes(tmp_path, capsys):
    episodes = [expert_frames(200, seed=s) for s in range(4)]
    write(tmp_path / "d", episodes, segment_steps=75)
    assert main(["demos", "info", str(tmp_path / "d")]) == 0
    assert "episodes 4, frames 800" in capsys.readouterr().out
    assert main(["demos", "view", str(tmp_path / "d"), "--out", str(tmp_path / "sheet.png")]) == 0
    assert (tmp_path / "sheet.png").stat().st_size > 10_000
    # The pixel recipe's network (2 frames averaged 2x2: a tenth of the recurrent default's cost, which took 5 min
    # of a loaded machine here); test_pretrain_starts_the_critic_at_the_mean_return covers the recurrent one.
    args = PretrainArgs(data=[str(tmp_path / "d")], env_id="pixelpilot/NeonRace-v0", model="cnn-mlp", frame_stack=2,
                        pool=2, epochs=18, patience=18, seq_len=8, burn_in=2, batch_windows=4,
                        runs_dir=str(tmp_path / "runs"), run_name="bc", val_block_seconds=4)  # fmt: skip
    result = pretrain(args)
    with (tmp_path / "runs" / "bc" / "progress.csv").open() as file:
        train_loss = [float(row["train_policy_loss"]) for row in csv.DictReader(file)]
    print(f"training policy loss {train_loss[0]:.3f} -> {train_loss[-1]:.3f}; validation accuracy "
          f"{result.val_accuracy:.1%} at epoch {result.best_epoch}")  # fmt: skip
    assert train_loss[-1] < 0.8 * train_loss[0]  # it fits the expert's actions (800 frames are too few to generalise)
    clone = load_checkpoint(tmp_path / "runs" / "bc")
    assert clone.env_id == "pixelpilot/NeonRace-v0" and clone.optimizer is None and clone.is_clone
    # The checkpoint drives the in-process game and fine-tunes with A3C.
    # The options name another network (Args' defaults: the recurrent one on single frames): the clone's is trained.
    ft = Args(env_id="pixelpilot/NeonRace-v0", env_kwargs={"max_episode_steps": 50}, workers=1, total_steps=100,
              eval_every=0, init_from=str(result.checkpoint), runs_dir=str(tmp_path / "runs"), run_name="ft",
              progress=False)  # fmt: skip
    train(ft)
    tuned = load_checkpoint(tmp_path / "runs" / "ft")
    assert tuned.counters["steps"] >= 100 and not tuned.is_clone and tuned.spec == clone.spec
    assert not torch.equal(tuned.weights["policy_head.weight"], clone.weights["policy_head.weight"])


@pytest.mark.slow
def test_pretrain_starts_the_critic_at_the_mean_return(tmp_path):
    """Racing returns sit many standard deviations above 0. A critic starting at 0 made the value loss (in units of
    the targets' variance) tens of times the cross-entropy; its gradients pulled the shared trunk towards that
    constant and the policy stayed at the action prior (15 min of the expert: loss ln 7, epoch after epoch)."""
    rng = np.random.default_rng(0)
    episodes = []
    for _ in range(3):
        frames = list(rng.integers(0, 255, (61, 128, 200), dtype=np.uint8))
        episodes.append((frames, list(rng.integers(0, 7, 60)), list(200.0 + rng.normal(0, 2, 60))))
    write(tmp_path / "d", episodes, segment_steps=30)
    args = PretrainArgs(data=[str(tmp_path / "d")], env_id="pixelpilot/NeonRace-v0", epochs=1,
                        runs_dir=str(tmp_path / "runs"), run_name="bc", val_block_seconds=2)  # fmt: skip
    pretrain(args)
    with (tmp_path / "runs" / "bc" / "progress.csv").open() as file:
        first = next(csv.DictReader(file))
    assert float(first["train_value_loss"]) < 2.0  # 1.1 here; 4.4 with a critic starting at 0


@pytest.mark.slow
def test_raw_frames_reprocess_with_another_crop(tmp_path):
    from agent.demos.reprocess import reprocess
    from capture.preprocess import Crop, to_uint8

    rng = np.random.default_rng(0)
    base = cv2.resize(rng.integers(0, 255, (25, 40, 4), dtype=np.uint8), (320, 200), interpolation=cv2.INTER_CUBIC)
    raws = [np.roll(base, 3 * i, axis=1) for i in range(31)]
    writer = DemoWriter(tmp_path / "d", 7, META, segment_steps=8, raw_frames=True)
    writer.begin(to_uint8(raws[0]), raw=raws[0])
    for i in range(1, 21):
        writer.step(i % 7, 1.0, to_uint8(raws[i]), i / 15, 4, terminated=i == 20, raw=raws[i])
    writer.begin(to_uint8(raws[21]), raw=raws[21])
    for i in range(22, 31):
        writer.step(None if i == 25 else 2, 0.5, to_uint8(raws[i]), i / 15, 4, raw=raws[i])
    writer.discard(3)  # the last 3 steps: written segments are marked, the rest trimmed
    writer.close()
    with pytest.raises(ValueError, match="pass the window frame"):
        DemoWriter(tmp_path / "e", 7, META, 8, raw_frames=True).begin(to_uint8(raws[0]))
    crop = Crop(20, 40, 120, 240)
    assert (
        main(["demos", "reprocess", str(tmp_path / "d"), "--crop", "20,40,120,240", "--out", str(tmp_path / "r")]) == 0
    )
    source, redone = load_demos(tmp_path / "d"), load_demos(tmp_path / "r")
    assert len(redone.actions) == len(source.actions) == 26 and redone.meta["crop"]["width"] == 240
    for column in ("actions", "rewards", "idle", "episode", "ended", "time"):
        assert np.array_equal(getattr(redone, column), getattr(source, column)), column
    kept = raws[0:20] + raws[21:27]  # the frames the kept actions were taken at
    expected = np.stack([to_uint8(r, crop) for r in kept]).astype(float)
    assert np.abs(redone.frames.astype(float) - expected).mean() < 2.0  # JPEG then resize: under 2 gray levels
    with pytest.raises(DemoError, match="recorded without raw frames"):
        reprocess(tmp_path / "r", tmp_path / "rr", crop)


@pytest.mark.slow
def test_a_relative_dataset_path_records_past_its_first_segment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write("demo1", [expert_frames(25, seed=1)], segment_steps=10)
    assert len(load_demos(tmp_path / "demo1", n_actions=7).actions) == 25


@pytest.mark.slow
def test_export_gives_minari_one_episode_per_race_and_keeps_gaps_apart(tmp_path):
    import minari

    from agent.demos.reprocess import export

    first, second = expert_frames(25, seed=1), expert_frames(17, seed=2)
    write(tmp_path / "d", [first, second], segment_steps=10, idle_every=7)  # 3 + 2 segments
    assert minari.MinariDataset(tmp_path / "d" / "data").total_episodes == 5
    exported = export(tmp_path / "d", tmp_path / "races")
    races = minari.MinariDataset(tmp_path / "races" / "data")
    assert races.total_episodes == 2 and [len(e.actions) for e in races.iterate_episodes()] == [25, 17]
    original = load_demos(tmp_path / "d")
    for column in ("actions", "idle", "episode", "ended", "rewards", "time"):
        assert np.array_equal(getattr(exported, column), getattr(original, column)), column
    assert np.array_equal(exported.frames, original.frames)
    assert exported.meta["exported_from"] == str(tmp_path / "d")
    assert main(["demos", "export", str(tmp_path / "d"), "--out", str(tmp_path / "again")]) == 0

    # A race with a gap (seconds forgotten with the discard key) stays two stretches of the same race.
    frames, actions, rewards = expert_frames(30, seed=3)
    writer = DemoWriter(tmp_path / "gap", 7, META, 10)
    writer.begin(frames[0])
    for i in range(20):
        writer.step(actions[i], rewards[i], frames[i + 1], i / 15, 4)
    writer.discard(5)  # reaches into the second written segment
    writer.begin(frames[20], new_episode=False)
    for i in range(20, 30):
        writer.step(actions[i], rewards[i], frames[i + 1], i / 15, 4, terminated=i == 29)
    writer.close()
    stretches = minari.MinariDataset(export(tmp_path / "gap", tmp_path / "gap-races").path / "data")
    assert [len(e.actions) for e in stretches.iterate_episodes()] == [15, 10]
    assert [bool(e.truncations[-1]) for e in stretches.iterate_episodes()] == [True, False]


def test_a_clone_that_answers_the_prior_or_one_action_is_called_blind():
    from agent.demos.pretrain import blindness

    names = ["left", "right", "up"]
    taken = np.array([10, 20, 70])  # the person: up on 70% of the validation steps
    assert blindness(0.85, taken, np.array([12, 18, 70]), names) == []  # reads the picture
    (prior,) = blindness(0.72, taken, np.array([0, 15, 85]), names)
    assert prior.startswith("validation accuracy 72.0% is within 3% of the share of the person's most common "
                            "action (up, 70.0%)")  # fmt: skip
    prior, one = blindness(0.70, taken, np.array([0, 5, 95]), names)
    assert one == "the clone chose up on 95% of the validation frames: it looks blind to the picture"


def test_augmentation_moves_each_window_as_a_whole_and_keeps_values_in_range():
    from agent.demos.augment import augment

    obs = torch.zeros(3, 2, 10, 12, 1)
    obs[:, :, 5, 6] = 1.0  # a dot at the same place in every frame
    obs[1, :, 5, 7] = 0.5  # and one that appears in the second frame only: the motion between frames
    moved = augment(obs, shift=2, brightness=0.0, rng=np.random.default_rng(0))
    for b in range(2):
        dots = [tuple(np.argwhere(moved[t, b, :, :, 0].numpy() == 1.0)[0]) for t in range(3)]
        assert len(set(dots)) == 1 and max(abs(dots[0][0] - 5), abs(dots[0][1] - 6)) <= 2  # one shift per window
        y, x = dots[0]
        assert moved[1, b, y, x + 1, 0] == 0.5  # the second frame's dot kept its place beside the first
    assert torch.equal(augment(obs, 0, 0.0, np.random.default_rng(0)), obs)
    bright = augment(torch.rand(2, 4, 8, 8, 2), shift=0, brightness=0.5, rng=np.random.default_rng(1))
    assert bright.min() >= 0 and bright.max() <= 1
    with pytest.raises(ValueError, match=r"brightness in \[0, 1\), got 2 and 1.5"):
        augment(obs, 2, 1.5, np.random.default_rng(0))


@pytest.mark.slow
def test_a_damaged_segment_costs_only_itself_and_repair_writes_a_clean_copy(tmp_path, caplog):
    write(tmp_path / "d", [expert_frames(12)], segment_steps=5)  # segments of 5, 5 and 2 steps
    whole = load_demos(tmp_path / "d")
    (tmp_path / "d" / "data" / "1" / "part-0.parquet").write_bytes(b"garbage" * 100)
    with caplog.at_level("WARNING"):
        demos = load_demos(tmp_path / "d")
    assert "1 of 3 recorded segments are damaged and left out (segment 1)" in caplog.text
    assert demos.damaged == (1,) and demos.segments == 2 and demos.summary()["damaged_segments"] == [1]
    kept = np.r_[0:5, 10:12]
    assert np.array_equal(demos.frames, whole.frames[kept]) and np.array_equal(demos.actions, whole.actions[kept])
    assert main(["demos", "repair", str(tmp_path / "d"), "--out", str(tmp_path / "fixed")]) == 0
    caplog.clear()
    fixed = load_demos(tmp_path / "fixed")
    assert caplog.text == "" and fixed.damaged == () and fixed.meta["damaged_segments"] == [1]
    assert np.array_equal(fixed.frames, demos.frames) and np.array_equal(fixed.actions, demos.actions)
    for segment in (0, 2):
        (tmp_path / "d" / "data" / str(segment) / "part-0.parquet").write_bytes(b"\x00" * 10)
    with pytest.raises(DemoError, match=r"every recorded segment is damaged \(segments 0, 1, 2\)"):
        load_demos(tmp_path / "d")


def test_opening_a_dataset_never_makes_the_environment_its_metadata_names(tmp_path):
    """Minari finds missing spaces by making the environment the metadata names, importing its entry point."""
    marker = tmp_path / "ran"
    module = tmp_path / "evil_entry.py"
    module.write_text(f"open({str(marker)!r}, 'w').close()\n")
    spec = gym.envs.registration.EnvSpec("Evil-v0", entry_point="evil_entry:Env").to_json()
    data = tmp_path / "evil" / "data"
    data.mkdir(parents=True)
    (data / "metadata.json").write_text(
        json.dumps({"dataset_id": "a/evil-v0", "data_format": "arrow", "env_spec": spec, "pixelpilot": {"fps": 15}})
    )
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(DemoError, match="does not describe its observation and action spaces"):
            load_demos(tmp_path / "evil")
    finally:
        sys.path.remove(str(tmp_path))
    assert not marker.exists()


@pytest.mark.slow
def test_a_full_disk_mid_recording_keeps_every_segment_written_before_it(tmp_path):
    frames, actions, rewards = expert_frames(30)
    writer = DemoWriter(tmp_path / "d", 7, META, segment_steps=5)
    real_update = writer.storage.update_episodes

    def fills_the_disk_at_the_third(buffers):
        if writer.segments == 2:  # half a file, then no space left
            folder = tmp_path / "d" / "data" / "2"
            folder.mkdir()
            (folder / "part-0.parquet").write_bytes(b"PAR1" + bytes(100))
            raise OSError(errno.ENOSPC, "No space left on device")
        real_update(buffers)

    writer.storage.update_episodes = fills_the_disk_at_the_third
    writer.begin(frames[0])
    with pytest.raises(DemoError, match=r"cannot write segment 2 \(No space left on device\); the 2 segments written "
                                        r"before it \(1 s\) are kept"):  # fmt: skip
        for i, (action, reward) in enumerate(zip(actions, rewards, strict=True)):
            writer.step(action, reward, frames[i + 1], i / 15, 4)
    writer.close()  # nothing left to write, and no second error
    demos = load_demos(tmp_path / "d")
    assert len(demos.actions) == 10 and list(demos.actions) == actions[:10]
