"""``pixelpilot pretrain``: behaviour cloning of recorded demonstrations into the A3C actor-critic.

Reads top to bottom: load the dataset, cut it into windows of consecutive frames (the recurrent core is trained
through time exactly as it acts, its state starting from zero ``burn_in`` steps before the loss counts), split
the windows into training and validation by blocks of time (neighbouring frames are near copies, so a random
split would validate on the training set), then fit the policy head with cross-entropy on the person's actions
(optionally class-balanced: a cloned racer that only drives straight is the classic failure) and the value head
with the discounted returns of the demonstrations. Early stopping keeps the weights of the best validation loss.

Out comes a normal pixelpilot policy checkpoint (``RUN/checkpoints/latest.pt``, no optimizer state) that
``play``, ``evaluate`` and ``train --init-from`` take.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces

from agent import a3c
from agent.config import ConfigError, check_fields, to_toml
from agent.demos import Demos, join_demos, load_demos
from capture.preprocess import OBS_SHAPE, uint8_to_obs
from models.actor_critic import build


@dataclass
class PretrainArgs:
    data: list[str] = field(default_factory=list)
    """the demonstrations: datasets written by ``pixelpilot record`` (one or more sessions)"""
    env_id: str = "pixelpilot/Screen-v0"
    """the environment the checkpoint is for (its config); Screen-v0 gets the dataset's profile"""
    model: str = "cnn-lstm"
    """network: cnn-lstm (what A3C trains on images by default) or cnn-mlp"""
    hidden: int | None = None
    """units of the core (default 256, as in A3C)"""
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
        }
        check_fields(self, checks)
        if self.model not in ("cnn-lstm", "cnn-mlp"):
            raise ConfigError(f"model: choose cnn-lstm or cnn-mlp, got {self.model!r}")


@dataclass
class PretrainResult:
    checkpoint: Path
    epochs: int
    best_epoch: int
    val_loss: float
    val_accuracy: float
    """share of validation steps where the policy's most likely action is the person's"""
    train_windows: int
    val_windows: int
    seconds: float


def is_clone(counters: dict[str, int]) -> bool:
    """Whether a checkpoint's counters are those :func:`pretrain` writes (a behaviour clone); A3C, also with
    ``--init-from``, starts its own."""
    return "pretrain_epochs" in counters


