"""PPO: its loss against hand-computed values, its minibatches, determinism, learning, checkpoints and the command."""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np
import pytest
import torch

from agent.cli.main import main
from agent.config import ConfigError
from agent.learners import LEARNERS
from agent.learning.rollout import Rollout
from agent.policy.checkpoint import DPPO, PPO, load_checkpoint
from agent.policy.evaluation import evaluate
from agent.ppo.algorithm import clipped_loss, minibatches, train
from agent.ppo.args import DPPOArgs, PPOArgs


def quick(tmp_path, name, **kwargs):
    defaults = dict(env_id="CartPole-v1", num_envs=4, n_steps=16, total_steps=640, eval_every=0, run_name=name,
                    runs_dir=str(tmp_path), progress=False)  # fmt: skip
    return PPOArgs(**{**defaults, **kwargs})


def test_the_clipped_loss_matches_a_hand_computed_batch():
    """Two samples, ratios 1.5 and 0.5, clip 0.2: each policy term takes the pessimistic (clipped) side, the value
    term of the first sample its clipped value (1.2 against a return of 3), and the readings are the estimator's."""
    args = PPOArgs(clip_coef=0.2, value_coef=0.5, entropy_coef=0.01, normalize_advantages=False)
    total, parts = clipped_loss(
        new_log_probs=torch.tensor([math.log(1.5), math.log(0.5)]),
        old_log_probs=torch.zeros(2),
        advantages=torch.tensor([1.0, -1.0]),
        new_values=torch.tensor([2.0, 0.0]),
        old_values=torch.tensor([1.0, 0.0]),
        returns=torch.tensor([3.0, 1.0]),
        entropy=torch.tensor([0.5, 0.7]),
        args=args,
    )
    policy = (-1.2 + 0.8) / 2  # max(-1·1.5, -1·1.2), max(1·0.5, 1·0.8)
    value = (0.5 * 1.8**2 + 0.5 * 1.0**2) / 2  # clipped V = 1 + 0.2; the second sample's V did not move
    assert parts["policy_loss"].item() == pytest.approx(policy)
    assert parts["value_loss"].item() == pytest.approx(value)
    assert parts["entropy"].item() == pytest.approx(0.6)
    assert total.item() == pytest.approx(policy + 0.5 * value - 0.01 * 0.6)
    kl = ((0.5 - math.log(1.5)) + (-0.5 - math.log(0.5))) / 2
    assert parts["approx_kl"].item() == pytest.approx(kl)
    assert parts["clip_fraction"].item() == 1.0
    unclipped = dataclasses.replace(args, clip_vloss=False)
    _, parts = clipped_loss(torch.zeros(2), torch.zeros(2), torch.ones(2), torch.tensor([2.0, 0.0]),
                            torch.tensor([1.0, 0.0]), torch.tensor([3.0, 1.0]), torch.zeros(2), unclipped)  # fmt: skip
    assert parts["value_loss"].item() == pytest.approx((0.5 + 0.5) / 2)


def test_a_clipped_ratio_gives_no_gradient():
    """Past 1 + ε with a positive advantage the objective is flat: a batch cannot push the policy further there."""
    args = PPOArgs(clip_coef=0.2, normalize_advantages=False, value_coef=0.0, entropy_coef=0.0)
    new = torch.tensor([math.log(1.5), math.log(1.1)], requires_grad=True)
    total, _ = clipped_loss(new, torch.zeros(2), torch.ones(2), torch.zeros(2), torch.zeros(2), torch.zeros(2),
                            torch.zeros(2), args)  # fmt: skip
    total.backward()
    assert new.grad is not None
    assert new.grad[0].item() == 0.0
    assert new.grad[1].item() == pytest.approx(-1.1 / 2)  # d/dx of -mean(e^x) at x = log 1.1


