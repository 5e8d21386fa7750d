"""Q-learning, Sarsa and Sarsa(λ) on a table of action values, as the seed documents teach them.

All three act ε-greedily (the documents' ``e_greedy`` is the chance of the greedy action: 0.9 explores one step in
ten, ties broken at random) and move ``Q(s, a)`` toward a target by ``lr`` after every step:

- **Q-learning** (off-policy): target ``r + γ max_a' Q(s', a')``, whatever the next action will be;
- **Sarsa** (on-policy): target ``r + γ Q(s', a')`` with ``a'`` the action it then takes;
- **Sarsa(λ)**: Sarsa's error, applied to every pair visited in the episode in proportion to its eligibility
  trace (replacing traces: a visit sets the pair's trace to 1 and the state's other actions' to 0; every step
  multiplies all traces by ``γλ``). λ = 0 is Sarsa; λ = 1 updates every step of the episode alike.

A *terminated* step has no next value (target ``r``); a *truncated* one (the time limit) keeps bootstrapping.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import gymnasium as gym
import numpy as np


@dataclass(frozen=True)
class TableOptions:
    lr: float = 0.01
    """step toward each target"""
    gamma: float = 0.9
    """discount factor"""
    greedy: float = 0.9
    """chance of the greedy action at each step (the rest: a random one)"""
    trace_decay: float = 0.9
    """Sarsa(λ)'s λ"""

    def __post_init__(self) -> None:
        for name, ok in (("lr", 0 < self.lr <= 1), ("gamma", 0 <= self.gamma <= 1), ("greedy", 0 <= self.greedy <= 1),
                         ("trace_decay", 0 <= self.trace_decay <= 1)):  # fmt: skip
            if not ok:
                raise ValueError(f"{name}: invalid value {getattr(self, name)!r}")


class TableLearner(ABC):
    """A table of action values, its ε-greedy choice, and one episode of learning (:meth:`episode`, each
    algorithm's own)."""

    name = "table"

    def __init__(self, n_states: int, n_actions: int, options: TableOptions, rng: np.random.Generator) -> None:
        self.q = np.zeros((n_states, n_actions))
        self.options = options
        self.rng = rng

    def choose(self, state: int) -> int:
        if self.rng.uniform() >= self.options.greedy:
            return int(self.rng.integers(self.q.shape[1]))
        best = np.flatnonzero(self.q[state] == self.q[state].max())
        return int(self.rng.choice(best))

    @abstractmethod
    def episode(self, env: gym.Env, seed: int | None = None) -> tuple[float, int]:
        """Play and learn one episode; its return and length."""


class QLearning(TableLearner):
    name = "Q-learning"

    def episode(self, env: gym.Env, seed: int | None = None) -> tuple[float, int]:
        o = self.options
        state, _ = env.reset(seed=seed)
        ret, steps, done = 0.0, 0, False
        while not done:
            action = self.choose(int(state))
            following, reward, terminated, truncated, _ = env.step(action)
            target = reward if terminated else reward + o.gamma * self.q[following].max()
            self.q[state, action] += o.lr * (target - self.q[state, action])
            state, ret, steps, done = following, ret + float(reward), steps + 1, terminated or truncated
        return ret, steps


class Sarsa(TableLearner):
    name = "Sarsa"

    def episode(self, env: gym.Env, seed: int | None = None) -> tuple[float, int]:
        o = self.options
        self.begin()
        state, _ = env.reset(seed=seed)
        action = self.choose(int(state))
        ret, steps, done = 0.0, 0, False
        while not done:
            following, reward, terminated, truncated, _ = env.step(action)
            next_action = self.choose(int(following))
            target = reward if terminated else reward + o.gamma * self.q[following, next_action]
            self.correct(state, action, target - self.q[state, action])
            state, action = following, next_action
            ret, steps, done = ret + float(reward), steps + 1, terminated or truncated
        return ret, steps

    def begin(self) -> None:
        """Before an episode: nothing to prepare (Sarsa(λ) clears its traces)."""

    def correct(self, state: int, action: int, error: float) -> None:
        """Move the pair just taken toward its target."""
        self.q[state, action] += self.options.lr * error


class SarsaLambda(Sarsa):
    """Sarsa, with each error applied to every pair of the episode in proportion to its eligibility trace."""

    name = "Sarsa(λ)"

    def begin(self) -> None:
        self.trace = np.zeros_like(self.q)  # eligibility of each pair, for this episode

    def correct(self, state: int, action: int, error: float) -> None:
        o = self.options
        self.trace[state] = 0.0  # replacing traces
        self.trace[state, action] = 1.0
        self.q += o.lr * error * self.trace
        self.trace *= o.gamma * o.trace_decay


LEARNERS: tuple[type[TableLearner], ...] = (QLearning, Sarsa, SarsaLambda)
