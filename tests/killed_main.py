"""A training's main process killed while it holds the global model's lock: run as a script, it takes the lock,
starts a process that waits for it as a worker does, prints that process's pid and waits to be killed."""

import sys
import time

from agent.a3c.processes import MainProcessGone, holding, start_method


def wait_for_the_lock(lock: object) -> None:
    try:
        with holding(lock):
            pass
    except MainProcessGone:
        sys.exit(0)


if __name__ == "__main__":
    ctx = start_method()
    lock = ctx.Lock()
    lock.acquire()  # as the main process does while it applies a gradient
    child = ctx.Process(target=wait_for_the_lock, args=(lock,))
    child.start()
    print(child.pid, flush=True)
    time.sleep(600)
