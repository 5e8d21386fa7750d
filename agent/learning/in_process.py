"""The run around a learner that trains in one process (PPO, REINFORCE, one-step actor-critic): the network and its
optimizer (resumed from a checkpoint or new), the environments, the run's record, evaluations every ``eval_every``
steps in between iterations, progress rows, and every way out (the end, the target, Ctrl-C, SIGTERM, the panel's
stop) saving a checkpoint. The learner gives one *iteration* (collect, then update) as a function; what it computes
stays in its own ``algorithm.py``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import gymnasium as gym
import torch

from agent.envs.make import close_all
from agent.learning.args import RunArgs, resumed_options
from agent.learning.evaluations import evaluate_now, make_eval_envs
from agent.learning.network import network_for
from agent.learning.progress import TrainControl
from agent.learning.record import LOG_EVERY_S, RunRecord, TrainResult, interruptible
from agent.learning.rollout import make_vector_env
from agent.policy.checkpoint import LEARNERS, Checkpoint, load_checkpoint, load_weights
from models.actor_critic import ActorCriticModule

log = logging.getLogger(__name__)


@dataclass
class Iteration:
    """What one iteration did."""

    steps: int
    """environment steps it took"""
    readings: dict[str, float]
    """its losses and diagnostics (``losses/...``)"""
    actions: tuple[int, ...] = ()
    """how often it sampled each action"""
    health: dict[str, float] = field(default_factory=dict)
    episodes: list[tuple[float, int]] = field(default_factory=list)
    """(return, length) of the episodes that ended in it"""


Iterate = Callable[[int], Iteration]
"""one iteration, given the run's environment steps so far (for schedules)"""
MakeIterate = Callable[[ActorCriticModule, torch.optim.Optimizer, gym.vector.VectorEnv, int], Iterate]
"""the learner's iteration on this network, optimizer and environments, seeded by the last argument"""


def train_in_process(
    args: RunArgs,
    num_envs: int,
    make_optimizer: Callable[[ActorCriticModule], torch.optim.Optimizer],
    make_iterate: MakeIterate,
    resume: str | Path | Checkpoint | None = None,
    control: TrainControl | None = None,
    head: str = "actor-critic",
    processes: bool = False,
) -> TrainResult:
    """Train ``args.label``'s learner with ``num_envs`` environments side by side (or continue the run of a
    checkpoint/run folder); returns the evaluation curve. ``control``: a stop request from another thread, and the
    live progress there; ``head``: the network's (an actor-critic, a Q-network's, a deterministic policy's);
    ``processes``: each environment steps in a worker process of its own."""
    entered = time.monotonic()
    control = control or TrainControl()
    torch.set_num_threads(args.torch_threads)
    resumed = resume if isinstance(resume, Checkpoint) or resume is None else load_checkpoint(resume)
    if resumed is not None:
        resumed_options(type(args), resumed)  # an exported policy, or another learner's run, is refused first
    model = network_for(args, num_envs, "num-envs", head)
    optimizer = make_optimizer(model)
    if resumed is not None:
        load_weights(model, resumed)
        assert resumed.optimizer is not None
        optimizer.load_state_dict(resumed.optimizer)
    record = RunRecord(args, args.label, model, optimizer, resumed, control, entered)
    seed = args.seed + record.steps  # a resumed run draws other samples than its first part did
    torch.manual_seed(seed)
    envs = make_vector_env(args, num_envs, seed, processes)
    eval_envs: list[gym.Env] = []
    interrupted = False
    last_log, last_log_steps = time.monotonic(), record.steps
    with interruptible() as shield:
        try:
            eval_envs = make_eval_envs(args) if args.eval_every else []
            iterate = make_iterate(model, optimizer, envs, seed)
            next_eval = (record.steps // args.eval_every + 1) * args.eval_every if args.eval_every else None
            while record.steps < args.total_steps and record.solved is None:
                if control.stop_requested:  # from another thread (the control panel): the way Ctrl-C takes
                    interrupted = True
                    break
                done = iterate(record.steps)
                for ret, length in done.episodes:
                    record.episode(ret, length)
                record.updated(done.steps, done.readings, done.actions, done.health)
                if next_eval is not None and record.steps >= next_eval:
                    record.evaluated(evaluate_now(args, model, eval_envs, record.steps, record.wall_s))
                    next_eval = (record.steps // args.eval_every + 1) * args.eval_every
                if time.monotonic() - last_log >= LOG_EVERY_S:
                    record.report(last_log, last_log_steps)
                    last_log, last_log_steps = time.monotonic(), record.steps
        except KeyboardInterrupt:
            interrupted = True
            log.warning("interrupted: saving a checkpoint")
        finally:
            control._finishing()
            shield()
            try:
                record.report(last_log, last_log_steps)
                record.checkpoint()
                if eval_envs and not interrupted and (not record.curve or record.curve[-1].steps < record.steps):
                    record.add_to_curve(evaluate_now(args, model, eval_envs, record.steps, record.wall_s))
                record.close(f"{LEARNERS[args.label]} on {args.env_id}")
            finally:
                envs.close()
                close_all(eval_envs)
    return record.result(interrupted)
