"""``pixelpilot dagger``: DAgger on the bundled game, with the scripted driver as the labeller.

A behaviour clone learns the expert's actions in the expert's states. Driving on its own it soon reaches states
the expert never visited (a wider line, a rival closer, a slower entry into a bend), has learned nothing there,
and its errors compound. DAgger (Ross, Gordon and Bagnell, 2011) closes that gap: the clone drives, the expert
says what it would have done in every state the clone reached, and the clone is retrained on everything
labelled so far.

Reads top to bottom: round 0 is behaviour cloning (the expert drives, or the user's recorded demonstrations
stand in); in each later round r the clone drives ``pixelpilot/NeonRace-v0`` in-process, taking the expert's
own action on a share ``beta**r`` of the steps, every step labelled with the expert's action; the round's races
are written as an ordinary pixelpilot dataset (``RUN/rounds/NN-data``: ``pretrain`` and ``demos info`` read
it), the clone is retrained on all datasets so far from its last weights (:func:`agent.demos.pretrain.pretrain`)
and raced greedily on the held-out tracks, next to the expert on the same tracks.

Out: ``RUN/progress.csv`` (a row per round), ``RUN/rounds/NN-clone/`` (each round's cloning run) and
``RUN/checkpoints/latest.pt`` (the last round's clone: ``evaluate``, ``play`` and ``train --init-from`` take it).
"""

from __future__ import annotations

import csv
import dataclasses
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from agent.config import to_toml
from agent.demos.dagger_args import DaggerArgs
from agent.demos.dataset import stored_frame
from agent.demos.pretrain import pretrain
from agent.demos.pretrain_args import PretrainArgs
from agent.demos.writer import DemoWriter
from agent.envs.make import close_all, make_env, make_envs
from agent.policy.checkpoint import load_checkpoint
from agent.policy.evaluation import Evaluation, evaluate, policy_episodes
from agent.runs import new_run_dir, timestamp
from control.actions import ACTION_NAMES, ACTIONS, key_bits
from games.neonrace.expert import EXPERT, STRONG, Style, expert_action
from games.neonrace.sim import Game
from models.actor_critic import ActorCritic, mask_state

ENV_ID = "pixelpilot/NeonRace-v0"
FPS = 15.0
TRACKS = 50_000_000
"""reset seeds of the races driven for labels start here: far from the held-out tracks' (1,000,000 on)"""


@dataclass
class Round:
    """One round: what was driven and labelled, and how the retrained clone races the held-out tracks."""

    round: int
    beta: float
    """share of the steps on which the expert's own action was taken"""
    steps: int
    """steps labelled this round"""
    data_steps: int
    """steps labelled in all rounds so far"""
    agreement: float | None
    """share of this round's steps where the clone (before retraining) chose the expert's action"""
    driven_laps: float
    """share of this round's races that finished their laps"""
    val_accuracy: float
    laps: float
    """held-out: share of the races finished"""
    lap_time: float | None
    """held-out: mean lap time of the finished races (s)"""
    ratio: float | None
    """held-out: lap time over the expert's on the same tracks"""
    crashes: float
    """held-out: crashes per race"""
    action_shares: tuple[float, ...]
    seconds: float
    """wall-clock since the run started"""


@dataclass
class DaggerResult:
    run_dir: Path
    checkpoint: Path
    expert_lap_time: float | None
    """the labeller's mean lap time on the held-out tracks (None: it finished none in the races' step limit)"""
    rounds: list[Round]


def game_of(env: gym.Env) -> Game:
    """The bundled game inside a NeonRace-v0 environment: the expert reads its state."""
    game = getattr(env.unwrapped, "game", None)
    assert isinstance(game, Game), "the labeller drives pixelpilot/NeonRace-v0"
    return game


def prefixed(status: Callable[[str], None], prefix: str) -> Callable[[str], None]:
    return lambda line: status(prefix + line)


def style_of(name: str) -> Style:
    return {"expert": EXPERT, "strong": STRONG}[name]


