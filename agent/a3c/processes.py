"""How A3C's processes share one model, and the messages they send.

- The global model's parameters live in shared memory. Only the main process writes them, by applying gradients
  with an ordinary ``torch.optim.Adam`` whose state never leaves that process, so nothing depends on copying
  torch's optimizer internals into shared memory (what broke older PyTorch A3C code).
- Each worker writes its gradient into a shared buffer of its own (:class:`Shared` ``grads[rank]``), sends a
  :class:`Gradient` message and waits on its semaphore. The main process applies gradients in the order they
  arrive (asynchronously: no worker waits for another), then releases the worker, which copies the newest global
  weights. (Rolling out on while the gradient is applied was 30% faster per step but needed twice the steps: each
  gradient then landed on weights that had moved on by the worker's own previous update.)
- The evaluator periodically copies the global weights and sends :class:`Evaluated` results, stamped with the
  steps and clock of the snapshot: the curve shows when the weights were that good, not when the verdict came in.
- Copies of the global weights never see half an update, and nothing a copier holds can stop the main process: a
  sequence counter (:func:`writing`, :func:`read_weights`) is odd while the main process writes, and a copy that
  overlapped a write is taken again. A lock did the same until a worker killed mid-copy (SIGKILL) kept it held and
  the next update waited for it for ever; with the counter the writer never waits for anyone.
- Processes start from a fork server that has already imported torch (where the platform has one, else ``spawn``):
  like ``spawn`` each starts clean, without the parent's threads, windows or sockets, but in milliseconds instead of
  the second it takes to import torch.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.multiprocessing as mp

from agent.a3c.algorithm import LossStats
from agent.policy.evaluation import EvalPoint
from models.actor_critic import ActorCritic


# -- messages to the main process -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Gradient:
    """A worker's gradient is in its buffer; it waits until the main process has applied it."""

    rank: int
    steps: int
    """environment steps the gradient was computed from"""
    stats: LossStats
    actions: tuple[int, ...] = ()
    """how often the rollout sampled each action (discrete actions)"""
    health: dict[str, float] = field(default_factory=dict)
    """the network's health on the rollout (:meth:`models.actor_critic.ActorCritic.health`), every few updates"""


@dataclass(frozen=True)
class EpisodeEnd:
    rank: int
    ret: float
    length: int


@dataclass(frozen=True)
class Evaluated:
    point: EvalPoint
    weights: dict[str, torch.Tensor]
    """the weights evaluated: training moved on meanwhile, and best.pt must hold what was measured"""


@dataclass(frozen=True)
class Crashed:
    rank: int
    """the worker's rank, or :data:`EVALUATOR`"""
    traceback: str

    @property
    def last_line(self) -> str:
        return self.traceback.strip().splitlines()[-1]


EVALUATOR = -1
Message = Gradient | EpisodeEnd | Evaluated | Crashed


@dataclass
class Shared:
    """What the main process shares with every process it starts."""

    global_model: ActorCritic
    reference: ActorCritic | None
    """the starting policy ``init_kl_coef`` keeps the policy near (never written)"""
    grads: list[list[torch.Tensor]]
    """one gradient buffer per worker, in the order of the model's parameters"""
    version: Any
    """the global parameters' sequence counter: even at rest, odd while the main process writes them"""
    messages: Any
    acks: list[Any]
    """one semaphore per worker, released once per applied gradient. Not an Event: a waiter whose timed wait ends as
    the Event is set can trip multiprocessing's Condition bookkeeping, which broke the clean-up after Ctrl-C"""
    stop: Any
    steps: Any
    """the global step counter (a shared integer the evaluator watches)"""
    environ: dict[str, str]
    """the main process's environment variables when training started"""


def share(global_model: ActorCritic, reference: ActorCritic | None, workers: int, steps: int) -> Shared:
    ctx = start_method()
    grads = [[torch.zeros_like(p).share_memory_() for p in global_model.parameters()] for _ in range(workers)]
    acks = [ctx.Semaphore(0) for _ in range(workers)]
    return Shared(global_model, reference, grads, ctx.RawValue("q", 0), ctx.Queue(), acks, ctx.Event(),
                  ctx.Value("q", steps), dict(os.environ))  # fmt: skip