def fake_rollout(steps: int, n_envs: int) -> Rollout:
    observations = torch.arange(steps * n_envs, dtype=torch.float32).reshape(steps, n_envs, 1)
    zeros = np.zeros((steps, n_envs))
    state = (torch.arange(n_envs, dtype=torch.float32)[:, None],)
    return Rollout(observations, torch.zeros(steps * n_envs, dtype=torch.long), zeros, zeros, zeros, zeros, state)


def test_feed_forward_minibatches_cover_every_sample_once():
    rollout = fake_rollout(5, 4)
    batches = minibatches(rollout, recurrent=False, count=3, generator=torch.Generator().manual_seed(0))
    assert len(batches) == 3
    index = torch.cat([b.index for b in batches])
    assert sorted(index.tolist()) == list(range(20))
    for batch in batches:  # each sample is the observation at its place in the flattened (T·E) rollout
        assert batch.observations.shape == (1, len(batch.index), 1)
        assert batch.observations[0, :, 0].tolist() == batch.index.float().tolist()
        assert batch.state is None


def test_recurrent_minibatches_are_whole_environments_in_time_order():
    rollout = fake_rollout(5, 4)
    batches = minibatches(rollout, recurrent=True, count=2, generator=torch.Generator().manual_seed(0))
    seen = []
    for batch in batches:
        assert batch.observations.shape == (5, 2, 1)
        envs = batch.observations[0, :, 0].long()  # step 0's observation of environment e is e
        seen += envs.tolist()
        assert batch.state is not None
        assert batch.state[0][:, 0].tolist() == envs.float().tolist()  # the rows of those environments
        flat = batch.observations.reshape(-1)
        assert flat.tolist() == batch.index.float().tolist()  # replay order = the index's order
    assert sorted(seen) == [0, 1, 2, 3]


def test_options_are_checked_when_made():
    with pytest.raises(ConfigError, match="num-minibatches"):
        PPOArgs(num_envs=2, n_steps=2, num_minibatches=5)
    with pytest.raises(ConfigError, match="target-kl"):
        PPOArgs(target_kl=0.0)
    with pytest.raises(ConfigError, match="clip-coef"):
        PPOArgs(clip_coef=0.0)


@pytest.mark.slow
def test_a_fixed_seed_is_deterministic_and_the_checkpoint_round_trips(tmp_path):
    a = train(quick(tmp_path, "a", seed=3))
    b = train(quick(tmp_path, "b", seed=3))
    c = train(quick(tmp_path, "c", seed=4))
    weights = [load_checkpoint(r.run_dir).weights for r in (a, b, c)]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert not all(torch.equal(weights[0][k], weights[2][k]) for k in weights[0])
    checkpoint = load_checkpoint(a.run_dir)
    assert checkpoint.learner == PPO and checkpoint.counters["steps"] == a.steps == 640
    assert checkpoint.trained == "640 steps of PPO"
    model = checkpoint.model()
    assert all(torch.equal(model.state_dict()[k], weights[0][k]) for k in weights[0])
    assert len(evaluate(a.run_dir, 2, 0).episodes) == 2  # evaluate takes it as any checkpoint


@pytest.mark.slow
def test_a_resumed_run_continues_its_counters_and_files(tmp_path):
    first = train(quick(tmp_path, "run", total_steps=320))
    resumed = load_checkpoint(first.run_dir)
    second = train(dataclasses.replace(quick(tmp_path, "run"), total_steps=640), resume=resumed)
    assert second.run_dir == first.run_dir and second.steps == 640
    rows = (first.run_dir / "progress.csv").read_text().splitlines()
    assert rows[0].startswith("wall_s,") and sum(r.startswith("wall_s,") for r in rows) == 1


