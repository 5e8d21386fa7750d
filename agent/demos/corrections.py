"""Learning from a person's corrections: a pilot retrained on the stretches a person drove while it played.

``pixelpilot play --record-overrides`` (and the Play tab's "Record my corrections") writes every stretch a
person drives into a dataset: the person's actions in the situations the pilot got wrong, the states its own
driving reaches. That is DAgger with a person as the labeller. :func:`learn_from_corrections` clones those
stretches into the pilot, starting from the pilot's own weights and network, together with the demonstrations
the pilot was cloned from when its checkpoint names them and they are still on this machine (without them a
few seconds of corrections would pull the whole policy towards them).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from agent.config import ConfigError
from agent.demos.pretrain import PretrainResult, pretrain
from agent.demos.pretrain_args import PretrainArgs
from agent.policy.checkpoint import BEHAVIOUR_CLONING, load_checkpoint

CORRECTION_BLOCK_SECONDS = 1.0
"""validation blocks of this length: corrections come in seconds, not minutes"""


def pilot_demos(pilot: str | Path) -> list[str]:
    """The datasets ``pilot`` was cloned from that still exist here (none for a pilot A3C trained)."""
    checkpoint = load_checkpoint(pilot)
    if checkpoint.learner != BEHAVIOUR_CLONING:
        return []
    named = (checkpoint.config or {}).get("data") or []
    return [str(path) for path in named if isinstance(path, str) and Path(path).is_dir()]


def learn_from_corrections(
    pilot: str | Path,
    corrections: Sequence[str | Path],
    runs_dir: str | Path = "runs",
    run_name: str | None = None,
    epochs: int = 10,
    status: Callable[[str], None] = print,
    stop: threading.Event | None = None,
) -> PretrainResult:
    """A new pilot: ``pilot`` cloned on ``corrections`` (and its own demonstrations, :func:`pilot_demos`)."""
    if not corrections:
        raise ConfigError("no corrections to learn from: play with corrections recorded, and drive a little")
    checkpoint = load_checkpoint(pilot)
    data = pilot_demos(pilot) + [str(path) for path in corrections]
    status(
        f"retraining {Path(pilot).name} on {len(corrections)} correction(s)"
        + (f" and its {len(data) - len(corrections)} demonstration(s)" if len(data) > len(corrections) else "")
    )
    args = PretrainArgs(data=data, env_id=checkpoint.env_id, env_kwargs=dict(checkpoint.env_kwargs),
                        init_from=str(pilot), epochs=epochs, val_block_seconds=CORRECTION_BLOCK_SECONDS,
                        runs_dir=str(runs_dir), run_name=run_name)  # fmt: skip
    return pretrain(args, status=status, stop=stop)
