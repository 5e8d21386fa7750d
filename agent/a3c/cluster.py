"""A3C's workers as Ray actors, on this machine or on many (``pixelpilot train --ray ADDRESS``).

The design: the global model and its optimizer stay in the driver (the process that runs ``train``), as with
local worker processes, and so do the evaluator (a local process) and the run's record. Each worker is a Ray actor
(:class:`RayWorker`) around a :class:`~agent.a3c.worker.WorkerCore`: its own model and environments on the node
Ray placed it on (for a profile, the game's window on a virtual desktop of that node). In the driver, each actor
has a proxy (:class:`RemoteWorker`) whose thread speaks the local workers' protocol: it sends the newest global
weights with a request for an update, puts the update's episodes and gradient message on the run's queue and the
gradient into the worker's shared buffer, and waits for the acknowledgement, as a worker process does. The
trainer's loop, its supervision and its stop treat both kinds alike, and A3C stays asynchronous as documented in
:mod:`agent.a3c.processes`: no worker waits for another, each gradient is applied as it arrives, and each worker
goes on from the newest weights.

Weights and gradients travel through Ray's object store, a state dict each way per update (about 1 MB for the
NeonRace CNN). One process applies every gradient, so its update rate is the run's ceiling however many nodes
there are (``benchmarks/ray_scaling.py`` measures it).

Faults: an actor that dies (its process killed, its node gone) fails its pending request; its proxy reports the
crash and ends, and the trainer's supervision starts a new actor, which Ray places on a node that is still there.
Nothing of the global model is lost: it never left the driver. A stopped run asks each actor to close its
environments (their games and virtual desktops), then kills it; what an actor killed outright leaves behind is
stopped by its key guardian (:mod:`control.guardian`), as for a local process.

Ray is imported here only, and this module only when a run names a cluster.
"""

from __future__ import annotations

import logging
import socket
import threading
import traceback
from typing import Any

import torch

from agent.a3c.args import Args
from agent.a3c.processes import Crashed, Shared, configure_torch, read_weights, wait_for
from agent.a3c.worker import Update, WorkerCore, WorkerSpec
from agent.config import ConfigError
from models.actor_critic import ActorCritic
from models.build import build
from models.spec import ModelSpec

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 30.0
"""seconds an actor gets to close its environments (a game and a virtual desktop) before it is killed"""
POLL = 0.5
"""seconds between looks at the stop request while an update is under way"""
REACH_TIMEOUT = 10.0
"""seconds a cluster's address gets to answer before the run is refused"""


def connect(address: str) -> bool:
    """Join the Ray cluster at ``address`` (``auto``, ``ray://HEAD:PORT`` or ``HOST:PORT``) as its driver; returns
    whether this call connected (False: this process was connected already, and stays so afterwards)."""
    try:
        import ray
    except ImportError:
        raise ConfigError("ray: Ray is not installed here; install pixelpilot's extra: pip install "
                          "'pixelpilot[ray]'") from None  # fmt: skip
    if ray.is_initialized():
        return False
    _check_reachable(address)
    try:
        ray.init(address=address, logging_level=logging.WARNING)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise ConfigError(f"ray: cannot join the cluster at {address!r}: {_last_line(exc)}") from None
    return True


def _check_reachable(address: str) -> None:
    """A cluster's address that nothing answers at is one ConfigError line at once (Ray itself retries for minutes,
    then exits the process). ``auto`` is Ray's to find: it fails at once when this machine has joined no cluster."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"ray: expected auto, ray://HOST:PORT or HOST:PORT, got {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=REACH_TIMEOUT).close()
    except OSError as exc:
        raise ConfigError(f"ray: cannot join the cluster at {address!r}: nothing answers there "
                          f"({exc.strerror or exc})") from None  # fmt: skip


def disconnect() -> None:
    """Leave the cluster: the actors this driver started end with it; the cluster itself runs on."""
    import ray

    ray.shutdown()


class RayWorker:
    """A worker on a node of the cluster: made into a Ray actor by :class:`RemoteWorker`."""

    def __init__(self, who: WorkerSpec, args: Args, spec: ModelSpec, reference: dict[str, torch.Tensor] | None) -> None:
        """``reference``: the weights of the starting policy ``init_kl_coef`` keeps the policy near."""
        configure_torch(args.torch_threads)
        frozen: ActorCritic | None = None
        if reference is not None:
            frozen = build(spec)
            frozen.load_state_dict(reference)
            frozen.requires_grad_(False)
        self.core = WorkerCore(who, args, spec, frozen)

    def node(self) -> str:
        """Where this actor runs: its node's address."""
        import ray

        return str(ray.util.get_node_ip_address()) + " (node " + ray.get_runtime_context().get_node_id()[:8] + ")"

    def update(self, weights: dict[str, torch.Tensor], global_steps: int) -> tuple[Update, list[torch.Tensor]]:
        """One update from ``weights`` (the global model's at the request): its episodes, message and gradient."""
        self.core.model.load_state_dict(weights)
        done = self.core.update(global_steps)
        return done, self.core.gradients()

    def close(self) -> None:
        self.core.close()


