"""The gym benchmark's settings (benchmarks/gym_bench.py): each environment's threshold, budget and
Stable-Baselines3 hyperparameters (rl-zoo3 2.9.2's), and the pairs of algorithms measured side by side."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent.learners import LEARNERS

START, END = "<!-- gym_bench:start -->", "<!-- gym_bench:end -->"
"""the A3C / A2C section's markers in docs/benchmarks.md"""


@dataclass(frozen=True)
class LinearSchedule:
    """rl-zoo3's ``lin_<x>``: the learning rate falls linearly from ``initial`` to 0 over the run."""

    initial: float

    def __call__(self, progress_remaining: float) -> float:
        return progress_remaining * self.initial

    def __str__(self) -> str:
        return f"lin_{self.initial:g}"


@dataclass(frozen=True)
class Benchmark:
    """One environment of the benchmark, with each algorithm's settings for it."""

    env_id: str
    threshold: float
    """the env's reward_threshold (Pendulum-v1 has none: -200)"""
    steps: int
    """environment steps per run at --budget 1, for both algorithms"""
    eval_every: int
    """environment steps between evaluations at --budget 1"""
    a2c: dict[str, Any]
    """rl-zoo3 2.9.2 hyperparams/a2c.yml: n_envs, normalize (VecNormalize) and the A2C arguments; its
    n_timesteps is replaced by ``steps`` (linear schedules decay over the run, as with the zoo's -n)"""
    ppo: dict[str, Any]
    """rl-zoo3 2.9.2 hyperparams/ppo.yml, in the same form"""


@dataclass(frozen=True)
class Pair:
    """A pixelpilot learner and the Stable-Baselines3 algorithm it is measured next to."""

    learner: str
    """its name in agent.learners"""
    name: str
    sb3: str
    """the SB3 class"""
    sb3_name: str
    start: str
    end: str
    """its section's markers in docs/benchmarks.md"""
    goal_envs: tuple[str, ...]
    """where ours must reach the threshold in less wall-clock"""

    def ours(self, env_id: str) -> dict[str, Any]:
        """our options that differ from their defaults on ``env_id`` (the learner's preset)"""
        return LEARNERS[self.learner].preset(env_id)

    def theirs(self, bench: Benchmark) -> dict[str, Any]:
        return bench.a2c if self.sb3 == "A2C" else bench.ppo


PAIRS = {
    "a3c": Pair("a3c", "A3C", "A2C", "A2C", START, END, ("CartPole-v1", "Acrobot-v1")),
    "ppo": Pair("ppo", "PPO", "PPO", "SB3 PPO", "<!-- gym_bench_ppo:start -->", "<!-- gym_bench_ppo:end -->",
                ("CartPole-v1",)),
}  # fmt: skip


BENCHMARKS = {
    b.env_id: b
    for b in (
        Benchmark(
            "CartPole-v1",
            475.0,
            500_000,
            5_000,
            {"n_envs": 8, "ent_coef": 0.0},  # zoo n_timesteps 5e5
            {
                "n_envs": 8,
                "n_steps": 32,
                "batch_size": 256,
                "gae_lambda": 0.8,
                "gamma": 0.98,
                "n_epochs": 20,
                "ent_coef": 0.0,
                "learning_rate": LinearSchedule(0.001),
                "clip_range": LinearSchedule(0.2),
            },
        ),
        Benchmark(
            "Acrobot-v1",
            -100.0,
            500_000,
            5_000,
            {"n_envs": 16, "normalize": True, "ent_coef": 0.0},
            {
                "n_envs": 16,
                "normalize": True,
                "n_steps": 256,
                "gae_lambda": 0.94,
                "gamma": 0.99,
                "n_epochs": 4,
                "ent_coef": 0.0,
            },
        ),
        Benchmark(
            "Pendulum-v1",
            -200.0,
            1_000_000,
            10_000,
            {  # zoo n_timesteps 1e6
                "n_envs": 8,
                "normalize": True,
                "ent_coef": 0.0,
                "max_grad_norm": 0.5,
                "n_steps": 8,
                "gae_lambda": 0.9,
                "vf_coef": 0.4,
                "gamma": 0.9,
                "use_rms_prop": True,
                "normalize_advantage": False,
                "learning_rate": LinearSchedule(7e-4),
                "use_sde": True,
                "policy_kwargs": {"log_std_init": -2, "ortho_init": False},
            },
            {
                "n_envs": 4,
                "n_steps": 1024,
                "gae_lambda": 0.95,
                "gamma": 0.9,
                "n_epochs": 10,
                "ent_coef": 0.0,
                "learning_rate": 1e-3,
                "clip_range": 0.2,
                "use_sde": True,
                "sde_sample_freq": 4,
            },
        ),
        Benchmark(
            "LunarLander-v3",
            200.0,
            1_000_000,
            20_000,
            {  # zoo n_timesteps 2e5
                "n_envs": 8,
                "gamma": 0.995,
                "n_steps": 5,
                "learning_rate": LinearSchedule(0.00083),
                "ent_coef": 0.00001,
            },
            {
                "n_envs": 16,
                "n_steps": 1024,
                "batch_size": 64,
                "gae_lambda": 0.98,
                "gamma": 0.999,
                "n_epochs": 4,
                "ent_coef": 0.01,
            },
        ),
    )
}
