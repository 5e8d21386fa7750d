"""The off-policy learners' replay memory (DQN's, DDPG's): the last ``capacity`` transitions, drawn uniformly or,
prioritised (Schaul et al. 2016), in proportion to ``priority^α`` through a sum tree.

A sum tree keeps each transition's weight in a leaf and every inner node the sum of its two children, so the total
is the root, a change costs one walk up, and the transition at a given running sum is one walk down. A draw of a
minibatch splits the total into equal strata and takes one uniform point in each. New transitions get the highest
priority seen so far, so each is drawn at least once soon. The importance-sampling weight of a draw,
``(N·P(i))^-β``, undoes the bias of drawing unevenly; the weights are divided by the minibatch's largest, which keeps
every step's scale at most that of uniform replay.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from agent.learning.rollout import finished_episodes
from capture.preprocess import levels_to_obs, obs_to_levels


@dataclass
class Minibatch:
    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_observations: np.ndarray
    terminated: np.ndarray
    """1.0 where the episode ended in that step (no value after it); a truncation is 0: it bootstraps"""
    indices: np.ndarray
    """where the transitions sit in the memory (to update their priorities)"""
    weights: np.ndarray
    """importance-sampling weights (all 1 with uniform draws)"""


def joined(first: Minibatch, second: Minibatch) -> Minibatch:
    """Two minibatches as one, ``first``'s rows first."""
    return Minibatch(**{f.name: np.concatenate((getattr(first, f.name), getattr(second, f.name)))
                        for f in dataclasses.fields(Minibatch)})  # fmt: skip


class SumTree:
    """Weights of ``capacity`` leaves, with their prefix sums a walk of log2(capacity) steps away."""

    def __init__(self, capacity: int) -> None:
        self.leaves = 1 << max(0, (capacity - 1).bit_length())
        self.tree = np.zeros(2 * self.leaves)

    @property
    def total(self) -> float:
        return float(self.tree[1])

    def set(self, indices: np.ndarray, weights: np.ndarray) -> None:
        nodes = np.asarray(indices) + self.leaves
        self.tree[nodes] = weights
        while nodes[0] > 1:
            nodes = np.unique(nodes // 2)
            self.tree[nodes] = self.tree[2 * nodes] + self.tree[2 * nodes + 1]

    def get(self, indices: np.ndarray) -> np.ndarray:
        return self.tree[np.asarray(indices) + self.leaves]

    def find(self, points: np.ndarray) -> np.ndarray:
        """The leaf whose share of the running sum holds each point (0 ≤ point < total)."""
        nodes = np.ones(len(points), dtype=np.int64)
        points = np.array(points, dtype=np.float64)
        while nodes[0] < self.leaves:
            left = self.tree[2 * nodes]
            right = points >= left
            points -= left * right
            nodes = 2 * nodes + right
        return nodes - self.leaves


class ReplayBuffer:
    def __init__(
        self,
        capacity: int,
        observation_shape: tuple[int, ...],
        rng: np.random.Generator,
        prioritized: bool = False,
        alpha: float = 0.6,
        eps: float = 1e-6,
        action_shape: tuple[int, ...] = (),
        compact: bool = False,
    ) -> None:
        """``action_shape``: () for discrete actions (indices), (D,) for continuous ones. ``compact``: observations
        are frames of values in [0, 1], kept as uint8 grey levels (:func:`capture.preprocess.obs_to_levels`): a
        quarter of the memory (100k transitions of two stacked 128x200 frames take 10 GB instead of 41), each pixel
        within half a level (0.5/255) of what was seen."""
        self.capacity, self.rng, self.alpha, self.eps = capacity, rng, alpha, eps
        self.compact = compact
        self.observations = np.zeros((capacity, *observation_shape), dtype=np.uint8 if compact else np.float32)
        self.next_observations = np.zeros_like(self.observations)
        self.actions = np.zeros((capacity, *action_shape), dtype=np.float32 if action_shape else np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=np.float32)
        self.size = self.next = 0
        self.tree = SumTree(capacity) if prioritized else None
        self.max_priority = 1.0

    def __len__(self) -> int:
        return self.size

    def add(
        self,
        observations: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_observations: np.ndarray,
        terminated: np.ndarray,
    ) -> None:
        """A step of every environment: arrays with one row per environment."""
        rows = (self.next + np.arange(len(actions))) % self.capacity
        if self.compact:
            observations, next_observations = obs_to_levels(observations), obs_to_levels(next_observations)
        self.observations[rows], self.next_observations[rows] = observations, next_observations
        self.actions[rows], self.rewards[rows], self.terminated[rows] = actions, rewards, terminated
        if self.tree is not None:
            self.tree.set(rows, np.full(len(rows), self.max_priority**self.alpha))
        self.next = int(rows[-1] + 1) % self.capacity
        self.size = min(self.size + len(rows), self.capacity)

    def sample(self, batch_size: int, beta: float = 1.0) -> Minibatch:
        if self.tree is None:
            indices = self.rng.integers(self.size, size=batch_size)
            weights = np.ones(batch_size, dtype=np.float32)
        else:
            strata = (np.arange(batch_size) + self.rng.uniform(size=batch_size)) * (self.tree.total / batch_size)
            indices = np.minimum(self.tree.find(strata), self.size - 1)  # float rounding at the very end
            chances = self.tree.get(indices) / self.tree.total
            raw = (self.size * chances) ** -beta
            weights = (raw / raw.max()).astype(np.float32)
        observations, next_observations = self.observations[indices], self.next_observations[indices]
        if self.compact:
            observations, next_observations = levels_to_obs(observations), levels_to_obs(next_observations)
        return Minibatch(observations, self.actions[indices], self.rewards[indices], next_observations,
                         self.terminated[indices], indices, weights)  # fmt: skip

    def update_priorities(self, indices: np.ndarray, errors: np.ndarray) -> None:
        """New priorities ``|error| + eps`` of drawn transitions (prioritised replay only)."""
        if self.tree is None or not len(indices):
            return
        priorities = np.abs(errors) + self.eps
        self.max_priority = max(self.max_priority, float(priorities.max()))
        self.tree.set(indices, priorities**self.alpha)


def step_and_remember(
    envs: gym.vector.VectorEnv, observations: np.ndarray, actions: np.ndarray, memory: ReplayBuffer
) -> tuple[np.ndarray, list[tuple[float, int]]]:
    """One step of every environment, remembered: each transition with the real next observation (an ended episode's
    final one, not the first of the next, which a same-step reset shows) and whether the episode terminated (a
    truncation is remembered as going on: its target bootstraps). Returns what the environments show now, and
    (return, length) of the episodes that ended."""
    following, rewards, terminated, truncated, info = envs.step(actions)
    next_obs = np.array(following, dtype=np.float32)
    for i in np.flatnonzero(terminated | truncated):
        next_obs[i] = info["final_obs"][i]
    memory.add(observations, actions, rewards, next_obs, terminated.astype(np.float32))
    return following, finished_episodes(info)
