"""The tabular learners, the grid maze and the Markov examples: updates against hand-computed values, the maze's
rules, learning, and the two commands."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from agent.cli.main import main
from agent.envs import GRID_MAZE_ENV
from agent.tabular.learners import QLearning, Sarsa, SarsaLambda, TableOptions
from agent.tabular.markov import EXAMPLE_MDP, EXAMPLE_MRP, MDP, MRP, RANDOM_POLICY
from agent.tabular.maze import compare, greedy_steps


class TwoSteps(gym.Env[np.int64, np.int64]):
    """State 0 → state 1 (reward 0) → the end (reward 1, terminated), whatever the action."""

    observation_space = gym.spaces.Discrete(2)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.int64, dict]:
        super().reset(seed=seed)
        self.state = 0
        return np.int64(0), {}

    def step(self, action: Any) -> tuple[np.int64, float, bool, bool, dict]:
        if self.state == 0:
            self.state = 1
            return np.int64(1), 0.0, False, False, {}
        return np.int64(1), 1.0, True, False, {}


def learned(cls: type, options: TableOptions) -> np.ndarray:
    learner = cls(2, 2, options, np.random.default_rng(0))
    assert learner.episode(TwoSteps()) == (1.0, 2)
    return learner.q


def test_one_episode_of_each_update_matches_hand_computed_values():
    options = TableOptions(lr=0.5, gamma=0.9, greedy=1.0, trace_decay=0.5)
    for cls in (QLearning, Sarsa):  # the first step's target is 0 + 0.9·0; the last one's is its reward
        q = learned(cls, options)
        assert q.max(axis=1).tolist() == [0.0, 0.5] and np.count_nonzero(q) == 1
    q = learned(SarsaLambda, options)  # the last error (1) also reaches the first pair through its trace 0.9·0.5
    assert sorted(q[q != 0].tolist()) == [pytest.approx(0.5 * 0.45), 0.5]


def test_the_maze_follows_the_documents_rules():
    check_env(gym.make(GRID_MAZE_ENV, render_mode="ansi").unwrapped)
    env = gym.make(GRID_MAZE_ENV, render_mode="ansi")
    assert env.reset(seed=0)[0] == 0
    assert env.step(0)[:3] == (0, 0.0, False)  # up into the border: stays
    assert env.step(1)[:3] == (4, 0.0, False)  # down
    assert env.step(2)[:3] == (5, 0.0, False)  # right
    assert env.step(2)[:3] == (6, -1.0, True)  # into the trap at row 1, column 2
    assert env.render() == ". . . .\n. . o .\n. x G .\n. . . .\n"
    env.reset()
    for action in (2, 2, 2, 1, 1):  # round the traps on the right
        assert env.step(action)[1:3] == (0.0, False)
    assert env.step(3)[1:3] == (1.0, True)  # left into the goal: the 6th step
    picture = gym.make(GRID_MAZE_ENV, render_mode="rgb_array")
    picture.reset()
    image = picture.render()
    assert image.shape == (160, 160, 3) and image[20, 20].tolist() == [255, 0, 0]  # the explorer, top left
    assert image[100, 100].tolist() == [255, 255, 0] and image[60, 100].tolist() == [0, 0, 0]  # goal, trap
    with pytest.raises(ValueError, match="action"):
        env.step(4)


def test_q_learning_finds_the_shortest_way_on_every_seed():
    """With the documents' settings (lr 0.01, γ 0.9, greedy 0.9) 300 episodes teach Q-learning's greedy policy the
    6-step way round the traps on each of 5 seeds; broken updates do not."""
    (curve,) = [c for c in compare(300, 5, TableOptions()) if c.name == "Q-learning"]
    assert curve.greedy_steps == [6] * 5
    assert np.mean(curve.returns[:, -60:] > 0) > 0.85  # ε-greedy still explores one step in ten


def test_a_table_that_never_learned_does_not_reach_the_goal():
    learner = QLearning(16, 4, TableOptions(), np.random.default_rng(0))
    assert greedy_steps(learner, gym.make(GRID_MAZE_ENV)) is None  # all zeros: "up" into the border for ever


def test_the_bellman_values_of_the_example_mrp():
    values = EXAMPLE_MRP.values()
    assert np.allclose(values, EXAMPLE_MRP.rewards + EXAMPLE_MRP.gamma * EXAMPLE_MRP.transitions @ values)
    assert values[-1] == 0.0 and values[3] == pytest.approx(10.538, abs=1e-3)  # s6 absorbs; s4 pays 10
    assert EXAMPLE_MRP.chain_return(["s1", "s2", "s3", "s6"]) == -2.5  # -1 + ½·(-2) + ¼·(-2)
    two = MRP(("a", "b"), np.array([[0.0, 1.0], [0.0, 1.0]]), np.array([1.0, 0.0]), 0.5)
    assert two.values().tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="transitions"):
        MRP(("a",), np.array([[0.5]]), np.array([1.0]), 0.5)


def test_an_mdp_under_a_policy_is_an_mrp_and_monte_carlo_agrees_with_it():
    mdp = MDP(("a", "b"), {("a", "go"): {"b": 1.0}, ("a", "stay"): {"a": 1.0}}, {("a", "go"): 2.0, ("a", "stay"): 0.0},
              0.5, frozenset({"b"}))  # fmt: skip
    mrp = mdp.as_mrp({("a", "go"): 0.25, ("a", "stay"): 0.75})
    assert mrp.transitions.tolist() == [[0.75, 0.25], [0.0, 1.0]] and mrp.rewards.tolist() == [0.5, 0.0]
    assert mrp.values()[0] == pytest.approx(0.5 / (1 - 0.5 * 0.75))
    exact = EXAMPLE_MDP.as_mrp(RANDOM_POLICY).values()
    sampled = EXAMPLE_MDP.monte_carlo(RANDOM_POLICY, 5000, 20, np.random.default_rng(0))
    assert np.abs(sampled - exact).max() < 0.2, (sampled, exact)


def test_each_example_is_one_command_that_prints_its_table(capsys):
    assert main(["maze", "--episodes", "30", "--seeds", "2"]) == 0
    out = capsys.readouterr().out
    assert all(f"| {name} |" in out for name in ("Q-learning", "Sarsa", "Sarsa(λ)")), out
    assert main(["markov", "--episodes", "200"]) == 0
    out = capsys.readouterr().out
    assert "return of the chain s1, s2, s3, s6: -2.5" in out and "| random (½ each) | Monte-Carlo |" in out
    assert main(["maze", "--greedy", "2"]) == 1
    assert "greedy: invalid value 2.0" in capsys.readouterr().err