def copy_weights(source: ActorCritic, target: ActorCritic) -> None:
    with torch.no_grad():
        for s, t in zip(source.parameters(), target.parameters(), strict=True):
            t.copy_(s)


@contextlib.contextmanager
def writing(version: Any) -> Iterator[None]:
    """``with writing(shared.version)``: the main process writes the global parameters inside, the only writer.
    Each store is one step, so Ctrl-C landing anywhere in here still leaves the counter even and moved on."""
    at_rest = version.value
    try:
        version.value = at_rest + 1
        yield
    finally:
        version.value = at_rest + 2


def read_weights(version: Any, source: ActorCritic, target: ActorCritic) -> None:
    """Copy ``source`` (the global model) into ``target`` as no write changed it meanwhile, retrying otherwise.

    The counter is read before and after the copy: equal and even, no write overlapped it. x86-64 keeps stores in
    order and loads in order, which is all this needs; where memory is ordered more weakly, a torn copy mixes two
    consecutive updates, as every copy does in lock-free (Hogwild) A3C. A main process that dies mid-write leaves
    the counter odd: the reader then notices that it is gone and stops.
    """
    while True:
        before = version.value
        if before % 2 == 0:
            copy_weights(source, target)
            if version.value == before:
                return
        if not main_process_alive():
            raise MainProcessGone
        time.sleep(0.001)  # an update takes milliseconds; spinning would take the core it needs


# -- starting and stopping processes ---------------------------------------------------------------------------
def start_method() -> Any:
    """The multiprocessing context of the workers: a fork server with torch preloaded, else spawn.

    The server is started once per process (its first training pays the import) and reused afterwards.
    """
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["agent.a3c.worker", "agent.a3c.evaluator"])
    return ctx


def warm_up() -> None:
    """Do now what the first training of a process would wait for, so that it starts at once: start the fork server
    and let it import torch (a first process forked from it waits for that), and :func:`prepare_optimizer`."""
    ctx = start_method()
    if ctx.get_start_method() == "forkserver":
        first = ctx.Process(target=os.getpid, name="a3c-warm-up")
        first.start()
        first.join()
    prepare_optimizer()


def prepare_optimizer() -> None:
    """Construct an optimizer once: a process's first one imports torch._dynamo (about a second), which a training
    started later (on a GUI's thread, say) would otherwise wait for, holding the GIL."""
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])


def exit_on_signal(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def enter_child(environ: dict[str, str], threads: int) -> None:
    """A started process's first steps: Ctrl-C goes to the main process (which stops everyone), SIGTERM exits
    through the ``finally`` blocks (closing environments: their games, displays, keys); the parent's environment
    variables of the moment training started (the fork server's are those of when *it* started, and a virtual
    display may have been set since); then :func:`configure_torch`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, exit_on_signal)
    os.environ.clear()
    os.environ.update(environ)
    configure_torch(threads)


def configure_torch(threads: int) -> None:
    """A worker's torch: ``threads`` threads, and no argument checks in distributions (they cost more than the small
    networks themselves)."""
    torch.set_num_threads(threads)
    torch.distributions.Distribution.set_default_validate_args(False)


def main_process_alive() -> bool:
    """Whether the training's main process still runs (the parent of the processes it starts, even through the
    fork server)."""
    parent = mp.parent_process()
    return parent is None or parent.is_alive()


class MainProcessGone(Exception):
    """The training's main process ended without stopping this one (SIGKILL): nobody applies gradients any more."""


def wait_for(semaphore: Any) -> None:
    """Acquire ``semaphore``, checking every second that the main process still runs: killed before it
    acknowledged a gradient, it never releases it, and a process blocked on it for good would outlive the run."""
    while not semaphore.acquire(timeout=1.0):
        if not main_process_alive():
            raise MainProcessGone