def collect(
    model: ActorCritic | None, args: DaggerArgs, out: Path, round_: int, beta: float, rng: np.random.Generator
) -> tuple[int, float, float | None]:
    """Drive ``args.episodes_per_round`` races, the expert's action taken on a share ``beta`` of the steps and
    the clone's on the others, every step labelled with the expert's action, into the dataset ``out``:
    (steps, share of the races finished, share of the steps the clone chose as the expert would)."""
    style = style_of(args.labeller)
    episodes = args.episodes_per_round
    envs = make_envs(ENV_ID, args.env_kwargs, min(args.envs, episodes), args.frame_stack)
    meta = {"source": f"dagger round {round_}, labelled by the scripted {args.labeller}", "env_id": ENV_ID,
            "env_kwargs": args.env_kwargs, "fps": FPS, "actions": list(ACTION_NAMES), "beta": beta}  # fmt: skip
    writer = DemoWriter(out, len(ACTIONS), meta, segment_steps=100_000)
    first_seed = TRACKS + args.seed * 1_000_000 + round_ * 10_000
    clock = 0.0

    def write(frames: list[np.ndarray], labels: list[int], rewards: list[float], truncated: bool) -> None:
        nonlocal clock
        writer.begin(frames[0])
        for i, (label, reward) in enumerate(zip(labels, rewards, strict=True)):
            clock += 1.0 / FPS
            last = i == len(labels) - 1
            writer.step(label, reward, frames[i + 1], clock, key_bits(ACTIONS[label]),
                        terminated=last and not truncated, truncated=last and truncated)  # fmt: skip
        clock += 1.0  # a gap: the next race is another stretch

    try:
        obs = np.stack([env.reset(seed=first_seed + i)[0] for i, env in enumerate(envs)])
        buffers: list[tuple[list[np.ndarray], list[int], list[float]]] = [([stored_frame(o)], [], []) for o in obs]
        following = len(envs)
        active = np.ones(len(envs), bool)
        state = model.initial_state(len(envs)) if model is not None else None
        steps = finished = agreed = decided = 0
        with torch.no_grad():
            while active.any():
                labels = [expert_action(game_of(env), style) if on else 0 for env, on in zip(envs, active, strict=True)]
                chosen = labels
                if model is not None:
                    decision = model.act(torch.as_tensor(obs), state, greedy=True)
                    state, chosen = decision.state, decision.action.tolist()
                keep = torch.ones(len(envs))
                for i in np.flatnonzero(active):
                    if model is not None:
                        agreed, decided = agreed + (chosen[i] == labels[i]), decided + 1
                    action = labels[i] if rng.random() < beta else chosen[i]
                    o, reward, terminated, truncated, info = envs[i].step(action)
                    frames, taken, rewards = buffers[i]
                    frames.append(stored_frame(o))
                    taken.append(labels[i])
                    rewards.append(float(reward))
                    steps += 1
                    if terminated or truncated:
                        write(frames, taken, rewards, truncated and not terminated)
                        finished += bool(info.get("finished"))
                        keep[i] = 0.0
                        if following < episodes:
                            o, _ = envs[i].reset(seed=first_seed + following)
                            following += 1
                            buffers[i] = ([stored_frame(o)], [], [])
                        else:
                            active[i] = False
                    obs[i] = o
                if state is not None:
                    state = mask_state(state, keep)
    finally:
        close_all(envs)
        writer.close()
    return steps, finished / episodes, (agreed / decided if decided else None)


def expert_reference(args: DaggerArgs) -> Evaluation:
    """The labeller on the held-out tracks: the lap time the clone is measured against."""
    env = make_env(ENV_ID, args.env_kwargs)
    style = style_of(args.labeller)
    try:
        races = policy_episodes(lambda obs: expert_action(game_of(env), style), env, args.eval_episodes,
                                args.eval_seed)  # fmt: skip
    finally:
        env.close()
    return Evaluation(ENV_ID, args.env_kwargs, races, 1)


def clone_args(args: DaggerArgs, datasets: list[str], start: Path | None, round_: int, out: Path) -> PretrainArgs:
    """Round ``round_``'s cloning: every dataset so far, from the last round's clone (``start``)."""
    return PretrainArgs(
        data=datasets, env_id=ENV_ID, env_kwargs=args.env_kwargs, model=args.model, frame_stack=args.frame_stack,
        pool=args.pool, init_from=str(start) if start else None, epochs=args.epochs, patience=args.patience,
        lr=args.lr, balance_classes=args.balance_classes, burn_in=0 if args.model == "cnn-mlp" else 2,
        val_block_seconds=args.val_block_seconds, seed=args.seed + round_, run_name=f"{round_:02d}-clone",
        runs_dir=str(out), torch_threads=args.torch_threads,
    )  # fmt: skip


