"""The main process of an A3C training: it owns the global model and its optimizer, starts the workers and the
evaluator, applies gradients as they arrive, supervises the processes, logs, and saves checkpoints.

:func:`train` is the entry point of ``pixelpilot train`` and of the control panel's Train tab. A run stops at
``total_steps``, at ``target_return``, on Ctrl-C or SIGTERM, or on a :class:`TrainControl` stop request; each way
out saves a checkpoint and joins every process.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import math
import queue as queue_module
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agent.a3c import algorithm
from agent.a3c.args import Args, from_config, schedule
from agent.a3c.evaluator import evaluate_now, evaluator, make_eval_envs
from agent.a3c.processes import (
    EVALUATOR,
    Crashed,
    EpisodeEnd,
    Evaluated,
    Gradient,
    Shared,
    share,
    start_method,
    writing,
)
from agent.a3c.progress import TrainControl
from agent.a3c.run_log import RunLog, plot_curve
from agent.a3c.worker import WorkerSpec, worker
from agent.config import ConfigError
from agent.envs.make import close_all, instances_per_process, make_env
from agent.policy.checkpoint import A3C, Checkpoint, load_checkpoint, load_weights, save_checkpoint
from agent.policy.evaluation import EvalPoint, action_names
from agent.policy.watch import EvalWatch
from agent.runs import new_run_dir, timestamp
from capture.errors import PixelpilotError
from models.actor_critic import ActorCriticModule
from models.build import build
from models.spec import ModelSpec, SpecError, spec_for

log = logging.getLogger(__name__)
LOG_EVERY_S = 2.0
LOG_EVERY_UPDATES = 100
"""a progress row every LOG_EVERY_S seconds or LOG_EVERY_UPDATES updates, whichever comes first, and one at the end"""


@dataclass
class TrainResult:
    run_dir: Path
    steps: int
    wall_s: float
    curve: list[EvalPoint]
    solved: EvalPoint | None
    interrupted: bool = False


def resume_args(checkpoint: Checkpoint, **overrides: Any) -> Args:
    """The options of the run ``checkpoint`` belongs to, with ``overrides`` (options given on the command line)."""
    if checkpoint.optimizer is None or checkpoint.config is None:
        raise ConfigError(f"{checkpoint.where}: an exported policy cannot be resumed; use --init-from to train on")
    return from_config(checkpoint.config, checkpoint.where, **overrides)


def with_network_of(args: Args, spec: ModelSpec) -> Args:
    """``args`` training the network ``spec`` describes: with init_from, the checkpoint's network is the one trained
    on (a clone of 2 pooled frames, say), whatever the environment's preset would build from scratch."""
    network: dict[str, Any] = {"model": spec.kind, "hidden": spec.hidden, "frame_stack": spec.frame_stack,
                               "pool": spec.pool, "layer_norm": spec.layer_norm, "input_norm": spec.input_norm,
                               "frame_differences": spec.frame_differences}  # fmt: skip
    changed = {k: v for k, v in network.items() if getattr(args, k) != v}
    if changed:
        log.info("init-from: training the checkpoint's network (%s)", ", ".join(f"{k} {v}" for k, v in changed.items()))
    return dataclasses.replace(args, **network)


def global_model_for(args: Args) -> ActorCriticModule:
    """The network for ``args``' environment, seeded by ``args.seed``; checks that its workers can run it."""
    torch.manual_seed(args.seed)  # the initial weights
    probe = make_env(args.env_id, args.env_kwargs, args.frame_stack)
    try:
        if args.envs_per_worker > instances_per_process(probe):
            raise ConfigError(f"envs-per-worker: {args.env_id} runs {instances_per_process(probe)} per process, not "
                              f"{args.envs_per_worker}")  # fmt: skip
        try:
            return build(spec_for(probe.observation_space, probe.action_space, args.model, args.hidden,
                                  args.frame_stack, args.pool, args.layer_norm, args.input_norm,
                                  args.frame_differences))  # fmt: skip
        except SpecError as exc:
            raise ConfigError(f"{args.env_id}: {exc}") from None
    finally:
        probe.close()


