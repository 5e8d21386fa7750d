"""The network a run trains, built from the environment's spaces and the run's options."""

from __future__ import annotations

import torch

from agent.config import ConfigError
from agent.envs.make import instances_per_process, make_env
from agent.learning.args import RunArgs
from models.actor_critic import ActorCriticModule
from models.build import build
from models.spec import SpecError, spec_for


def network_for(args: RunArgs, per_process: int, option: str, head: str = "actor-critic") -> ActorCriticModule:
    """The network for the spaces of ``args``' environment (``head``: an actor-critic, or a Q-network's action
    values), its first weights seeded by ``args.seed``. It checks on the way that one process may run
    ``per_process`` copies of the environment (the option ``option`` asks for them): a game window takes a process
    of its own. Either failure is one ConfigError line."""
    torch.manual_seed(args.seed)
    probe = make_env(args.env_id, args.env_kwargs, args.frame_stack)
    try:
        if per_process > instances_per_process(probe):
            raise ConfigError(f"{option}: {args.env_id} runs {instances_per_process(probe)} per process, not "
                              f"{per_process}")  # fmt: skip
        spec = spec_for(probe.observation_space, probe.action_space, args.model, args.hidden, args.frame_stack,
                        args.pool, args.layer_norm, args.input_norm, args.frame_differences, head)  # fmt: skip
    except SpecError as exc:
        raise ConfigError(f"{args.env_id}: {exc}") from None
    finally:
        probe.close()
    return build(spec)