def dagger(args: DaggerArgs, status: Callable[[str], None] = print) -> DaggerResult:
    torch.set_num_threads(args.torch_threads)
    rng = np.random.default_rng(args.seed)
    started = time.monotonic()
    run_dir = new_run_dir(args.runs_dir, args.run_name, f"dagger__{timestamp()}")
    config = to_toml(dataclasses.asdict(args))
    (run_dir / "config.toml").write_text(f"# pixelpilot dagger --config {run_dir / 'config.toml'} reproduces this run\n"
                                         + config)  # fmt: skip
    rounds_dir = run_dir / "rounds"
    expert = expert_reference(args)
    expert_lap = float(np.mean(expert.lap_times)) if expert.lap_times else None
    status(
        f"the {args.labeller} on {args.eval_episodes} held-out tracks: {expert.lap_completion or 0:.0%} of laps"
        + (f", {expert_lap:.2f} s per lap" if expert_lap else "")
    )

    datasets = list(args.data)
    checkpoint: Path | None = None
    history: list[Round] = []
    data_steps = 0
    with (run_dir / "progress.csv").open("w", newline="") as file:
        rows = csv.writer(file)
        rows.writerow([f.name for f in dataclasses.fields(Round)])
        for r in range(args.rounds + 1):
            # -- drive and label ------------------------------------------------------------------------------
            beta = args.beta**r
            model = load_checkpoint(checkpoint).model() if checkpoint is not None else None
            if r == 0 and args.data:
                steps, driven, agreement = 0, float("nan"), None
            else:
                out = rounds_dir / f"{r:02d}-data"
                steps, driven, agreement = collect(model, args, out, r, beta if model else 1.0, rng)
                datasets.append(str(out))
            data_steps += steps

            # -- retrain on everything labelled so far, from the last weights --------------------------------
            cloned = pretrain(clone_args(args, datasets, checkpoint, r, rounds_dir),
                              status=prefixed(status, f"  round {r} "))  # fmt: skip
            checkpoint = cloned.checkpoint

            # -- race the held-out tracks -------------------------------------------------------------------
            held_out = evaluate(checkpoint, args.eval_episodes, args.eval_seed, ENV_ID, args.env_kwargs)
            times = held_out.lap_times
            lap_time = float(np.mean(times)) if times else None
            shares = held_out.action_shares
            row = Round(
                round=r, beta=beta if r or not args.data else float("nan"), steps=steps, data_steps=data_steps,
                agreement=agreement, driven_laps=driven, val_accuracy=cloned.val_accuracy,
                laps=held_out.lap_completion or 0.0, lap_time=lap_time,
                ratio=lap_time / expert_lap if lap_time and expert_lap else None,
                crashes=float(np.mean([e.info.get("crashes", 0) for e in held_out.episodes])),
                action_shares=tuple(float(s) for s in shares) if shares is not None else (),
                seconds=time.monotonic() - started,
            )  # fmt: skip
            history.append(row)
            rows.writerow([cell(getattr(row, f.name)) for f in dataclasses.fields(Round)])
            file.flush()
            status(describe(row))

    assert checkpoint is not None  # (round 0 always runs)
    final = run_dir / "checkpoints" / "latest.pt"
    final.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(checkpoint, final)
    return DaggerResult(run_dir, final, expert_lap, history)


def cell(value: object) -> str:
    """A progress.csv cell: numbers to 4 digits, a tuple as numbers separated by spaces, None as empty."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        return " ".join(cell(v) for v in value)
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def describe(row: Round) -> str:
    """One line per round, as the command prints it."""
    ratio = f"{row.ratio:.2f}x the expert" if row.ratio is not None else "no lap"
    agreement = f", the clone agreed with the expert on {row.agreement:.0%} of its steps" if row.agreement else ""
    top = int(np.argmax(row.action_shares)) if row.action_shares else None
    most = f", most {ACTION_NAMES[top]} {row.action_shares[top]:.0%}" if top is not None else ""
    return (
        f"round {row.round}: {row.steps} steps labelled ({row.data_steps} in all){agreement}; held-out "
        f"{row.laps:.0%} of laps, {ratio}, {row.crashes:.2f} crashes per race{most} ({row.seconds:.0f} s)"
    )