class Trainer:
    """One run of :func:`train`: the state its main loop keeps, and a method per thing it does."""

    def __init__(self, args: Args, resume: str | Path | Checkpoint | None, control: TrainControl) -> None:
        self.entered = time.monotonic()  # the clock includes setting up: models, environments, processes
        start = load_checkpoint(args.init_from) if args.init_from else None
        if start is not None:
            args = with_network_of(args, start.spec)
        self.args, self.control = args, control
        torch.set_num_threads(args.torch_threads)
        self.counters: dict[str, Any] = {"steps": 0, "updates": 0, "episodes": 0, "wall_s": 0.0}
        resumed = resume if isinstance(resume, Checkpoint) or resume is None else load_checkpoint(resume)
        if resumed is not None:
            resume_args(resumed)  # an exported policy is refused before anything starts
            self.counters.update(resumed.counters)
        self.model = global_model_for(args)
        if resumed is not None:
            load_weights(self.model, resumed)
        elif start is not None:
            load_weights(self.model, start)
            if args.critic_warmup:
                self.model.reset_value_head()
        reference = None
        if args.init_kl_coef and start is not None:
            # The starting policy, also on resuming: the penalty is toward it for the whole run.
            reference = copy.deepcopy(self.model)
            load_weights(reference, start)
            reference.requires_grad_(False).share_memory()
        self.model.share_memory()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=args.lr)
        if resumed is not None:
            assert resumed.optimizer is not None
            self.optimizer.load_state_dict(resumed.optimizer)
        self.critic_only = {id(p) for p in self.model.value_head.parameters()}
        if resumed is not None:
            assert resumed.path is not None
            self.run_dir = resumed.path.parent.parent
        else:
            default = f"{args.env_id.replace('/', '-')}__{args.seed}__{timestamp()}"
            self.run_dir = new_run_dir(args.runs_dir, args.run_name, default)
        self.latest = self.run_dir / "checkpoints" / "latest.pt"
        control._started(self.run_dir, args.total_steps, self.counters)
        self.log = RunLog(self.run_dir, args, resumed=resumed is not None)
        self.started = self.entered - self.counters["wall_s"]
        self.shared: Shared = share(self.model, reference, args.workers, self.counters["steps"])
        self.ctx = start_method()
        self.attempts = [0] * args.workers
        self.procs: list[Any] = []
        self.eval_proc: Any = None
        self.curve: list[EvalPoint] = []
        self.episodes: list[tuple[int, float]] = []
        self.recent: deque[float] = deque(maxlen=20)
        self.losses: list[algorithm.LossStats] = []
        self.action_counts = np.zeros(self.model.spec.n_actions or 0, dtype=np.int64)
        self.health: list[dict[str, float]] = []
        self.names = action_names(args.env_id, self.model.spec.n_actions or 0)
        self.watch = EvalWatch(self.names)
        self.solved: EvalPoint | None = None
        self.best_eval = -math.inf
        self.failure: str | None = None
        self.eval_attempts = 0
        self.next_checkpoint = (self.counters["steps"] // args.checkpoint_every + 1) * args.checkpoint_every
        self.bar: Any = None

    # -- processes -------------------------------------------------------------------------------------------
    def start_worker(self, rank: int) -> Any:
        ack = self.shared.acks[rank]
        while ack.acquire(False):  # a restarted worker starts without a pending acknowledgement
            pass
        proc = self.ctx.Process(target=worker, args=(WorkerSpec(rank, self.attempts[rank]), self.args, self.shared),
                                name=f"a3c-worker-{rank}", daemon=True)  # fmt: skip
        proc.start()
        return proc

    def start_evaluator(self) -> Any:
        """The evaluator, from the next evaluation point on."""
        first_at = (self.counters["steps"] // self.args.eval_every + 1) * self.args.eval_every
        proc = self.ctx.Process(target=evaluator, args=(self.args, self.shared, first_at, self.started),
                                name="a3c-evaluator", daemon=True)  # fmt: skip
        proc.start()
        return proc

    def start(self) -> None:
        self.procs = [self.start_worker(rank) for rank in range(self.args.workers)]
        if self.args.eval_every:
            self.eval_proc = self.start_evaluator()

    def supervise(self) -> None:
        """Restart a worker or the evaluator that exited, up to ``max_restarts`` times each; past that the run
        fails (a run without its evaluator would go on with no curve, no best.pt and no --target-return)."""
        if self.eval_proc is not None and self.eval_proc.exitcode is not None:
            self.eval_attempts += 1
            if self.eval_attempts > self.args.max_restarts:
                self.failure = (f"the evaluator died {self.eval_attempts} times (exit code {self.eval_proc.exitcode}); "
                                "the run cannot evaluate any more")  # fmt: skip
                return
            log.warning("the evaluator exited with code %s; restarting it (%d of %d)",
                        self.eval_proc.exitcode, self.eval_attempts, self.args.max_restarts)  # fmt: skip
            self.eval_proc = self.start_evaluator()
        for rank, proc in enumerate(self.procs):
            if proc.exitcode is None:
                continue
            self.attempts[rank] += 1
            if self.attempts[rank] > self.args.max_restarts:
                self.failure = f"worker {rank} crashed {self.attempts[rank]} times (exit code {proc.exitcode})"
                return
            log.warning("worker %d exited with code %s; restarting it (%d of %d); the global model is kept",
                        rank, proc.exitcode, self.attempts[rank], self.args.max_restarts)  # fmt: skip
            self.procs[rank] = self.start_worker(rank)

    def stop_processes(self) -> None:
        """Ask every process to stop, then SIGTERM (it closes its environments) what still runs after 10 s, and
        SIGKILL what runs 10 s after that. Meanwhile the message queue is read and dropped: a process exits only
        once what it put there has gone into the pipe (multiprocessing waits for its feeder thread at exit), and
        workers that sent faster than a busy main process read once kept a stopped run waiting for ever."""
        self.shared.stop.set()
        for ack in self.shared.acks:
            ack.release()  # wake every worker waiting for its update, so it sees the stop
        procs = [*self.procs, *([self.eval_proc] if self.eval_proc else [])]
        for escalate in (None, "SIGTERM", "SIGKILL"):
            running = [proc for proc in procs if proc.is_alive()]
            if not running:
                break
            if escalate is not None:
                log.warning("%d process(es) still running 10 s after the stop: sending %s", len(running), escalate)
                for proc in running:
                    if escalate == "SIGTERM":
                        proc.terminate()
                    else:
                        proc.kill()
            deadline = time.monotonic() + 10
            while any(proc.is_alive() for proc in running) and time.monotonic() < deadline:
                # OSError: an evaluation's weights are shared through their sender, which may be gone by now.
                with contextlib.suppress(queue_module.Empty, OSError):
                    self.shared.messages.get(timeout=0.1)
        for proc in procs:
            proc.join()  # reaped

    # -- messages ----------------------------------------------------------------------------------------------
    def on_gradient(self, msg: Gradient) -> None:
        # Synchronisation: the only writer of the global parameters; the sequence counter tells the workers' and
        # the evaluator's copies that overlapped the write to copy again. The worker waits until its acknowledgement.
        warming_up = self.counters["steps"] < self.args.critic_warmup
        if self.args.anneal_lr:
            lr = schedule(self.args.lr, 0.0, self.counters["steps"], self.args.total_steps)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
        with writing(self.shared.version):
            algorithm.apply(self.model, self.optimizer, self.shared.grads[msg.rank],
                            self.critic_only if warming_up else None)  # fmt: skip
        self.shared.acks[msg.rank].release()
        self.counters["steps"] += msg.steps
        self.counters["updates"] += 1
        self.shared.steps.value = self.counters["steps"]
        self.losses.append(msg.stats)
        if msg.actions:
            self.action_counts += msg.actions
        if msg.health:
            self.health.append(msg.health)
        if self.counters["steps"] >= self.next_checkpoint:
            self.checkpoint()
            self.next_checkpoint += self.args.checkpoint_every

    def on_episode(self, msg: EpisodeEnd) -> None:
        steps = self.counters["steps"]
        self.counters["episodes"] += 1
        self.recent.append(msg.ret)
        self.episodes.append((steps, msg.ret))
        self.control._episode(steps, msg.ret)
        self.log.episode(msg.ret, msg.length, steps)

    def on_evaluation(self, msg: Evaluated) -> None:
        """An evaluator's result: on the curve; its weights are best.pt if it is the best so far."""
        point, weights = msg.point, msg.weights
        self.add_to_curve(point)
        if point.mean > self.best_eval:
            self.best_eval = point.mean
            self.checkpoint(self.run_dir / "checkpoints" / "best.pt", weights)
        if self.args.target_return is not None and point.mean >= self.args.target_return:
            self.solved = point

    def add_to_curve(self, point: EvalPoint) -> None:
        self.curve.append(point)
        self.log.evaluation(point, self.counters)
        self.control._evaluated(point)
        for warning in self.watch.see(point):
            log.warning(warning)
            self.control._warned(warning)

    def on_crash(self, msg: Crashed) -> None:
        """A crashing process reports its traceback before it exits; :meth:`supervise` then restarts it."""
        where = "the evaluator" if msg.rank == EVALUATOR else f"worker {msg.rank}"
        log.error("%s crashed: %s", where, msg.last_line)

    # -- logging and checkpoints -----------------------------------------------------------------------------
    def report(self, since: float, since_steps: int) -> None:
        """What the last interval's updates say (losses, the actions sampled, the network's health), the speed and
        the recent return: to TensorBoard, progress.csv, the control and the progress bar."""
        now = time.monotonic()
        sps = (self.counters["steps"] - since_steps) / (now - since)
        stats = [dataclasses.asdict(s) for s in self.losses]
        values = {name: float(np.mean([s[name] for s in stats])) for name in stats[0]}
        total = int(self.action_counts.sum())
        shares = {n: int(c) / total for n, c in zip(self.names, self.action_counts, strict=True)} if total else {}
        health = {name: float(np.mean([h[name] for h in self.health if name in h])) for name in
                  dict.fromkeys(k for h in self.health for k in h)}  # fmt: skip
        steps = self.counters["steps"]
        self.log.losses(values, sps, steps)
        self.log.behaviour(shares, health, steps)
        recent = float(np.mean(self.recent)) if self.recent else float("nan")
        self.log.row({"wall_s": now - self.started, "steps": steps, "updates": self.counters["updates"],
                      "episodes": self.counters["episodes"], "sps": sps, "episodic_return": recent, **values,
                      "top_action_share": max(shares.values(), default=float("nan")), **health})  # fmt: skip
        self.control._logged(steps, sps, recent, values, shares, health)
        if self.bar is not None:
            last = f"{self.curve[-1].mean:.1f}" if self.curve else "-"
            self.bar.set_postfix(ret=f"{recent:.1f}", eval=last, sps=f"{sps:.0f}")
        self.losses.clear()
        self.action_counts[:] = 0
        self.health.clear()

    def checkpoint(self, path: Path | None = None, weights: dict[str, torch.Tensor] | None = None) -> None:
        path = path or self.latest
        self.counters["wall_s"] = time.monotonic() - self.started
        save_checkpoint(Checkpoint(self.model.spec, weights or self.model.state_dict(), self.args.env_id,
                                   self.args.env_kwargs, A3C, dict(self.counters), dataclasses.asdict(self.args),
                                   self.optimizer.state_dict()), path)  # fmt: skip
        self.control._saved(path, self.counters["steps"])

    # -- the loop ------------------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        args, counters = self.args, self.counters
        if args.progress:
            from tqdm import tqdm

            self.bar = tqdm(total=args.total_steps, initial=counters["steps"], unit="step", dynamic_ncols=True)
        interrupted = False
        in_main_thread = threading.current_thread() is threading.main_thread()
        previous_sigterm = signal.signal(signal.SIGTERM, _interrupt) if in_main_thread else None
        last_log, last_log_steps, last_check = time.monotonic(), counters["steps"], time.monotonic()
        try:
            self.start()
            while counters["steps"] < args.total_steps and self.solved is None and self.failure is None:
                if self.control.stop_requested:  # from another thread (the control panel): the way Ctrl-C takes
                    interrupted = True
                    break
                try:
                    msg = self.shared.messages.get(timeout=1.0)
                except queue_module.Empty:
                    msg = None
                if msg is None or isinstance(msg, Crashed) or time.monotonic() - last_check >= 1.0:
                    last_check = time.monotonic()
                    if isinstance(msg, Crashed):
                        self.on_crash(msg)
                    self.supervise()
                match msg:
                    case Gradient():
                        self.on_gradient(msg)
                        if self.bar is not None:
                            self.bar.update(msg.steps)
                    case EpisodeEnd():
                        self.on_episode(msg)
                    case Evaluated():
                        self.on_evaluation(msg)
                self.control._counted(counters)
                if self.losses and (
                    time.monotonic() - last_log >= LOG_EVERY_S or len(self.losses) >= LOG_EVERY_UPDATES
                ):
                    self.report(last_log, last_log_steps)
                    last_log, last_log_steps = time.monotonic(), counters["steps"]
        except KeyboardInterrupt:
            interrupted = True
            log.warning("interrupted: saving a checkpoint")
        finally:
            self.control._finishing()
            # A second Ctrl-C must not cut the clean-up short: workers would be left running and no checkpoint saved.
            previous_sigint = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main_thread else None
            if in_main_thread:
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
            try:
                self.stop_processes()
                if self.losses:  # the last updates: a run shorter than a log interval still has its row
                    self.report(last_log, last_log_steps)
                self.checkpoint()
                if self.bar is not None:
                    self.bar.close()
                if (
                    args.eval_every
                    and not interrupted
                    and self.failure is None
                    and (not self.curve or self.curve[-1].steps < counters["steps"])
                ):
                    self.add_to_curve(self.final_evaluation())
                self.log.close()
                with contextlib.suppress(Exception):  # a plot is a convenience: it must not hide the run's outcome
                    plot_curve(self.run_dir / "reward_curve.png", self.episodes, self.curve, f"A3C on {args.env_id}")
            finally:
                # Whatever failed above, the caller gets its Ctrl-C and SIGTERM back (a process that trains twice,
                # the panel or a test suite, would otherwise ignore both from then on, and so would its children).
                if in_main_thread:
                    signal.signal(signal.SIGINT, previous_sigint)
                    signal.signal(signal.SIGTERM, previous_sigterm)
        if self.failure:
            raise PixelpilotError(f"training stopped: {self.failure}; the last checkpoint is {self.latest}")
        return TrainResult(self.run_dir, counters["steps"], counters["wall_s"], self.curve, self.solved, interrupted)

    def final_evaluation(self) -> EvalPoint:
        """The curve ends with the model training ended with (the evaluator may not have seen the last updates)."""
        envs = make_eval_envs(self.args)
        try:
            return evaluate_now(self.args, self.model, envs, self.counters["steps"], time.monotonic() - self.started)
        finally:
            close_all(envs)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM stops a run as Ctrl-C does: a checkpoint, no process left behind


def train(
    args: Args, resume: str | Path | Checkpoint | None = None, control: TrainControl | None = None
) -> TrainResult:
    """Train with ``args`` (or continue the run of a checkpoint/run folder); returns the evaluation curve.
    ``control``: a stop request from another thread, and the live progress there."""
    return Trainer(args, resume, control or TrainControl()).run()
