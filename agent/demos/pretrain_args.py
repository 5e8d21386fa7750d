"""``pixelpilot pretrain``'s options: a typed dataclass, a docstring per field, checked when made. It imports no
torch, so the command's parser is built without it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.config import ConfigError, check_fields


@dataclass
class PretrainArgs:
    data: list[str] = field(default_factory=list)
    """the demonstrations: datasets written by ``pixelpilot record`` (one or more sessions)"""
    env_id: str = "pixelpilot/Screen-v0"
    """the environment the checkpoint is for (its config); Screen-v0 gets the dataset's profile"""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """the environment's keyword arguments stored in the checkpoint (evaluate and train --init-from use them)"""
    model: str = "cnn-lstm"
    """network: cnn-lstm (a recurrent core) or cnn-mlp (feed-forward; what A3C's pixel recipe trains)"""
    hidden: int | None = None
    """units of the core (default 256, as in A3C)"""
    frame_stack: int = 1
    """the model sees this many consecutive frames stacked as channels (a stretch's first frame fills the stack,
    as in training and play)"""
    pool: int = 1
    """average-pool each frame by this factor before the convolutions"""
    input_norm: bool = False
    """standardise each window of frames over its pixels inside the model (a faint sprite reaches the convolutions
    with the contrast of a bright one)"""
    frame_differences: bool = False
    """the model sees the newest frame and what changed between the stacked ones (needs frame-stack ≥ 2)"""
    init_from: str | None = None
    """a checkpoint to start from (another round of cloning, a pilot to correct): its network, weights included,
    replaces model, hidden, frame_stack, pool, input_norm and frame_differences"""
    epochs: int = 30
    """passes over the training windows at most"""
    patience: int = 4
    """stop after this many epochs without a better validation loss"""
    seq_len: int = 8
    """frames per training window (short windows, many per step: consecutive frames are nearly the same
    picture, so a step's diversity comes from the number of windows)"""
    burn_in: int = 2
    """first frames of each window only warm up the recurrent state (no loss)"""
    batch_windows: int = 16
    """windows per gradient step"""
    lr: float = 3e-4
    """Adam learning rate"""
    augment_shift: int = 0
    """move each training window's frames by up to this many pixels (the same shift for all of its frames);
    0: off"""
    augment_brightness: float = 0.0
    """change each training window's contrast by up to this share and its brightness by up to half of it; 0: off"""
    balance_classes: bool = True
    """weight each action by the inverse of its frequency in the training windows (capped at 10x)"""
    value_coef: float = 0.5
    """weight of the value loss (targets: discounted returns of the demonstrations times reward_scale; the loss
    is divided by their variance)"""
    gamma: float = 0.99
    """discount of the value targets"""
    reward_scale: float = 0.1
    """rewards are multiplied by this for the value targets (use A3C's value when fine-tuning)"""
    val_fraction: float = 0.15
    """share of the data held out for validation, in blocks of ``val_block_seconds``"""
    val_block_seconds: float = 20.0
    """length of the time blocks the validation split draws"""
    seed: int = 1
    """seed of the split, the initial weights and the window order"""
    run_name: str | None = None
    """folder name under runs_dir (default: pretrain__DATASET__DATE-TIME)"""
    runs_dir: str = "runs"
    """where run folders go"""
    torch_threads: int = 2
    """torch threads"""

    def __post_init__(self) -> None:
        checks = {
            "data": bool(self.data),
            "epochs": self.epochs >= 1,
            "patience": self.patience >= 1,
            "seq_len": self.seq_len >= 1,
            "burn_in": 0 <= self.burn_in < self.seq_len,
            "batch_windows": self.batch_windows >= 1,
            "lr": 0 < self.lr < 1,
            "value_coef": self.value_coef >= 0,
            "gamma": 0 < self.gamma <= 1,
            "reward_scale": self.reward_scale > 0,
            "val_fraction": 0 < self.val_fraction < 1,
            "val_block_seconds": self.val_block_seconds > 0,
            "torch_threads": self.torch_threads >= 1,
            "frame_stack": self.frame_stack >= 1,
            "pool": self.pool >= 1,
            "augment_shift": self.augment_shift >= 0,
            "augment_brightness": 0 <= self.augment_brightness < 1,
        }
        check_fields(self, checks)
        if self.model not in ("cnn-lstm", "cnn-mlp"):
            raise ConfigError(f"model: choose cnn-lstm or cnn-mlp, got {self.model!r}")
        if self.frame_differences and self.frame_stack < 2 and self.init_from is None:
            raise ConfigError("frame-differences: needs --frame-stack 2 or more")
