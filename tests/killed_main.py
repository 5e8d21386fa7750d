"""Processes of a training killed at awkward moments, and their helpers (started through the workers' own process
context, so they must be importable). Run as a script: the main process dies in the middle of writing the global
weights; it starts a process that copies them as a worker does, prints that process's pid and waits to be killed."""

import sys
import time
from typing import Any

import torch

from agent.a3c.processes import MainProcessGone, read_weights, start_method, writing


def big_model() -> torch.nn.Module:
    """Large enough that a copy takes a few milliseconds, so that a write can overlap it."""
    model = torch.nn.Linear(1000, 1000)
    model.share_memory()
    return model


def copy_for_ever(version: Any, source: torch.nn.Module) -> None:
    """A worker's copies of the global weights, one after the other, until the process is killed."""
    target = torch.nn.Linear(1000, 1000)
    try:
        while True:
            read_weights(version, source, target)  # type: ignore[arg-type]
    except MainProcessGone:
        sys.exit(0)


def write_for_ever(version: Any, model: torch.nn.Module) -> None:
    """The main process's updates, each setting every parameter to the update's number, 10 ms apart: as
    in training, where an update waits for a worker's gradient, copies find moments between writes (back to back,
    a copy overlaps one nearly every time and retries for as long as the machine is busy)."""
    for n in range(1, 10**9):
        with writing(version), torch.no_grad():
            for p in model.parameters():
                p.fill_(n)
        time.sleep(0.01)


if __name__ == "__main__":
    ctx = start_method()
    version = ctx.RawValue("q", 0)
    version.value += 1  # as the main process does while it applies a gradient
    child = ctx.Process(target=copy_for_ever, args=(version, big_model()))
    child.start()
    print(child.pid, flush=True)
    time.sleep(600)
