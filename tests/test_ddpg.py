"""DDPG: the deterministic actor-critic, the TD targets and the two updates against hand-computed values; learning;
checkpoints and the command."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest
import torch

from agent.cli.main import main
from agent.ddpg.algorithm import actor_loss, critic_loss, explore, make_optimizer, step, td_targets, train
from agent.ddpg.args import DDPGArgs
from agent.learners import LEARNERS
from agent.learning.replay import Minibatch, ReplayBuffer
from agent.policy.checkpoint import DDPG, load_checkpoint
from models.build import build
from models.deterministic import DeterministicActorCritic
from models.spec import ModelSpec, SpecError, spec_for


def pendulum_model(seed: int = 0) -> DeterministicActorCritic:
    env = gym.make("Pendulum-v1")
    torch.manual_seed(seed)
    model = build(spec_for(env.observation_space, env.action_space, "mlp", hidden=16, head="deterministic"))
    assert isinstance(model, DeterministicActorCritic)
    return model


def batch_of(rewards: list[float], terminated: list[float], seed: int = 0) -> Minibatch:
    rng = np.random.default_rng(seed)
    n = len(rewards)
    return Minibatch(rng.normal(size=(n, 3)).astype(np.float32), rng.uniform(-2, 2, (n, 1)).astype(np.float32),
                     np.array(rewards, np.float32), rng.normal(size=(n, 3)).astype(np.float32),
                     np.array(terminated, np.float32), np.arange(n), np.ones(n, np.float32))  # fmt: skip


class FixedCritic:
    """Stands for target networks whose actor always picks 0.5 and whose critic values anything at 3."""

    def mu(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.full((len(obs), 1), 0.5)

    def q(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        assert torch.all(actions == 0.5)  # the target critic values the target actor's action
        return torch.full((len(obs),), 3.0)


def test_the_td_target_bootstraps_from_the_target_networks_unless_the_episode_terminated():
    """r = 1, γ = 0.5, Q'(s', μ'(s')) = 3: 1 + 0.5·3 = 2.5; after a termination, 1."""
    targets = td_targets(FixedCritic(), batch_of([1.0, 1.0], [0.0, 1.0]), 0.5)  # type: ignore[arg-type]
    assert targets.tolist() == [2.5, 1.0]


def test_the_policy_acts_with_the_actor_inside_the_bounds_and_is_valued_by_the_critic():
    model = pendulum_model()
    obs = torch.randn(6, 3) * 10
    decision = model.act(obs, greedy=True)
    mu = model.mu(obs)
    assert torch.equal(decision.action, mu) and torch.all(mu.abs() <= 2.0)
    assert torch.allclose(decision.value, model.q(obs, mu))
    drawn = model.act(obs, generator=torch.Generator().manual_seed(0)).action
    assert torch.allclose(drawn, mu, atol=1e-4)  # a point: any draw is the actor's action
    spec = model.spec
    assert ModelSpec.from_dict(spec.to_dict()) == spec and spec.to_dict()["head"] == "deterministic"
    with pytest.raises(SpecError, match="continuous"):
        dataclasses.replace(spec, n_actions=2, action_low=None, action_high=None)


def test_exploration_is_random_first_then_the_actor_plus_bounded_noise():
    model = pendulum_model()
    obs = np.random.default_rng(1).normal(size=(500, 3)).astype(np.float32)
    rng = np.random.default_rng(0)
    random = explore(model, obs, 0.1, rng, random=True)
    assert random.min() >= -2.0 and random.max() <= 2.0 and random.std() > 1.0  # uniform over [-2, 2]: std 1.15
    noisy = explore(model, obs, 0.1, rng, random=False)
    noise = noisy - model.mu(torch.as_tensor(obs)).detach().numpy()
    assert np.all(np.abs(noisy) <= 2.0)
    assert 0.15 < noise.std() < 0.25  # 0.1 of the half range 2
    assert np.array_equal(explore(model, obs, 0.0, rng, random=False), model.mu(torch.as_tensor(obs)).detach().numpy())


def test_each_update_moves_only_its_own_network():
    """The critic's update leaves the actor as it was, and the actor's update (whose loss flows back through the
    critic) leaves the critic as it was; the actor's update raises Q(s, μ(s))."""
    model = pendulum_model()
    target = pendulum_model(seed=1)
    optimizer = make_optimizer(model, DDPGArgs(actor_lr=1e-2, critic_lr=1e-2))
    batch = batch_of([1.0, -1.0, 0.5, 0.0], [0.0, 0.0, 1.0, 0.0])
    actor_before = [p.clone() for p in (*model.actor.parameters(), *model.policy_head.parameters())]
    critic_before = [p.clone() for p in (*model.critic.parameters(), *model.value_head.parameters())]
    loss, readings = critic_loss(model, target, batch, 0.9)
    expected = torch.mean((model.q(torch.as_tensor(batch.observations), torch.as_tensor(batch.actions))
                           - td_targets(target, batch, 0.9)) ** 2)  # fmt: skip
    assert loss.item() == pytest.approx(expected.item()) and readings["value_loss"] == pytest.approx(loss.item())
    step(optimizer, loss, 1, 10.0)
    actor_now = [*model.actor.parameters(), *model.policy_head.parameters()]
    critic_now = [*model.critic.parameters(), *model.value_head.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(actor_before, actor_now, strict=True))
    assert any(not torch.equal(a, b) for a, b in zip(critic_before, critic_now, strict=True))
    critic_after = [p.clone() for p in critic_now]
    before = -actor_loss(model, batch).item()
    step(optimizer, actor_loss(model, batch), 0, 10.0)
    assert all(torch.equal(a, b) for a, b in zip(critic_after, critic_now, strict=True))
    assert -actor_loss(model, batch).item() > before


