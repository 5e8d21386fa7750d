"""The gym benchmark's settings (benchmarks/gym_bench.py): each environment's threshold, budget and
Stable-Baselines3 hyperparameters (rl-zoo3 2.9.2's), and the pairs of algorithms measured side by side."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
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
    """One environment of the benchmark, with each SB3 algorithm's settings for it."""

    env_id: str
    threshold: float
    """the env's reward_threshold (Pendulum-v1 has none: -200)"""
    steps: int
    """environment steps per run at --budget 1, for both algorithms of a pair"""
    eval_every: int
    """environment steps between evaluations at --budget 1"""
    sb3: dict[str, dict[str, Any]]
    """per SB3 algorithm (A2C, PPO, DQN, DDPG), rl-zoo3 2.9.2's hyperparams/<algo>.yml for this env: n_envs,
    normalize (VecNormalize) and the algorithm's arguments; its n_timesteps is ``steps`` (or ``budgets``')"""
    budgets: dict[str, tuple[int, int]] = field(default_factory=dict)
    """per pixelpilot learner, (steps, eval_every) where they differ from the env's: the off-policy algorithms' zoo
    runs are tens of thousands of steps, the on-policy ones' up to a million"""

    def budget(self, learner: str) -> tuple[int, int]:
        """(steps, eval_every) at --budget 1 for the pair of ``learner``."""
        return self.budgets.get(learner, (self.steps, self.eval_every))


@dataclass(frozen=True)
class Pair:
    """A pixelpilot learner and the Stable-Baselines3 algorithm it is measured next to (none where SB3 has none)."""

    learner: str
    """its name in agent.learners"""
    name: str
    sb3: str | None
    """the SB3 class"""
    sb3_name: str | None
    start: str
    end: str
    """its section's markers in docs/benchmarks.md"""
    envs: tuple[str, ...]
    """the environments it is measured on (those its actions suit)"""
    goal_envs: tuple[str, ...]
    """where ours must reach the threshold in less wall-clock"""

    def ours(self, env_id: str) -> dict[str, Any]:
        """our options that differ from their defaults on ``env_id`` (the learner's preset)"""
        return LEARNERS[self.learner].preset(env_id)

    def theirs(self, bench: Benchmark) -> dict[str, Any]:
        assert self.sb3 is not None
        return bench.sb3[self.sb3]


ON_POLICY_ENVS = ("CartPole-v1", "Acrobot-v1", "Pendulum-v1", "LunarLander-v3")
PAIRS = {
    "a3c": Pair("a3c", "A3C", "A2C", "A2C", START, END, ON_POLICY_ENVS, ("CartPole-v1", "Acrobot-v1")),
    "ppo": Pair("ppo", "PPO", "PPO", "SB3 PPO", "<!-- gym_bench_ppo:start -->", "<!-- gym_bench_ppo:end -->",
                ON_POLICY_ENVS, ("CartPole-v1",)),
    "dqn": Pair("dqn", "DQN", "DQN", "SB3 DQN", "<!-- gym_bench_dqn:start -->", "<!-- gym_bench_dqn:end -->",
                ("CartPole-v1", "MountainCar-v0"), ("CartPole-v1",)),
    "ddpg": Pair("ddpg", "DDPG", "DDPG", "SB3 DDPG", "<!-- gym_bench_ddpg:start -->", "<!-- gym_bench_ddpg:end -->",
                 ("Pendulum-v1",), ("Pendulum-v1",)),
    "reinforce": Pair("reinforce", "REINFORCE", None, None, "<!-- gym_bench_reinforce:start -->",
                      "<!-- gym_bench_reinforce:end -->", ("CartPole-v1", "MountainCar-v0"), ()),
    "actor-critic": Pair("actor-critic", "one-step actor-critic", None, None, "<!-- gym_bench_one_step:start -->",
                         "<!-- gym_bench_one_step:end -->", ("CartPole-v1",), ()),
}  # fmt: skip


DQN_NET = {"policy_kwargs": {"net_arch": [256, 256]}}
"""rl-zoo3's DQN network for the classic envs (ours: hidden 256 in agent/dqn/presets.py)"""

