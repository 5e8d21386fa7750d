"""An A3C worker process: roll out, compute the gradient, hand it over, take the newest weights, repeat
(:mod:`agent.a3c.algorithm` is what it computes, :mod:`agent.a3c.processes` how it hands things over)."""

from __future__ import annotations

import traceback
from dataclasses import dataclass

import gymnasium as gym
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
from models.build import build

HEALTH_EVERY = 10
"""updates between health readings (each costs a forward pass over the rollout)"""


@dataclass(frozen=True)
class WorkerSpec:
    """Who a worker is: its rank, and how often it has been restarted (each start draws other seeds)."""

    rank: int
    attempt: int

    def seed(self, args: Args) -> int:
        return args.seed + 1000 * self.rank + 100_000 * self.attempt


def worker(who: WorkerSpec, args: Args, shared: Shared) -> None:
    enter_child(shared.environ, args.torch_threads)
    envs: gym.vector.VectorEnv | None = None
    try:
        torch.manual_seed(who.seed(args))
        model = build(shared.global_model.spec)
        read_weights(shared.version, shared.global_model, model)
        envs = make_vector_env(args, args.envs_per_worker, who.seed(args))
        actor = Actor(envs, who.seed(args), model)
        reference = None
        if shared.reference is not None:
            reference = algorithm.Reference(shared.reference, shared.reference.initial_state(envs.num_envs))
        grads, ack = shared.grads[who.rank], shared.acks[who.rank]
        updates = 0
        while not shared.stop.is_set():
            rollout = actor.collect(model, args.n_steps, args.reward_scale)
            for ret, length in rollout.episodes:
                shared.messages.put(EpisodeEnd(who.rank, ret, length))
            health = {}
            if updates % HEALTH_EVERY == 0:
                ends = torch.as_tensor(rollout.ends, dtype=torch.float32)
                health = model.health(rollout.observations, rollout.start_state, ends)
            updates += 1
            total, parts = algorithm.loss(model, rollout, args, reference, shared.steps.value)
            stats = algorithm.gradients(model, total, parts, args.max_grad_norm)
            actions = action_counts(rollout, model.spec.n_actions)
            # Synchronisation: this worker's buffer is read by the main process only between the message below and
            # its acknowledgement, so writing it here, before the message, races with nobody.
            for buffer, p in zip(grads, model.parameters(), strict=True):
                buffer.copy_(p.grad if p.grad is not None else torch.zeros_like(p))
            shared.messages.put(Gradient(who.rank, args.n_steps * envs.num_envs, stats, actions, health))
            wait_for(ack)
            if shared.stop.is_set():
                break
            read_weights(shared.version, shared.global_model, model)
    except MainProcessGone:
        return
    except Exception:
        shared.messages.put(Crashed(who.rank, traceback.format_exc()))
        raise SystemExit(1) from None
    finally:
        if envs is not None:
            envs.close()
