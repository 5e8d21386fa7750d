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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch.distributions import Categorical

from agent.config import ConfigError, to_toml
from agent.demos.augment import augment
from agent.demos.dataset import Demos, join_demos, load_demos
from agent.demos.pretrain_args import PretrainArgs
from agent.policy.checkpoint import BEHAVIOUR_CLONING, Checkpoint, load_checkpoint, save_checkpoint
from agent.runs import new_run_dir, timestamp
from capture.preprocess import OBS_SHAPE, uint8_to_obs
from models.actor_critic import ActorCritic
from models.build import build_for


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
    warnings: list[str]
    """signs that the clone is blind to the picture (:func:`blindness`)"""


BLIND_MARGIN = 0.03
"""validation accuracy within this of the majority action's share looks like the action prior"""
ONE_ACTION = 0.9
"""a clone choosing one action on more than this share of the validation frames looks blind"""


def windows(demos: Demos, seq_len: int, burn_in: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Start indices of windows of ``seq_len`` consecutive steps, overlapping by ``burn_in`` so that every step
    is learned from once, and :func:`stretch_ends`."""
    starts = np.arange(0, len(demos.actions) - seq_len + 1, seq_len - burn_in)
    return starts, stretch_ends(demos)


def stretch_ends(demos: Demos) -> np.ndarray:
    """Per step, whether it ends a stretch of consecutive frames: its episode ended, or the next step is not the
    next frame (a pause, a discard, another recording)."""
    fps = float(demos.meta.get("fps") or 15.0)
    gap = np.zeros(len(demos.actions), bool)
    gap[:-1] = (np.diff(demos.time) > 1.5 / fps) | (np.diff(demos.episode) != 0)
    ends = demos.ended | gap
    ends[-1] = True
    return ends


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


def stretch_starts(ends: np.ndarray) -> np.ndarray:
    """Per step, the first step of its stretch (the step after the last end before it)."""
    first = np.zeros(len(ends), np.int64)
    first[1:] = np.where(ends[:-1], np.arange(1, len(ends)), 0)
    return np.maximum.accumulate(first)


def stacked(frames: np.ndarray, index: np.ndarray, first: np.ndarray, k: int) -> np.ndarray:
    """Observations of the steps at ``index`` with the ``k`` latest frames as channels, oldest first; frames
    before a stretch's start repeat its first frame (:class:`agent.envs.wrappers.FrameStack` does the same)."""
    return np.concatenate([uint8_to_obs(frames[np.maximum(index - back, first[index])])
                           for back in range(k - 1, -1, -1)], axis=-1)  # fmt: skip


def batch(
    demos: Demos, returns: np.ndarray, ends: np.ndarray, first: np.ndarray, starts: np.ndarray, seq_len: int, stack: int
) -> tuple:
    """Time-major tensors (T, B, ...) for the windows at ``starts``, ``stack`` frames per observation (``first``:
    :func:`stretch_starts` of ``ends``)."""
    index = starts[None, :] + np.arange(seq_len)[:, None]
    obs = torch.from_numpy(stacked(demos.frames, index, first, stack))
    actions = torch.from_numpy(demos.actions[index])
    mask = torch.from_numpy(~demos.idle[index])
    targets = torch.from_numpy(returns[index])
    return obs, actions, mask, targets, torch.from_numpy(ends[index].astype(np.float32))


def losses(
    model: ActorCritic, args: PretrainArgs, data: tuple, weights: torch.Tensor | None, value_scale: float
) -> tuple:
    obs, actions, mask, targets, ends = data
    unrolled = model.evaluate_actions(obs, model.initial_state(obs.shape[1]), ends)
    dist, values = unrolled.dist, unrolled.value
    assert isinstance(dist, Categorical), "a clone chooses among an action table's indices"
    counted = mask.clone()
    counted[: args.burn_in] = False
    counted = counted.flatten()
    logits = dist.logits[counted]
    policy = F.cross_entropy(logits, actions.flatten()[counted], weight=weights)
    scored = torch.ones_like(mask)
    scored[: args.burn_in] = False
    scored = scored.flatten()
    value = F.mse_loss(values.flatten()[scored], targets.flatten()[scored]) / value_scale
    chosen, taken = logits.argmax(-1), actions.flatten()[counted]
    n = logits.shape[-1]
    counts = np.stack([np.bincount(taken.numpy(), minlength=n), np.bincount(chosen.numpy(), minlength=n)])
    return policy, value, (chosen == taken).sum().item(), int(counted.sum()), counts


def pretrain(
    args: PretrainArgs, status: Callable[[str], None] = print, stop: threading.Event | None = None
) -> PretrainResult:
    """Clone ``args.data`` into a checkpoint; ``status`` receives a line per epoch; ``stop`` set ends the
    training after the epoch under way (the best weights so far are kept)."""
    torch.set_num_threads(args.torch_threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    started = time.monotonic()

    # -- the data ---------------------------------------------------------------------------------------------
    demos = join_demos([load_demos(path) for path in args.data])
    returns = demos.returns(args.gamma) * args.reward_scale
    starts, ends = windows(demos, args.seq_len, args.burn_in)
    if len(starts) == 0:
        datasets = ", ".join(args.data)
        raise ConfigError(f"{datasets}: {len(demos.actions)} steps, fewer than one window of {args.seq_len}")
    fps = float(demos.meta.get("fps") or 15.0)
    train_starts, val_starts = split(starts, round(args.val_block_seconds * fps), args.val_fraction, rng)
    # The value loss in units of the targets' variance: raw returns (hundreds per step on a racer) would make
    # it thousands of times the cross-entropy and drown the policy's gradient in the shared trunk.
    scored = (train_starts[None, :] + np.arange(args.burn_in, args.seq_len)[:, None]).ravel()
    value_scale = max(float(np.var(returns[scored])), 1e-6)
    weights = None
    if args.balance_classes:
        counts = np.bincount(demos.actions[scored][~demos.idle[scored]], minlength=demos.n_actions).astype(np.float64)
        weights_np = np.where(counts > 0, counts.sum() / (demos.n_actions * np.maximum(counts, 1)), 0.0)
        weights = torch.tensor(np.clip(weights_np, 0.0, 10.0), dtype=torch.float32)

    # -- the model and its files ------------------------------------------------------------------------------
    if args.init_from:
        # Another round of cloning, or a pilot to correct: its own network, whatever the options say.
        start = load_checkpoint(args.init_from)
        if start.spec.n_actions != demos.n_actions or tuple(start.spec.observation_shape[:2]) != OBS_SHAPE[:2]:
            raise ConfigError(f"{start.where}: built for {start.spec.n_actions} actions on "
                              f"{start.spec.observation_shape} frames; the demonstrations have {demos.n_actions} "
                              f"actions on {OBS_SHAPE} frames")  # fmt: skip
        model = start.model()
    else:
        height, width, channels = OBS_SHAPE
        obs_space = spaces.Box(0.0, 1.0, (height, width, channels * args.frame_stack), np.float32)
        model = build_for(obs_space, spaces.Discrete(demos.n_actions), args.model, args.hidden, args.frame_stack,
                          args.pool, input_norm=args.input_norm, frame_differences=args.frame_differences)  # fmt: skip
        # The critic starts at the mean return: from 0, the first value gradients (the mean is several standard
        # deviations away) reshape the shared trunk towards a constant and the policy stays at the action prior.
        with torch.no_grad():
            model.value_head.bias.fill_(float(np.mean(returns[scored])))
    stack = model.spec.frame_stack
    first = stretch_starts(ends)  # once: each window's frame stacks stop at its stretch's start
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    env_kwargs = dict(args.env_kwargs)
    if args.env_id == "pixelpilot/Screen-v0":
        env_kwargs.setdefault("profile", demos.meta["profile"])
    run_dir = new_run_dir(args.runs_dir, args.run_name, f"pretrain__{Path(args.data[0]).name}__{timestamp()}")
    (run_dir / "config.toml").write_text(
        f"# pixelpilot pretrain --config {run_dir / 'config.toml'} reproduces this run\n"
        + to_toml(dataclasses.asdict(args))
    )
    checkpoint = run_dir / "checkpoints" / "latest.pt"

    # -- training with early stopping -------------------------------------------------------------------------
    best = (float("inf"), 0, 0.0)
    best_weights, best_choices = copy.deepcopy(model.state_dict()), np.zeros((2, demos.n_actions), np.int64)
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
                data = batch(demos, returns, ends, first, order[i : i + args.batch_windows], args.seq_len, stack)
                if args.augment_shift or args.augment_brightness:
                    data = (augment(data[0], args.augment_shift, args.augment_brightness, rng), *data[1:])
                policy, value, _, _, _ = losses(model, args, data, weights, value_scale)
                optimizer.zero_grad()
                (policy + args.value_coef * value).backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 40.0)
                optimizer.step()
                sums += (policy.item(), value.item())
            train_loss = sums / max(1, -(-len(order) // args.batch_windows))
            model.eval()
            val_policy = val_value = 0.0
            correct = counted = 0
            choices = np.zeros((2, demos.n_actions), np.int64)  # the person's actions, the clone's
            with torch.no_grad():
                for i in range(0, len(val_starts), args.batch_windows):
                    chunk = val_starts[i : i + args.batch_windows]
                    data = batch(demos, returns, ends, first, chunk, args.seq_len, stack)
                    policy, value, c, k, counts = losses(model, args, data, None, value_scale)
                    choices += counts
                    val_policy += policy.item() * k
                    val_value += value.item() * len(chunk)
                    correct, counted = correct + c, counted + k
            val_policy /= max(counted, 1)
            val_value /= len(val_starts)
            accuracy = correct / max(counted, 1)
            rows.writerow([epoch, f"{time.monotonic() - started:.1f}", f"{train_loss[0]:.4f}", f"{train_loss[1]:.4f}",
                           f"{val_policy:.4f}", f"{val_value:.4f}", f"{accuracy:.4f}"])  # fmt: skip
            file.flush()
            status(f"epoch {epoch}: train loss {train_loss[0]:.3f}, validation loss {val_policy:.3f}, "
                   f"accuracy {accuracy:.1%}")  # fmt: skip
            if val_policy < best[0]:
                best = (val_policy, epoch, accuracy)
                best_weights, best_choices = copy.deepcopy(model.state_dict()), choices
            elif epoch - best[1] >= args.patience:
                break
            if stop is not None and stop.is_set():
                status(f"stopped after epoch {epoch}")
                break

    counters = {"steps": 0, "updates": 0, "episodes": 0, "pretrain_epochs": best[1], "demo_steps": len(demos.actions)}
    save_checkpoint(Checkpoint(model.spec, best_weights, args.env_id, env_kwargs, BEHAVIOUR_CLONING, counters,
                               dataclasses.asdict(args)), checkpoint)  # fmt: skip
    return PretrainResult(
        checkpoint=checkpoint, epochs=epoch, best_epoch=best[1], val_loss=best[0], val_accuracy=best[2],
        train_windows=len(train_starts), val_windows=len(val_starts), seconds=time.monotonic() - started,
        warnings=blindness(best[2], best_choices[0], best_choices[1], demos.meta.get("actions") or []),
    )  # fmt: skip


def blindness(accuracy: float, taken: np.ndarray, chosen: np.ndarray, names: list[str]) -> list[str]:
    """What says a clone is blind to the picture on its validation frames: an accuracy no better than always
    answering the person's most common action, or one action chosen nearly everywhere."""
    name = lambda i: names[i] if i < len(names) else str(i)  # noqa: E731
    warnings = []
    if taken.sum() and accuracy <= taken.max() / taken.sum() + BLIND_MARGIN:
        top = int(taken.argmax())
        warnings.append(f"validation accuracy {accuracy:.1%} is within {BLIND_MARGIN:.0%} of the share of the "
                        f"person's most common action ({name(top)}, {taken[top] / taken.sum():.1%}): the clone may "
                        "be answering the action prior, not reading the picture")  # fmt: skip
    if chosen.sum() and chosen.max() / chosen.sum() > ONE_ACTION:
        top = int(chosen.argmax())
        warnings.append(f"the clone chose {name(top)} on {chosen[top] / chosen.sum():.0%} of the validation frames: "
                        "it looks blind to the picture")  # fmt: skip
    return warnings