BENCHMARKS = {
    b.env_id: b
    for b in (
        Benchmark("CartPole-v1", 475.0, 500_000, 5_000, sb3={
            "A2C": {"n_envs": 8, "ent_coef": 0.0},  # zoo n_timesteps 5e5
            "PPO": {"n_envs": 8, "n_steps": 32, "batch_size": 256, "gae_lambda": 0.8, "gamma": 0.98, "n_epochs": 20,
                    "ent_coef": 0.0, "learning_rate": LinearSchedule(0.001), "clip_range": LinearSchedule(0.2)},
            "DQN": {"n_envs": 1, "learning_rate": 2.3e-3, "batch_size": 64, "buffer_size": 100_000,
                    "learning_starts": 1000, "gamma": 0.99, "target_update_interval": 10, "train_freq": 256,
                    "gradient_steps": 128, "exploration_fraction": 0.16, "exploration_final_eps": 0.04, **DQN_NET},
        }, budgets={"dqn": (50_000, 2_500), "reinforce": (200_000, 10_000), "actor-critic": (200_000, 10_000)}),
        Benchmark("Acrobot-v1", -100.0, 500_000, 5_000, sb3={
            "A2C": {"n_envs": 16, "normalize": True, "ent_coef": 0.0},
            "PPO": {"n_envs": 16, "normalize": True, "n_steps": 256, "gae_lambda": 0.94, "gamma": 0.99, "n_epochs": 4,
                    "ent_coef": 0.0},
        }),
        Benchmark("MountainCar-v0", -110.0, 120_000, 5_000, sb3={
            "DQN": {"n_envs": 1, "learning_rate": 4e-3, "batch_size": 128, "buffer_size": 10_000,
                    "learning_starts": 1000, "gamma": 0.98, "target_update_interval": 600, "train_freq": 16,
                    "gradient_steps": 8, "exploration_fraction": 0.2, "exploration_final_eps": 0.07, **DQN_NET},
        }, budgets={"reinforce": (1_000_000, 20_000)}),
        Benchmark("Pendulum-v1", -200.0, 1_000_000, 10_000, sb3={
            "A2C": {"n_envs": 8, "normalize": True, "ent_coef": 0.0, "max_grad_norm": 0.5, "n_steps": 8,
                    "gae_lambda": 0.9, "vf_coef": 0.4, "gamma": 0.9, "use_rms_prop": True,
                    "normalize_advantage": False, "learning_rate": LinearSchedule(7e-4), "use_sde": True,
                    "policy_kwargs": {"log_std_init": -2, "ortho_init": False}},  # zoo n_timesteps 1e6
            "PPO": {"n_envs": 4, "n_steps": 1024, "gae_lambda": 0.95, "gamma": 0.9, "n_epochs": 10, "ent_coef": 0.0,
                    "learning_rate": 1e-3, "clip_range": 0.2, "use_sde": True, "sde_sample_freq": 4},
            "DDPG": {"n_envs": 1, "gamma": 0.98, "buffer_size": 200_000, "learning_starts": 10_000,
                     "noise_std": 0.1, "train_freq": 200, "gradient_steps": 200, "learning_rate": 1e-3,
                     "policy_kwargs": {"net_arch": [400, 300]}},  # zoo: train_freq [1, episode], gradient_steps -1
        }, budgets={"ddpg": (20_000, 2_000)}),
        Benchmark("LunarLander-v3", 200.0, 1_000_000, 20_000, sb3={
            "A2C": {"n_envs": 8, "gamma": 0.995, "n_steps": 5, "learning_rate": LinearSchedule(0.00083),
                    "ent_coef": 0.00001},  # zoo n_timesteps 2e5
            "PPO": {"n_envs": 16, "n_steps": 1024, "batch_size": 64, "gae_lambda": 0.98, "gamma": 0.999,
                    "n_epochs": 4, "ent_coef": 0.01},
        }),
    )
}  # fmt: skip

EVAL_EPISODES = 10
"""episodes of every evaluation during a run"""
FINAL_EPISODES = 100
"""episodes of the final evaluation of each run's policy"""
FINAL_SEED = 10_000
"""the reset seed of the final evaluation's first episode"""


@dataclass(frozen=True)
class BenchConfig:
    algos: tuple[str, ...] = tuple(PAIRS)
    envs: tuple[str, ...] = tuple(BENCHMARKS)
    seeds: tuple[int, ...] = (1, 2, 3)
    budget: float = 1.0
    """scales every env's step budget (0.05 for a quick look)"""
    workers: int = 2
    """A3C worker processes"""
    runs_dir: Path = Path("runs/bench")
    """pixelpilot's run folders (config, checkpoints, TensorBoard events)"""

    def steps(self, env_id: str, pair: Pair) -> int:
        return max(1, round(BENCHMARKS[env_id].budget(pair.learner)[0] * self.budget))

    def eval_every(self, env_id: str, pair: Pair) -> int:
        return max(1, round(BENCHMARKS[env_id].budget(pair.learner)[1] * self.budget))

    def envs_of(self, pair: Pair) -> list[str]:
        """The chosen environments ``pair`` is measured on."""
        return [env_id for env_id in self.envs if env_id in pair.envs]