class RemoteWorker:
    """A worker actor seen from the driver as a worker process is (``exitcode``, ``is_alive``, ``terminate``,
    ``kill``, ``join``), its requests made by a thread of the driver."""

    def __init__(self, who: WorkerSpec, args: Args, shared: Shared, reference: dict[str, torch.Tensor] | None) -> None:
        import ray

        self.who, self.shared = who, shared
        self.exitcode: int | None = None
        remote = ray.remote(RayWorker).options(num_cpus=args.ray_cpus, scheduling_strategy="SPREAD", max_restarts=0)
        self.actor: Any = remote.remote(who, args, shared.global_model.spec, reference)
        self._thread = threading.Thread(target=self._run, name=f"a3c-remote-worker-{who.rank}", daemon=True)
        self._thread.start()

    # -- the protocol of a worker process, spoken for the actor -------------------------------------------------
    def _run(self) -> None:
        shared, rank = self.shared, self.who.rank
        try:
            where = self._result(self.actor.node.remote())
            if where is None:
                self.exitcode = 0
                return
            log.info("worker %d runs on %s", rank, where)
            local = build(shared.global_model.spec)
            while not shared.stop.is_set():
                read_weights(shared.version, shared.global_model, local)
                result = self._result(self.actor.update.remote(local.state_dict(), shared.steps.value))
                if result is None:
                    break
                done, grads = result
                for episode in done.episodes:
                    shared.messages.put(episode)
                for buffer, grad in zip(shared.grads[rank], grads, strict=True):
                    buffer.copy_(grad)  # read by the trainer between the message and the acknowledgement only
                shared.messages.put(done.gradient)
                wait_for(shared.acks[rank])
            self.exitcode = 0
        except Exception as exc:
            shared.messages.put(Crashed(rank, _remote_traceback(exc)))
            self._kill()
            self.exitcode = 1

    def _result(self, ref: Any) -> Any:
        """The result of a request, or None once the run is stopped; a dead actor's request raises."""
        import ray

        while not self.shared.stop.is_set():
            ready, _ = ray.wait([ref], timeout=POLL)
            if ready:
                return ray.get(ready[0])
        return None

    # -- what the trainer calls ----------------------------------------------------------------------------------
    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def terminate(self) -> None:
        """Stop the actor now (its request then fails, and the thread ends)."""
        self._kill()

    kill = terminate

    def join(self) -> None:
        """Wait for the thread, then close the actor's environments and end it."""
        import ray

        self._thread.join()
        try:
            ray.get(self.actor.close.remote(), timeout=CLOSE_TIMEOUT)
        except (ray.exceptions.RayError, TimeoutError) as exc:
            log.warning("worker %d could not close its environments (%s); its guardian stops what it left",
                        self.who.rank, _last_line(exc))  # fmt: skip
        self._kill()

    def _kill(self) -> None:
        import ray

        ray.kill(self.actor, no_restart=True)


def _remote_traceback(exc: Exception) -> str:
    """A failed request as a traceback whose last line says what happened: the actor's own exception (Ray's error
    carries the remote traceback), or that the actor died."""
    import ray

    if isinstance(exc, ray.exceptions.RayActorError):
        return f"the worker's actor died: {_last_line(exc)}"
    return str(exc) if isinstance(exc, ray.exceptions.RayTaskError) else traceback.format_exc()


def _last_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[-1] if lines else type(exc).__name__
