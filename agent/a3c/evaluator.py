"""The evaluator process: every ``eval_every`` steps it copies the global weights and runs the evaluation episodes
(most likely actions, or with ``eval_sample`` the same seeded draws each time), several environments side by
side."""

from __future__ import annotations

import time
import traceback

import gymnasium as gym

from agent.a3c.args import Args
from agent.a3c.processes import (
    EVALUATOR,
    Crashed,
    Evaluated,
    MainProcessGone,
    Shared,
    enter_child,
    main_process_alive,
    read_weights,
)
from agent.envs.make import close_all
from agent.learning.evaluations import evaluate_now, make_eval_envs
from models.build import build


def evaluator(args: Args, shared: Shared, first_at: int, started: float) -> None:
    """``started`` is the run's ``time.monotonic()`` origin (a system-wide clock), so results carry the run's clock
    at the snapshot."""
    enter_child(shared.environ, args.torch_threads)
    envs: list[gym.Env] = []
    try:
        envs = make_eval_envs(args)
        model = build(shared.global_model.spec)
        next_at = first_at
        while not shared.stop.is_set():
            at = shared.steps.value
            if at < next_at:
                if not main_process_alive():
                    return
                time.sleep(0.05)
                continue
            read_weights(shared.version, shared.global_model, model)
            point = evaluate_now(args, model, envs, at, time.monotonic() - started)
            shared.messages.put(Evaluated(point, {k: v.clone() for k, v in model.state_dict().items()}))
            next_at = (at // args.eval_every + 1) * args.eval_every
    except MainProcessGone:
        return
    except Exception:
        shared.messages.put(Crashed(EVALUATOR, traceback.format_exc()))
        raise SystemExit(1) from None
    finally:
        close_all(envs)