def windows(demos: Demos, seq_len: int, burn_in: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Start indices of windows of ``seq_len`` consecutive steps, overlapping by ``burn_in`` so that every step
    is learned from once, and per step whether it ends a stretch (its episode ended, or the next step is not the
    next frame: a pause, a discard, another recording)."""
    n = len(demos.actions)
    fps = float(demos.meta.get("fps") or 15.0)
    gap = np.zeros(n, bool)
    gap[:-1] = (np.diff(demos.time) > 1.5 / fps) | (np.diff(demos.episode) != 0)
    ends = demos.ended | gap
    ends[-1] = True
    starts = np.arange(0, n - seq_len + 1, seq_len - burn_in)
    return starts, ends


def split(starts: np.ndarray, block: int, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Windows into (train, validation) by blocks of ``block`` steps; at least one window in each."""
    blocks = starts // block
    ids = np.unique(blocks)
    n_val = min(max(1, round(len(ids) * fraction)), len(ids) - 1)
    if len(ids) < 2 or n_val < 1:
        raise ConfigError(f"too little data to hold out a validation set: {len(starts)} windows")
    val_ids = rng.choice(ids, n_val, replace=False)
    val = np.isin(blocks, val_ids)
    return starts[~val], starts[val]


def batch(demos: Demos, returns: np.ndarray, ends: np.ndarray, starts: np.ndarray, seq_len: int) -> tuple:
    """Time-major tensors (T, B, ...) for the windows at ``starts``."""
    index = starts[None, :] + np.arange(seq_len)[:, None]
    obs = torch.from_numpy(uint8_to_obs(demos.frames[index]))
    actions = torch.from_numpy(demos.actions[index])
    mask = torch.from_numpy(~demos.idle[index])
    targets = torch.from_numpy(returns[index])
    return obs, actions, mask, targets, torch.from_numpy(ends[index].astype(np.float32))


def losses(
    model: torch.nn.Module, args: PretrainArgs, data: tuple, weights: torch.Tensor | None, value_scale: float
) -> tuple:
    obs, actions, mask, targets, ends = data
    state = model.initial_state(obs.shape[1]) if model.recurrent else None
    dist, values, _ = a3c.replay(model, obs, state, ends)
    counted = mask.clone()
    counted[: args.burn_in] = False
    counted = counted.flatten()
    logits = dist.logits[counted]
    policy = F.cross_entropy(logits, actions.flatten()[counted], weight=weights)
    scored = torch.ones_like(mask)
    scored[: args.burn_in] = False
    scored = scored.flatten()
    value = F.mse_loss(values.flatten()[scored], targets.flatten()[scored]) / value_scale
    correct = (logits.argmax(-1) == actions.flatten()[counted]).sum().item()
    return policy, value, correct, int(counted.sum())


def pretrain(args: PretrainArgs) -> PretrainResult:
    torch.set_num_threads(args.torch_threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    started = time.monotonic()

    # -- the data ---------------------------------------------------------------------------------------------
    demos = join_demos([load_demos(path) for path in args.data])
    returns = demos.returns(args.gamma) * args.reward_scale
    starts, ends = windows(demos, args.seq_len, args.burn_in)
    if len(starts) == 0:
        data = ", ".join(args.data)
        raise ConfigError(f"{data}: {len(demos.actions)} steps, fewer than one window of {args.seq_len}")
    fps = float(demos.meta.get("fps") or 15.0)
    train_starts, val_starts = split(starts, round(args.val_block_seconds * fps), args.val_fraction, rng)
    # The value loss in units of the targets' variance: raw returns (hundreds per step on a racer) would make
    # it thousands of times the cross-entropy and drown the policy's gradient in the shared trunk.
    scored = (train_starts[None, :] + np.arange(args.burn_in, args.seq_len)[:, None]).ravel()
    value_scale = float(max(np.var(returns[scored]), 1e-6))
    weights = None
    if args.balance_classes:
        counts = np.bincount(demos.actions[scored][~demos.idle[scored]], minlength=demos.n_actions).astype(np.float64)
        weights_np = np.where(counts > 0, counts.sum() / (demos.n_actions * np.maximum(counts, 1)), 0.0)
        weights = torch.tensor(np.clip(weights_np, 0.0, 10.0), dtype=torch.float32)

    # -- the model and its files ------------------------------------------------------------------------------
    obs_space = spaces.Box(0.0, 1.0, OBS_SHAPE, np.float32)
    model = build(obs_space, spaces.Discrete(demos.n_actions), args.model, args.hidden)
    # The critic starts at the mean return: from 0, the first value gradients (the mean is several standard
    # deviations away) reshape the shared trunk towards a constant and the policy stays at the action prior.
    with torch.no_grad():
        model.value.bias.fill_(float(np.mean(returns[scored])))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    env_kwargs = {"profile": demos.meta["profile"]} if args.env_id == "pixelpilot/Screen-v0" else {}
    a3c_args = a3c.Args(env_id=args.env_id, env_kwargs=env_kwargs, model=args.model, hidden=args.hidden)
    name = args.run_name or f"pretrain__{Path(args.data[0]).name}__{datetime.now():%Y%m%d-%H%M%S}"
    run_dir = Path(args.runs_dir) / name
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.toml").write_text(
        f"# pixelpilot pretrain --config {run_dir / 'config.toml'} reproduces this run\n"
        + to_toml(dataclasses.asdict(args))
    )
    checkpoint = run_dir / "checkpoints" / "latest.pt"

    # -- training with early stopping -------------------------------------------------------------------------
    best = (float("inf"), 0, 0.0)
    best_weights = copy.deepcopy(model.state_dict())
    epoch = 0
    with (run_dir / "progress.csv").open("w", newline="") as file:
        rows = csv.writer(file)
        rows.writerow(["epoch", "wall_s", "train_policy_loss", "train_value_loss", "val_policy_loss",
                       "val_value_loss", "val_accuracy"])  # fmt: skip
        for epoch in range(1, args.epochs + 1):
            model.train()
            order = rng.permutation(train_starts)
            sums = np.zeros(2)
            for i in range(0, len(order), args.batch_windows):
                data = batch(demos, returns, ends, order[i : i + args.batch_windows], args.seq_len)
                policy, value, _, _ = losses(model, args, data, weights, value_scale)
                optimizer.zero_grad()
                (policy + args.value_coef * value).backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 40.0)
                optimizer.step()
                sums += (policy.item(), value.item())
            train_loss = sums / max(1, -(-len(order) // args.batch_windows))
            model.eval()
            val_policy = val_value = 0.0
            correct = counted = 0
            with torch.no_grad():
                for i in range(0, len(val_starts), args.batch_windows):
                    chunk = val_starts[i : i + args.batch_windows]
                    data = batch(demos, returns, ends, chunk, args.seq_len)
                    policy, value, c, k = losses(model, args, data, None, value_scale)
                    val_policy += policy.item() * k
                    val_value += value.item() * len(chunk)
                    correct, counted = correct + c, counted + k
            val_policy /= max(counted, 1)
            val_value /= len(val_starts)
            accuracy = correct / max(counted, 1)
            rows.writerow([epoch, f"{time.monotonic() - started:.1f}", f"{train_loss[0]:.4f}", f"{train_loss[1]:.4f}",
                           f"{val_policy:.4f}", f"{val_value:.4f}", f"{accuracy:.4f}"])  # fmt: skip
            file.flush()
            print(f"epoch {epoch}: train loss {train_loss[0]:.3f}, validation loss {val_policy:.3f}, "
                  f"accuracy {accuracy:.1%}", flush=True)  # fmt: skip
            if val_policy < best[0]:
                best = (val_policy, epoch, accuracy)
                best_weights = copy.deepcopy(model.state_dict())
            elif epoch - best[1] >= args.patience:
                break

    counters = {"steps": 0, "updates": 0, "episodes": 0, "pretrain_epochs": best[1], "demo_steps": len(demos.actions)}
    payload = {"format": a3c.CHECKPOINT_FORMAT, "model": best_weights, "counters": counters,
               "config": dataclasses.asdict(a3c_args)}  # fmt: skip
    a3c.save_atomically(payload, checkpoint)
    return PretrainResult(
        checkpoint=checkpoint, epochs=epoch, best_epoch=best[1], val_loss=best[0], val_accuracy=best[2],
        train_windows=len(train_starts), val_windows=len(val_starts), seconds=time.monotonic() - started,
    )  # fmt: skip
