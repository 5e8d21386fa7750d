"""DQN: the targets (plain and Double), prioritised replay's draws and weights, the dueling network, the target
network's updates against hand-computed values; learning; checkpoints and the command."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest
import torch

from agent.cli.main import main
from agent.dqn.algorithm import epsilon, td_targets, train
from agent.dqn.args import DQNArgs
from agent.learners import LEARNERS
from agent.learning.replay import Minibatch, ReplayBuffer, SumTree
from agent.learning.targets import soft_update
from agent.policy.checkpoint import DQN, load_checkpoint
from models.build import build
from models.qnet import QNetwork
from models.spec import ModelSpec, SpecError, spec_for


class FixedQ:
    """Stands for a network whose action values are the same for every observation."""

    def __init__(self, values: list[float]) -> None:
        self.values = torch.tensor([values])

    def q(self, obs: torch.Tensor) -> torch.Tensor:
        return self.values.expand(len(obs), -1)


def one_transition(reward: float, terminated: float) -> Minibatch:
    zeros = np.zeros((1, 4), np.float32)
    return Minibatch(zeros, np.zeros(1, np.int64), np.array([reward], np.float32), zeros,
                     np.array([terminated], np.float32), np.zeros(1, np.int64), np.ones(1, np.float32))  # fmt: skip


def test_the_targets_of_dqn_and_double_dqn():
    """Online Q(s') = [1, 5], target Q(s') = [3, 2], r = 1, γ = 0.5. DQN: 1 + 0.5·max(3, 2) = 2.5. Double DQN: the
    online network picks action 1, the target network values it at 2: 1 + 0.5·2 = 2. After a termination: 1."""
    online, target = FixedQ([1.0, 5.0]), FixedQ([3.0, 2.0])
    batch = one_transition(1.0, 0.0)
    assert td_targets(online, target, batch, 0.5, double=False).item() == 2.5  # type: ignore[arg-type]
    assert td_targets(online, target, batch, 0.5, double=True).item() == 2.0  # type: ignore[arg-type]
    ended = one_transition(1.0, 1.0)
    assert td_targets(online, target, ended, 0.5, double=True).item() == 1.0  # type: ignore[arg-type]


def test_the_sum_tree_finds_the_leaf_of_a_running_sum():
    tree = SumTree(4)
    tree.set(np.arange(4), np.array([1.0, 2.0, 3.0, 4.0]))
    assert tree.total == 10.0
    assert tree.find(np.array([0.5, 1.0, 2.9, 3.0, 5.99, 6.0, 9.99])).tolist() == [0, 1, 1, 2, 2, 3, 3]
    tree.set(np.array([3]), np.array([0.0]))
    assert tree.total == 6.0 and tree.find(np.array([5.99])).tolist() == [2]


def test_prioritised_draws_follow_the_priorities_and_weights_undo_them():
    memory = ReplayBuffer(4, (1,), np.random.default_rng(0), prioritized=True, alpha=1.0, eps=0.0)
    memory.add(np.zeros((4, 1)), np.zeros(4, np.int64), np.zeros(4), np.zeros((4, 1)), np.zeros(4))
    memory.update_priorities(np.arange(4), np.array([1.0, 2.0, 3.0, 4.0]))  # chances 0.1, 0.2, 0.3, 0.4
    counts = np.zeros(4)
    for _ in range(500):
        counts += np.bincount(memory.sample(10).indices, minlength=4)
    assert np.allclose(counts / counts.sum(), [0.1, 0.2, 0.3, 0.4], atol=0.02)
    batch = memory.sample(10, beta=1.0)
    chances = np.array([0.1, 0.2, 0.3, 0.4])[batch.indices]
    expected = (4 * chances) ** -1.0
    assert np.allclose(batch.weights, expected / expected.max())
    uniform = ReplayBuffer(4, (1,), np.random.default_rng(0))
    uniform.add(np.zeros((4, 1)), np.zeros(4, np.int64), np.zeros(4), np.zeros((4, 1)), np.zeros(4))
    assert uniform.sample(8).weights.tolist() == [1.0] * 8


def test_the_memory_keeps_the_last_transitions():
    memory = ReplayBuffer(3, (1,), np.random.default_rng(0))
    for step in range(5):
        memory.add(np.array([[step]]), np.array([step]), np.array([step]), np.array([[step + 1]]), np.array([0.0]))
    assert len(memory) == 3 and sorted(memory.actions.tolist()) == [2, 3, 4]


def test_the_dueling_networks_values_average_to_its_state_value():
    env = gym.make("CartPole-v1")
    model = build(spec_for(env.observation_space, env.action_space, "mlp", head="dueling-q"))
    assert isinstance(model, QNetwork) and model.state_value is not None
    obs = torch.randn(5, 4)
    q = model.q(obs)
    assert torch.allclose(q.mean(dim=-1), model.state_value(model.encode(obs)).squeeze(-1), atol=1e-6)
    decision = model.act(obs, greedy=True)
    assert decision.action.tolist() == q.argmax(dim=-1).tolist() and torch.allclose(decision.value, q.max(-1).values)
    spec = model.spec
    assert ModelSpec.from_dict(spec.to_dict()) == spec and spec.to_dict()["head"] == "dueling-q"
    with pytest.raises(SpecError, match="head"):
        dataclasses.replace(spec, head="q", n_actions=None, action_low=(0.0,), action_high=(1.0,))


def test_the_target_network_moves_by_tau_and_epsilon_falls_linearly():
    online, target = torch.nn.Linear(1, 1), torch.nn.Linear(1, 1)
    with torch.no_grad():
        online.weight.fill_(2.0)
        target.weight.fill_(0.0)
    soft_update(target, online, 0.25)
    assert target.weight.item() == 0.5
    args = DQNArgs(total_steps=1000, exploration_fraction=0.5, start_e=1.0, end_e=0.1)
    assert [epsilon(args, s) for s in (0, 250, 500, 900)] == pytest.approx([1.0, 0.55, 0.1, 0.1])


@pytest.mark.learning
@pytest.mark.slow
@pytest.mark.timeout(1200)  # 25,000 updates of a 256-unit network: minutes on 2 cores, more on a loaded machine
def test_double_dueling_prioritised_dqn_learns_cartpole(tmp_path):
    """RL Zoo's CartPole settings with all three switches reach a mean of 475 within their 50k steps; broken targets,
    draws or weights do not."""
    preset = LEARNERS["dqn"].starting_args("CartPole-v1")
    args = dataclasses.replace(preset, double=True, dueling=True, prioritized=True, eval_every=5_000,
                               target_return=475, runs_dir=str(tmp_path), run_name="learn", progress=False)  # fmt: skip
    result = train(args)
    assert result.solved is not None, [(p.steps, p.mean) for p in result.curve]


@pytest.mark.slow
def test_a_dqn_run_is_a_checkpoint_that_evaluate_and_resume_take(tmp_path, capsys):
    run = tmp_path / "dqn"
    small = ["--learning-starts", "50", "--train-frequency", "10", "--batch-size", "16", "--buffer-size", "500",
             "--eval-every", "0", "--no-progress", "--dueling", "--prioritized"]  # fmt: skip
    assert main(["train", "--algo", "dqn", "--runs-dir", str(tmp_path), "--run-name", "dqn", "--total-steps", "200",
                 *small]) == 0  # fmt: skip
    first = load_checkpoint(run)
    assert first.learner == DQN and first.spec.head == "dueling-q" and first.counters["steps"] == 200
    assert main(["train", "--resume", str(run), "--total-steps", "300", "--no-progress"]) == 0
    assert load_checkpoint(run).counters["steps"] == 300
    assert main(["evaluate", "--checkpoint", str(run), "--episodes", "2"]) == 0
    assert "2 episodes on CartPole-v1" in capsys.readouterr().out
    assert "q_mean" in (run / "progress.csv").read_text().splitlines()[0]


def test_the_discrete_pendulum_takes_evenly_spaced_torques():
    """11 actions from -2 to 2 (the seed documents' Double DQN test bed): action i is the torque -2 + 0.4 i."""
    from agent.envs import DISCRETE_PENDULUM_ENV
    from agent.envs.discrete import DiscreteActions

    env = gym.make(DISCRETE_PENDULUM_ENV)
    assert env.action_space == gym.spaces.Discrete(11)
    env.reset(seed=0)
    for action in (0, 5, 7, 10):
        env.step(action)
        assert env.unwrapped.last_u == pytest.approx(-2.0 + 0.4 * action)  # type: ignore[attr-defined]
    steps, truncated = 4, False
    while not truncated:
        truncated = env.step(0)[3]
        steps += 1
    assert steps == 200  # Pendulum-v1's time limit
    assert gym.make(DISCRETE_PENDULUM_ENV, bins=5).action_space == gym.spaces.Discrete(5)
    with pytest.raises(ValueError, match="bins must be an integer of 2 or more, got 1"):
        DiscreteActions(gym.make("Pendulum-v1"), 1)
    with pytest.raises(ValueError, match="one-dimensional Box"):
        DiscreteActions(gym.make("CartPole-v1"), 3)  # type: ignore[arg-type]
