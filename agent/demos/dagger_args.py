"""``pixelpilot dagger``'s options: a typed dataclass, a docstring per field, checked when made. It imports no
torch, so the command's parser is built without it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.config import ConfigError, check_fields

STYLES = ("expert", "strong")


@dataclass
class DaggerArgs:
    rounds: int = 5
    """rounds after the first clone: the clone drives, the scripted driver labels what it saw, the clone is
    retrained on everything labelled so far"""
    episodes_per_round: int = 50
    """races driven (and labelled) per round, a new track each"""
    beta: float = 0.5
    """in round r the scripted driver's own action is the one taken on a share beta**r of the steps (round 0:
    all of them, which is behaviour cloning); the clone takes the others"""
    labeller: str = "expert"
    """the scripted driver that labels: expert (the hand-set one) or strong (tuned by search)"""
    data: list[str] = field(default_factory=list)
    """recorded demonstrations to start from (datasets of ``pixelpilot record``); they replace round 0's races"""
    env_kwargs: dict[str, Any] = field(default_factory=lambda: {"laps": 1, "max_episode_steps": 2000})
    """pixelpilot/NeonRace-v0's arguments for the races driven in each round and for the evaluations"""
    envs: int = 8
    """races driven side by side (one batched forward pass per step)"""
    eval_episodes: int = 50
    """races of each round's evaluation (held-out tracks: reset seeds from eval_seed)"""
    eval_seed: int = 1_000_000
    """reset seed of the first evaluation race (the benchmarks' held-out tracks)"""
    model: str = "cnn-mlp"
    """network: cnn-mlp (A3C's pixel recipe, so ``train --init-from`` can go on from the clone) or cnn-lstm"""
    frame_stack: int = 2
    """consecutive frames the clone sees"""
    pool: int = 2
    """average-pool each frame by this factor before the convolutions"""
    epochs: int = 8
    """passes over the aggregated data per round at most (early stopping on a held-out share)"""
    patience: int = 2
    """stop a round's training after this many epochs without a better validation loss"""
    lr: float = 3e-4
    """Adam learning rate"""
    val_block_seconds: float = 20.0
    """the cloning's validation split draws blocks of this many seconds of driving"""
    balance_classes: bool = False
    """weight actions by their inverse frequency; off by default: every state the clone reaches is labelled, so
    the labeller's own action shares are the prior to keep"""
    seed: int = 1
    """seed of the races' tracks (training tracks never overlap the held-out ones), the mixing and the clone"""
    run_name: str | None = None
    """folder name under runs_dir (default: dagger__DATE-TIME)"""
    runs_dir: str = "runs"
    """where run folders go"""
    torch_threads: int = 2
    """torch threads"""

    def __post_init__(self) -> None:
        checks = {
            "rounds": 0 <= self.rounds < 100,
            "episodes_per_round": 1 <= self.episodes_per_round <= 10_000,
            "beta": 0 <= self.beta <= 1,
            "envs": self.envs >= 1,
            "eval_episodes": self.eval_episodes >= 1,
            "frame_stack": self.frame_stack >= 1,
            "pool": self.pool >= 1,
            "epochs": self.epochs >= 1,
            "patience": self.patience >= 1,
            "lr": 0 < self.lr < 1,
            "val_block_seconds": self.val_block_seconds > 0,
            "seed": self.seed >= 0,
            "torch_threads": self.torch_threads >= 1,
        }
        check_fields(self, checks)
        if self.labeller not in STYLES:
            raise ConfigError(f"labeller: choose {' or '.join(STYLES)}, got {self.labeller!r}")
        if self.model not in ("cnn-lstm", "cnn-mlp"):
            raise ConfigError(f"model: choose cnn-lstm or cnn-mlp, got {self.model!r}")
