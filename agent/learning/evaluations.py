"""A training's evaluations: the same episodes every time, on the evaluation environments the options name."""

from __future__ import annotations

import gymnasium as gym

from agent.envs.make import make_envs
from agent.learning.args import RunArgs
from agent.policy.evaluation import EvalPoint, eval_point
from models.actor_critic import ActorCritic

EVAL_SEED_OFFSET = 10_000
"""evaluation episode i is reset with ``seed + EVAL_SEED_OFFSET + i``: the same episodes at every evaluation"""


def make_eval_envs(args: RunArgs) -> list[gym.Env]:
    kwargs = args.env_kwargs if args.eval_env_kwargs is None else args.eval_env_kwargs
    return make_envs(args.env_id, kwargs, min(args.eval_envs, args.eval_episodes), args.frame_stack)


def evaluate_now(args: RunArgs, model: ActorCritic, envs: list[gym.Env], steps: int, wall_s: float) -> EvalPoint:
    return eval_point(model, envs, args.eval_episodes, args.seed + EVAL_SEED_OFFSET, args.eval_sample, steps, wall_s)
