"""An A3C worker: roll out, compute the gradient, hand it over, take the newest weights, repeat
(:mod:`agent.a3c.algorithm` is what it computes, :mod:`agent.a3c.processes` how a local process hands things over,
:mod:`agent.a3c.cluster` how a Ray actor on another machine does).

:class:`WorkerCore` is one worker's state and its update, whatever runs it: :func:`worker` is the loop of a local
process around it, the Ray actor calls it once per request."""

from __future__ import annotations

import traceback
from dataclasses import dataclass

import torch

from agent.a3c import algorithm
from agent.a3c.args import Args
from agent.a3c.processes import (
    Crashed,
    EpisodeEnd,
    Gradient,
    MainProcessGone,
    Shared,
    enter_child,
    read_weights,
    wait_for,
)
from agent.learning.rollout import Actor, action_counts, make_vector_env
from models.actor_critic import ActorCritic
from models.build import build
from models.spec import ModelSpec

HEALTH_EVERY = 10
"""updates between health readings (each costs a forward pass over the rollout)"""


@dataclass(frozen=True)
class WorkerSpec:
    """Who a worker is: its rank, and how often it has been restarted (each start draws other seeds)."""

    rank: int
    attempt: int

    def seed(self, args: Args) -> int:
        return args.seed + 1000 * self.rank + 100_000 * self.attempt


@dataclass
class Update:
    """What one update of a worker produced: the episodes that ended in its rollout and the gradient's message
    (the gradient itself is in the worker's model, :attr:`WorkerCore.model`)."""

    episodes: list[EpisodeEnd]
    gradient: Gradient


class WorkerCore:
    """A worker's model and environments, and its update: roll out ``n_steps``, compute the loss and the gradient."""

    def __init__(self, who: WorkerSpec, args: Args, spec: ModelSpec, reference: ActorCritic | None) -> None:
        """``reference``: the starting policy ``init_kl_coef`` keeps the policy near (None without one)."""
        self.who, self.args = who, args
        torch.manual_seed(who.seed(args))
        self.model = build(spec)
        self.envs = make_vector_env(args, args.envs_per_worker, who.seed(args))
        try:
            self.actor = Actor(self.envs, who.seed(args), self.model)
            self.reference = None
            if reference is not None:
                self.reference = algorithm.Reference(reference, reference.initial_state(self.envs.num_envs))
        except BaseException:
            self.envs.close()
            raise
        self.updates = 0

    def update(self, global_steps: int) -> Update:
        """One rollout and its gradient (left in ``self.model``'s ``.grad``); ``global_steps``: the run's steps so
        far, for the schedules."""
        args, model = self.args, self.model
        rollout = self.actor.collect(model, args.n_steps, args.reward_scale)
        episodes = [EpisodeEnd(self.who.rank, ret, length) for ret, length in rollout.episodes]
        health = {}
        if self.updates % HEALTH_EVERY == 0:
            ends = torch.as_tensor(rollout.ends, dtype=torch.float32)
            health = model.health(rollout.observations, rollout.start_state, ends)
        self.updates += 1
        total, parts = algorithm.loss(model, rollout, args, self.reference, global_steps)
        stats = algorithm.gradients(model, total, parts, args.max_grad_norm)
        actions = action_counts(rollout, model.spec.n_actions)
        steps = args.n_steps * self.envs.num_envs
        return Update(episodes, Gradient(self.who.rank, steps, stats, actions, health))

    def gradients(self) -> list[torch.Tensor]:
        """The last update's gradient, one tensor per parameter in the model's order (zeros where none flowed)."""
        return [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.model.parameters()]

    def close(self) -> None:
        self.envs.close()


def worker(who: WorkerSpec, args: Args, shared: Shared) -> None:
    """A local worker process's loop."""
    enter_child(shared.environ, args.torch_threads)
    core: WorkerCore | None = None
    try:
        core = WorkerCore(who, args, shared.global_model.spec, shared.reference)
        read_weights(shared.version, shared.global_model, core.model)
        grads, ack = shared.grads[who.rank], shared.acks[who.rank]
        while not shared.stop.is_set():
            done = core.update(shared.steps.value)
            for episode in done.episodes:
                shared.messages.put(episode)
            # Synchronisation: this worker's buffer is read by the main process only between the message below and
            # its acknowledgement, so writing it here, before the message, races with nobody.
            for buffer, grad in zip(grads, core.gradients(), strict=True):
                buffer.copy_(grad)
            shared.messages.put(done.gradient)
            wait_for(ack)
            if shared.stop.is_set():
                break
            read_weights(shared.version, shared.global_model, core.model)
    except MainProcessGone:
        return
    except Exception:
        shared.messages.put(Crashed(who.rank, traceback.format_exc()))
        raise SystemExit(1) from None
    finally:
        if core is not None:
            core.close()