def test_the_memory_keeps_continuous_actions():
    memory = ReplayBuffer(4, (3,), np.random.default_rng(0), action_shape=(1,))
    memory.add(np.zeros((2, 3)), np.array([[0.25], [-1.5]]), np.zeros(2), np.zeros((2, 3)), np.zeros(2))
    assert memory.actions.dtype == np.float32 and memory.actions[:2].tolist() == [[0.25], [-1.5]]


@pytest.mark.learning
@pytest.mark.slow
@pytest.mark.timeout(1200)  # 10,000 updates of a 256-unit actor and critic: minutes on 2 cores, more when loaded
def test_ddpg_learns_pendulum(tmp_path):
    """RL Zoo's Pendulum settings swing the pendulum up and hold it (a mean return of -200, where random actions
    score about -1200) within their 20k steps; broken targets or updates do not."""
    preset = LEARNERS["ddpg"].starting_args("Pendulum-v1")
    args = dataclasses.replace(preset, target_return=-200, runs_dir=str(tmp_path), run_name="learn", progress=False)
    result = train(args)
    assert result.solved is not None, [(p.steps, p.mean) for p in result.curve]


@pytest.mark.slow
def test_a_ddpg_run_is_a_checkpoint_that_evaluate_and_resume_take(tmp_path, capsys):
    run = tmp_path / "ddpg"
    small = ["--learning-starts", "100", "--train-frequency", "10", "--gradient-steps", "10", "--batch-size", "16",
             "--buffer-size", "500", "--eval-every", "0", "--hidden", "16", "--no-progress"]  # fmt: skip
    assert main(["train", "--algo", "ddpg", "--runs-dir", str(tmp_path), "--run-name", "ddpg", "--total-steps", "200",
                 *small]) == 0  # fmt: skip
    first = load_checkpoint(run)
    assert first.learner == DDPG and first.spec.head == "deterministic" and first.counters["steps"] == 200
    assert first.config is not None and first.config["env_id"] == "Pendulum-v1"  # DDPG's own default
    assert main(["train", "--resume", str(run), "--total-steps", "300", "--no-progress"]) == 0
    assert load_checkpoint(run).counters["steps"] == 300
    assert main(["evaluate", "--checkpoint", str(run), "--episodes", "2"]) == 0
    assert "2 episodes on Pendulum-v1" in capsys.readouterr().out
    header = (run / "progress.csv").read_text().splitlines()[0]
    assert "q_mean" in header and "policy_loss" in header
