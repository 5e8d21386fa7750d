"""DQN on frames (the CNN Q-network, frames remembered as grey levels) and DQfD (demonstrations in every minibatch,
the large-margin loss, pretraining)."""

import csv
import dataclasses

import numpy as np
import pytest
import torch

from agent.config import ConfigError
from agent.dqn.algorithm import train
from agent.dqn.args import DQNArgs
from agent.dqn.demonstrations import load_demonstrations, margin_loss
from agent.learners import LEARNERS
from agent.learning.replay import ReplayBuffer
from agent.policy.checkpoint import load_checkpoint, load_weights
from models.build import build
from models.spec import ModelSpec, SpecError
from tests.test_demos import expert_frames, write

NEONRACE = "pixelpilot/NeonRace-v0"


def test_the_margin_loss_by_hand():
    q = torch.tensor([[1.0, 2.0, 0.5], [3.0, 2.0, 0.5], [0.0, 0.0, 0.0]])
    shown = torch.tensor([0, 0, 2])
    # max(1.0, 2.8, 1.3) - 1.0 = 1.8; the shown action 0.2 beyond the margin: 0; a tie: the margin, 0.8
    assert margin_loss(q, shown, 0.8).item() == pytest.approx((1.8 + 0.0 + 0.8) / 3)
    assert margin_loss(q[1:2], shown[1:2], 1.0).item() == pytest.approx(0.0)  # 3 >= 2 + 1 exactly


def test_a_cnn_q_network_gives_one_value_per_action_and_the_recurrent_one_is_refused():
    spec = ModelSpec("cnn-mlp", (128, 200, 2), n_actions=7, hidden=32, layers=4, frame_stack=2, pool=2, head="q")
    values = build(spec).q(torch.rand(5, 128, 200, 2))
    assert values.shape == (5, 7)
    dueling = build(dataclasses.replace(spec, head="dueling-q"))
    assert dueling.q(torch.rand(5, 128, 200, 2)).shape == (5, 7)
    with pytest.raises(SpecError, match="head: the q networks are mlp or cnn-mlp"):
        ModelSpec("cnn-lstm", (128, 200, 1), n_actions=7, head="q")


def test_frames_are_remembered_as_grey_levels_within_half_a_level():
    rng = np.random.default_rng(0)
    memory = ReplayBuffer(8, (4, 5, 2), rng, compact=True)
    frames = rng.uniform(size=(3, 4, 5, 2)).astype(np.float32)
    memory.add(frames, np.arange(3), np.ones(3, np.float32), frames[::-1], np.zeros(3, np.float32))
    assert memory.observations.dtype == np.uint8 and memory.observations.nbytes == 8 * 4 * 5 * 2
    batch = memory.sample(16)
    assert batch.observations.dtype == np.float32
    assert np.abs(batch.observations - frames[batch.actions]).max() <= 0.5 / 255 + 1e-7
    assert np.abs(batch.next_observations - frames[::-1][batch.actions]).max() <= 0.5 / 255 + 1e-7


def test_demonstrations_stack_recorded_frames_and_leave_out_steps_with_nothing_after_them(tmp_path):
    frames = [np.full((128, 200), 10 * i, np.uint8) for i in range(7)]
    episodes = [(frames, [2, 3, 2, 4, 2, 6], [float(i) for i in range(6)])]  # terminated at its last step
    write(tmp_path / "ended", episodes, idle_every=3)  # steps 2 and 5 idle
    demos = load_demonstrations([str(tmp_path / "ended")], 7, (128, 200, 2), 2)
    assert demos.steps.tolist() == [0, 1, 3, 4]  # not the idle ones (2, 5)
    batch = demos.sample(64, np.random.default_rng(0))
    assert (batch.indices == -1).all() and (batch.weights == 1).all()
    rows = zip(batch.observations, batch.next_observations, batch.actions, batch.rewards, strict=True)
    for obs, nxt, action, reward in rows:
        step = int(reward)
        assert action == [2, 3, 2, 4, 2][step]
        # the oldest frame first; the stretch's first frame fills the stack before it
        assert np.allclose(obs[0, 0], [10 * max(step - 1, 0) / 255, 10 * step / 255])
        assert np.allclose(nxt[0, 0], [10 * step / 255, 10 * (step + 1) / 255])
    assert batch.terminated.sum() == 0  # the terminated step (5) was idle