@pytest.mark.slow
def test_continuous_actions_and_a_recurrent_network_train(tmp_path):
    """Pendulum's Gaussian policy and NeonRace's CNN + LSTM (minibatches of whole environments) both update."""
    result = train(quick(tmp_path, "pendulum", env_id="Pendulum-v1", num_envs=2, n_steps=8, total_steps=32))
    assert result.steps == 32
    result = train(quick(tmp_path, "lstm", env_id="pixelpilot/NeonRace-v0", model="cnn-lstm", pool=2, hidden=32,
                         num_envs=2, n_steps=4, num_minibatches=2, update_epochs=1, total_steps=16))  # fmt: skip
    assert load_checkpoint(result.run_dir).spec.kind == "cnn-lstm"


@pytest.mark.learning
@pytest.mark.slow
def test_ppo_learns_cartpole(tmp_path):
    """RL Zoo's CartPole settings reach a mean of 475 over 10 evaluation episodes well inside 150k steps (about
    50k on this machine); a broken loss, advantage or minibatch does not."""
    args = dataclasses.replace(LEARNERS["ppo"].starting_args("CartPole-v1"), total_steps=150_000, eval_every=10_000,
                               target_return=475, runs_dir=str(tmp_path), run_name="learn", progress=False)  # fmt: skip
    result = train(args)
    assert result.solved is not None, [(p.steps, p.mean) for p in result.curve]


def test_the_command_takes_algo_and_refuses_another_learners_options(tmp_path, capsys):
    assert main(["train", "--algo", "ppo", "--workers", "2"]) == 1
    assert "--workers: not an option of ppo" in capsys.readouterr().err
    assert main(["train", "--algo", "ppo", "--profile", "neonrace"]) == 1
    assert "--algo a3c" in capsys.readouterr().err


@pytest.mark.slow
def test_the_command_trains_and_resumes_with_the_runs_own_learner(tmp_path, capsys):
    run = tmp_path / "p"
    common = ["--runs-dir", str(tmp_path), "--no-progress", "--eval-every", "0", "--num-envs", "2", "--n-steps", "8"]
    assert main(["train", "--algo", "ppo", "--run-name", "p", "--total-steps", "32", *common]) == 0
    assert "# pixelpilot train --algo ppo --config" in (run / "config.toml").read_text()
    assert main(["train", "--resume", str(run), "--total-steps", "64", "--no-progress"]) == 0
    assert load_checkpoint(run).counters["steps"] == 64
    assert main(["train", "--resume", str(run), "--algo", "a3c"]) == 1
    assert "a checkpoint of ppo, which --algo a3c cannot resume" in capsys.readouterr().err


@pytest.mark.slow
def test_dppo_steps_each_environment_in_a_worker_process_and_learns_as_ppo_does(tmp_path, monkeypatch):
    """The same seed trains the same weights as PPO (the workers only move where the environments step), each
    environment steps in a process of its own, none is left after the run, and the checkpoint names DPPO."""
    import gymnasium as gym
    import psutil

    worker_pids: list[int] = []
    made = gym.vector.AsyncVectorEnv.__init__

    def spy(self: gym.vector.AsyncVectorEnv, *args: object, **kwargs: object) -> None:
        made(self, *args, **kwargs)  # type: ignore[arg-type]
        worker_pids.extend(p.pid for p in self.processes)

    monkeypatch.setattr(gym.vector.AsyncVectorEnv, "__init__", spy)
    plain = train(quick(tmp_path, "ppo", seed=5, total_steps=128))
    distributed = train(DPPOArgs(**{**dataclasses.asdict(quick(tmp_path, "dppo", seed=5, total_steps=128))}))
    assert len(worker_pids) == 4 and os.getpid() not in worker_pids
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
                   for pid in worker_pids)  # fmt: skip
    a, b = (load_checkpoint(r.run_dir) for r in (plain, distributed))
    assert b.learner == DPPO and b.trained == "128 steps of DPPO"
    assert all(torch.equal(a.weights[k], b.weights[k]) for k in a.weights)
    assert main(["train", "--resume", str(distributed.run_dir), "--total-steps", "192", "--no-progress"]) == 0
    assert load_checkpoint(distributed.run_dir).learner == DPPO
