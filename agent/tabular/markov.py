"""Markov reward and decision processes, solved two ways: the Bellman equation in closed form, and Monte-Carlo
averages of sampled returns, on the toy examples the seed documents take from *Hands-on RL*, chapter 3.

- An MRP's values solve ``V = R + γ P V``, so ``V = (I - γ P)⁻¹ R``.
- An MDP with a policy π is an MRP: ``P_π(s'|s) = Σ_a π(a|s) P(s'|s, a)`` and ``R_π(s) = Σ_a π(a|s) R(s, a)``; its
  state values are that MRP's.
- Monte-Carlo: sample episodes from random start states, and average the discounted return that followed each
  visit of a state (every visit counts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MRP:
    states: tuple[str, ...]
    transitions: np.ndarray
    """(n, n): P(s' | s), rows summing to 1"""
    rewards: np.ndarray
    """(n,): the reward on leaving each state"""
    gamma: float

    def __post_init__(self) -> None:
        n = len(self.states)
        if self.transitions.shape != (n, n) or not np.allclose(self.transitions.sum(axis=1), 1):
            raise ValueError(f"transitions: expected {n}x{n} rows of probabilities, got {self.transitions}")
        if self.rewards.shape != (n,):
            raise ValueError(f"rewards: expected {n} values, got {self.rewards}")
        if not 0 <= self.gamma < 1:
            raise ValueError(f"gamma: {self.gamma!r} is not in [0, 1): the values would not be finite")

    def values(self) -> np.ndarray:
        """The state values from the Bellman equation: ``(I - γ P)⁻¹ R``."""
        n = len(self.states)
        return np.linalg.solve(np.eye(n) - self.gamma * self.transitions, self.rewards)

    def chain_return(self, chain: list[str]) -> float:
        """The discounted return of one sampled sequence of states, from its first."""
        index = {s: i for i, s in enumerate(self.states)}
        return float(sum(self.gamma**t * self.rewards[index[s]] for t, s in enumerate(chain)))


@dataclass(frozen=True)
class MDP:
    states: tuple[str, ...]
    transitions: dict[tuple[str, str], dict[str, float]]
    """(state, action) → {next state: probability}"""
    rewards: dict[tuple[str, str], float]
    """(state, action) → reward"""
    gamma: float
    terminal: frozenset[str] = frozenset()
    """states with no action: the process stays there, with no more reward"""

    def as_mrp(self, policy: dict[tuple[str, str], float]) -> MRP:
        """The MRP this MDP becomes when its actions are chosen by ``policy`` ((state, action) → probability)."""
        index = {s: i for i, s in enumerate(self.states)}
        n = len(self.states)
        transitions, rewards = np.zeros((n, n)), np.zeros(n)
        for (state, action), chance in policy.items():
            rewards[index[state]] += chance * self.rewards[(state, action)]
            for following, p in self.transitions[(state, action)].items():
                transitions[index[state], index[following]] += chance * p
        for state in self.terminal:
            transitions[index[state], index[state]] = 1.0
        return MRP(self.states, transitions, rewards, self.gamma)

    def monte_carlo(
        self, policy: dict[tuple[str, str], float], episodes: int, max_steps: int, rng: np.random.Generator
    ) -> np.ndarray:
        """Every-visit Monte-Carlo estimates of the state values under ``policy``: ``episodes`` sequences of at most
        ``max_steps`` steps, each from a random non-terminal state."""
        index = {s: i for i, s in enumerate(self.states)}
        starts = [s for s in self.states if s not in self.terminal]
        totals, counts = np.zeros(len(self.states)), np.zeros(len(self.states))
        for _ in range(episodes):
            state, visits = starts[rng.integers(len(starts))], []
            for _ in range(max_steps):
                if state in self.terminal:
                    break
                choices = [(a, p) for (s, a), p in policy.items() if s == state and p > 0]
                action = choices[rng.choice(len(choices), p=[p for _, p in choices])][0]
                following = self.transitions[(state, action)]
                visits.append((state, self.rewards[(state, action)]))
                state = list(following)[rng.choice(len(following), p=list(following.values()))]
            ret = 0.0
            for visited, reward in reversed(visits):
                ret = reward + self.gamma * ret
                totals[index[visited]] += ret
                counts[index[visited]] += 1
        return np.divide(totals, counts, out=np.zeros_like(totals), where=counts > 0)


# -- the seed documents' examples ---------------------------------------------------------------------------------
EXAMPLE_MRP = MRP(
    states=("s1", "s2", "s3", "s4", "s5", "s6"),
    transitions=np.array([
        [0.9, 0.1, 0.0, 0.0, 0.0, 0.0],
        [0.5, 0.0, 0.5, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.6, 0.0, 0.4],
        [0.0, 0.0, 0.0, 0.0, 0.3, 0.7],
        [0.0, 0.2, 0.3, 0.5, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
    ]),
    rewards=np.array([-1.0, -2.0, -2.0, 10.0, 1.0, 0.0]),
    gamma=0.5,
)  # fmt: skip
"""six states, s6 absorbing; the documents' sampled chain s1, s2, s3, s6 returns -2.5"""

EXAMPLE_MDP = MDP(
    states=("s1", "s2", "s3", "s4", "s5"),
    transitions={
        ("s1", "stay in s1"): {"s1": 1.0}, ("s1", "go to s2"): {"s2": 1.0},
        ("s2", "go to s1"): {"s1": 1.0}, ("s2", "go to s3"): {"s3": 1.0},
        ("s3", "go to s4"): {"s4": 1.0}, ("s3", "go to s5"): {"s5": 1.0},
        ("s4", "go to s5"): {"s5": 1.0}, ("s4", "go anywhere"): {"s2": 0.2, "s3": 0.4, "s4": 0.4},
    },
    rewards={
        ("s1", "stay in s1"): -1.0, ("s1", "go to s2"): 0.0,
        ("s2", "go to s1"): -1.0, ("s2", "go to s3"): -2.0,
        ("s3", "go to s4"): -2.0, ("s3", "go to s5"): 0.0,
        ("s4", "go to s5"): 10.0, ("s4", "go anywhere"): 1.0,
    },
    gamma=0.5,
    terminal=frozenset({"s5"}),
)  # fmt: skip
"""five states, s5 terminal; "go anywhere" from s4 lands in s2, s3 or s4 by chance"""

RANDOM_POLICY = {key: 0.5 for key in EXAMPLE_MDP.rewards}
"""each of a state's two actions half the time"""
OTHER_POLICY = {
    ("s1", "stay in s1"): 0.6, ("s1", "go to s2"): 0.4,
    ("s2", "go to s1"): 0.3, ("s2", "go to s3"): 0.7,
    ("s3", "go to s4"): 0.5, ("s3", "go to s5"): 0.5,
    ("s4", "go to s5"): 0.1, ("s4", "go anywhere"): 0.9,
}  # fmt: skip


def report(episodes: int, max_steps: int, seed: int) -> str:
    """The examples' tables: the MRP's values (and the documents' sampled chain's return), then the MDP's under
    each policy, from the Bellman equation next to Monte-Carlo."""
    rng = np.random.default_rng(seed)
    mrp = EXAMPLE_MRP
    lines = [f"Markov reward process ({len(mrp.states)} states, γ = {mrp.gamma}): values from the Bellman equation",
             "", "| state | " + " | ".join(mrp.states) + " |", "|---" * (len(mrp.states) + 1) + "|",
             "| V | " + " | ".join(f"{v:.4f}" for v in mrp.values()) + " |", "",
             f"return of the chain s1, s2, s3, s6: {mrp.chain_return(['s1', 's2', 's3', 's6']):g}", ""]  # fmt: skip
    mdp = EXAMPLE_MDP
    lines += [f"Markov decision process ({len(mdp.states)} states, γ = {mdp.gamma}): state values under each policy, "
              f"Bellman equation against Monte-Carlo ({episodes:,} sequences of at most {max_steps} steps, seed "
              f"{seed})", "", "| policy | method | " + " | ".join(mdp.states) + " |",
              "|---|---" + "|---" * len(mdp.states) + "|"]  # fmt: skip
    for name, policy in (("random (½ each)", RANDOM_POLICY), ("the documents' second", OTHER_POLICY)):
        exact = mdp.as_mrp(policy).values()
        sampled = mdp.monte_carlo(policy, episodes, max_steps, rng)
        lines.append(f"| {name} | Bellman | " + " | ".join(f"{v:.4f}" for v in exact) + " |")
        lines.append(f"| {name} | Monte-Carlo | " + " | ".join(f"{v:.4f}" for v in sampled) + " |")
    return "\n".join(lines)