def test_a_terminated_step_is_a_transition_and_a_stopped_recordings_last_is_not(tmp_path):
    frames = [np.full((128, 200), i, np.uint8) for i in range(4)]
    write(tmp_path / "d", [(frames, [2, 2, 2], [1.0, 1.0, 1.0])])
    demos = load_demonstrations([str(tmp_path / "d")], 7, (128, 200, 1), 1)
    assert demos.steps.tolist() == [0, 1, 2] and demos.terminated[demos.steps].tolist() == [0, 0, 1]
    from agent.demos.writer import DemoWriter
    from tests.test_demos import META

    writer = DemoWriter(tmp_path / "stopped", 7, META, 10)
    writer.begin(frames[0])
    for i in range(3):
        writer.step(2, 1.0, frames[i + 1], i / 15, 4)
    writer.close()  # stopped mid-episode: no frame after the last step is kept
    stopped = load_demonstrations([str(tmp_path / "stopped")], 7, (128, 200, 1), 1)
    assert stopped.steps.tolist() == [0, 1]


def test_demonstrations_for_another_picture_or_action_table_are_one_line(tmp_path):
    frames = [np.zeros((128, 200), np.uint8)] * 3
    write(tmp_path / "d", [(frames, [2, 2], [1.0, 1.0])])
    with pytest.raises(ConfigError, match=r"demos: recordings hold 128x200 frames; this environment's network sees"):
        load_demonstrations([str(tmp_path / "d")], 7, (4,), 1)
    with pytest.raises(ConfigError, match="recorded with 7 actions"):
        load_demonstrations([str(tmp_path / "d")], 3, (128, 200, 1), 1)
    with pytest.raises(ConfigError, match="demo-pretrain-steps: pretraining learns from demonstrations"):
        DQNArgs(demo_pretrain_steps=10)


@pytest.mark.learning
def test_dqfd_pretraining_learns_the_experts_choices_on_a_track_it_never_saw(tmp_path):
    """Pretraining on a lap of the scripted expert on each of 4 tracks: the greedy policy then agrees with the
    expert on another track more often than the expert's most frequent action does (it sees the picture)."""
    write(tmp_path / "expert", [expert_frames(700, seed=track) for track in range(4)], segment_steps=100)
    args = dataclasses.replace(
        LEARNERS["dqn"].starting_args(NEONRACE), demos=[str(tmp_path / "expert")], demo_pretrain_steps=1000, lr=1e-3,
        total_steps=8, learning_starts=4, buffer_size=64, eval_every=0, start_e=0.0, end_e=0.0,
        runs_dir=str(tmp_path / "runs"), progress=False,
    )  # fmt: skip
    result = train(args)
    checkpoint = load_checkpoint(result.run_dir / "checkpoints" / "latest.pt")
    model = build(checkpoint.spec)
    load_weights(model, checkpoint)
    frames, actions, _ = expert_frames(400, seed=5)
    stacks = np.stack([np.stack([frames[max(i - 1, 0)], frames[i]], axis=-1) for i in range(len(actions))])
    with torch.no_grad():
        chosen = model.q(torch.as_tensor(stacks, dtype=torch.float32) / 255).argmax(dim=1).numpy()
    agreement = float((chosen == np.array(actions)).mean())
    majority = np.bincount(actions).max() / len(actions)
    # measured: 0.55 against the majority's 0.40; a policy blind to the picture agrees at most as often as that
    assert agreement > majority + 0.05, (agreement, majority)
    with (result.run_dir / "progress.csv").open() as f:
        pretrained = [row for row in csv.DictReader(f) if row["demo_agreement"] != "nan"][-1]
    assert float(pretrained["demo_agreement"]) > 0.9  # measured: 0.98 on the demonstrations themselves
    assert result.steps == 8
