"""The main process of an A3C training: it owns the global model and its optimizer, starts the workers and the
evaluator, applies gradients as they arrive, supervises the processes, logs, and saves checkpoints.

:func:`train` is the entry point of ``pixelpilot train`` and of the control panel's Train tab. A run stops at
``total_steps``, at ``target_return``, on Ctrl-C or SIGTERM, or on a :class:`TrainControl` stop request; each way
out saves a checkpoint and joins every process.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import queue as queue_module
import time
from pathlib import Path
from typing import Any

import torch

from agent.a3c import algorithm
from agent.a3c.args import Args
from agent.a3c.evaluator import evaluator
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
from agent.a3c.worker import WorkerSpec, worker
from agent.envs.make import close_all
from agent.learning.args import resumed_options, schedule
from agent.learning.evaluations import evaluate_now, make_eval_envs
from agent.learning.network import network_for
from agent.learning.progress import TrainControl
from agent.learning.record import LOG_EVERY_S, LOG_EVERY_UPDATES, RunRecord, TrainResult, interruptible
from agent.policy.checkpoint import A3C, Checkpoint, load_checkpoint, load_weights
from agent.policy.evaluation import EvalPoint
from capture.errors import PixelpilotError
from models.spec import ModelSpec

log = logging.getLogger(__name__)


def read_message(messages: Any, timeout: float, stopping: bool = False) -> Any:
    """The next message of the run's queue, or None when none came within ``timeout`` or it could not be read. An
    evaluation's weights travel as a handle to memory its sender lends when the message is read: a sender that died
    after sending (killed, or stopping) refuses the connection (OSError) or closes it mid-transfer (EOFError). The
    message is lost with its sender, which supervision restarts; while ``stopping`` nothing is lost that counts."""
    try:
        return messages.get(timeout=timeout)
    except queue_module.Empty:
        return None
    except (OSError, EOFError) as exc:
        if not stopping:
            log.warning("a message from a process that has ended could not be read (%s: %s)", type(exc).__name__, exc)
        return None


def resume_args(checkpoint: Checkpoint, **overrides: Any) -> Args:
    """The options of the A3C run ``checkpoint`` belongs to, with ``overrides`` (options given on the command line)."""
    return resumed_options(Args, checkpoint, **overrides)


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


class Trainer:
    """One run of :func:`train`: the processes and the global model; the run's record (files, counters, curve,
    checkpoints) is :class:`~agent.learning.record.RunRecord`'s."""

    def __init__(self, args: Args, resume: str | Path | Checkpoint | None, control: TrainControl) -> None:
        entered = time.monotonic()  # the clock includes setting up: models, environments, processes
        start = load_checkpoint(args.init_from) if args.init_from else None
        if start is not None:
            args = with_network_of(args, start.spec)
        self.args, self.control = args, control
        torch.set_num_threads(args.torch_threads)
        resumed = resume if isinstance(resume, Checkpoint) or resume is None else load_checkpoint(resume)
        if resumed is not None:
            resume_args(resumed)  # an exported policy is refused before anything starts
        self.model = network_for(args, args.envs_per_worker, "envs-per-worker")
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
        self.connected = False  # to a Ray cluster: before the run's folder is made, so a bad address leaves none
        if args.ray:
            from agent.a3c.cluster import connect

            self.connected = connect(args.ray)
        self.record = RunRecord(args, A3C, self.model, self.optimizer, resumed, control, entered)
        self.counters = self.record.counters
        self.shared: Shared = share(self.model, reference, args.workers, self.counters["steps"])
        self.ctx = start_method()
        # what Ray actors get of the starting policy (local processes share the model itself)
        self.reference_weights = (
            {k: v.clone() for k, v in reference.state_dict().items()} if args.ray and reference is not None else None
        )
        self.attempts = [0] * args.workers
        self.procs: list[Any] = []
        self.eval_proc: Any = None
        self.failure: str | None = None
        self.eval_attempts = 0

    # -- processes -------------------------------------------------------------------------------------------
    def start_worker(self, rank: int) -> Any:
        """A worker process, or with ``ray`` a worker actor (seen as a process: :class:`RemoteWorker`)."""
        ack = self.shared.acks[rank]
        while ack.acquire(False):  # a restarted worker starts without a pending acknowledgement
            pass
        if self.args.ray:
            from agent.a3c.cluster import RemoteWorker

            return RemoteWorker(WorkerSpec(rank, self.attempts[rank]), self.args, self.shared, self.reference_weights)
        proc = self.ctx.Process(target=worker, args=(WorkerSpec(rank, self.attempts[rank]), self.args, self.shared),
                                name=f"a3c-worker-{rank}", daemon=True)  # fmt: skip
        proc.start()
        return proc

    def start_evaluator(self) -> Any:
        """The evaluator, from the next evaluation point on."""
        first_at = (self.counters["steps"] // self.args.eval_every + 1) * self.args.eval_every
        proc = self.ctx.Process(target=evaluator, args=(self.args, self.shared, first_at, self.record.started),
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
                read_message(self.shared.messages, timeout=0.1, stopping=True)  # dropped: its senders can exit
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
        self.record.updated(msg.steps, dataclasses.asdict(msg.stats), msg.actions, msg.health)
        self.shared.steps.value = self.counters["steps"]

    def on_crash(self, msg: Crashed) -> None:
        """A crashing process reports its traceback before it exits; :meth:`supervise` then restarts it."""
        where = "the evaluator" if msg.rank == EVALUATOR else f"worker {msg.rank}"
        log.error("%s crashed: %s", where, msg.last_line)

    # -- the loop ------------------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        args, counters, record = self.args, self.counters, self.record
        interrupted = False
        last_log, last_log_steps, last_check = time.monotonic(), counters["steps"], time.monotonic()
        with interruptible() as shield:
            try:
                self.start()
                while counters["steps"] < args.total_steps and record.solved is None and self.failure is None:
                    if self.control.stop_requested:  # from another thread (the control panel): the way Ctrl-C takes
                        interrupted = True
                        break
                    msg = read_message(self.shared.messages, timeout=1.0)
                    if msg is None or isinstance(msg, Crashed) or time.monotonic() - last_check >= 1.0:
                        last_check = time.monotonic()
                        if isinstance(msg, Crashed):
                            self.on_crash(msg)
                        self.supervise()
                    match msg:
                        case Gradient():
                            self.on_gradient(msg)
                        case EpisodeEnd():
                            record.episode(msg.ret, msg.length)
                        case Evaluated():
                            record.evaluated(msg.point, msg.weights)
                    if record.losses and (
                        time.monotonic() - last_log >= LOG_EVERY_S or len(record.losses) >= LOG_EVERY_UPDATES
                    ):
                        record.report(last_log, last_log_steps)
                        last_log, last_log_steps = time.monotonic(), counters["steps"]
            except KeyboardInterrupt:
                interrupted = True
                log.warning("interrupted: saving a checkpoint")
            finally:
                self.control._finishing()
                shield()
                self.stop_processes()
                if self.connected:
                    from agent.a3c.cluster import disconnect

                    disconnect()
                record.report(last_log, last_log_steps)  # the last updates: a run shorter than a log interval too
                record.checkpoint()
                if (
                    args.eval_every
                    and not interrupted
                    and self.failure is None
                    and (not record.curve or record.curve[-1].steps < counters["steps"])
                ):
                    record.add_to_curve(self.final_evaluation())
                record.close(f"A3C on {args.env_id}")
        if self.failure:
            raise PixelpilotError(f"training stopped: {self.failure}; the last checkpoint is {record.latest}")
        return record.result(interrupted)

    def final_evaluation(self) -> EvalPoint:
        """The curve ends with the model training ended with (the evaluator may not have seen the last updates)."""
        envs = make_eval_envs(self.args)
        try:
            return evaluate_now(self.args, self.model, envs, self.counters["steps"], self.record.wall_s)
        finally:
            close_all(envs)


def train(
    args: Args, resume: str | Path | Checkpoint | None = None, control: TrainControl | None = None
) -> TrainResult:
    """Train with ``args`` (or continue the run of a checkpoint/run folder); returns the evaluation curve.
    ``control``: a stop request from another thread, and the live progress there."""
    return Trainer(args, resume, control or TrainControl()).run()
