"""A guardian process that cleans up after a key sender that dies without cleaning up itself.

A process that injects keys releases them on every exit it sees (:mod:`control.keyboard`), but a process killed
with SIGKILL sees nothing: the X server keeps its keys down, so the car drives on, and the game it launched keeps
running. So each sender starts a small guardian process of its own (:class:`Guardian`). The guardian watches the
sender through a pidfd (it sees the death however it comes, even when the sender's
children hold copies of its pipes), and when the sender dies without saying goodbye it

1. releases, over an X connection of its own, every one of the sender's keys the X server still holds down, then
2. stops the process groups it was given (the game the sender launched, a virtual desktop it started): SIGTERM,
   then SIGKILL after a few seconds,

and says so in one line on stderr. A sender that closes normally says goodbye first and the guardian touches
nothing. The guardian runs in a session of its own, so a terminal's Ctrl-C or hang-up, meant for the sender, does
not reach it.

Protocol on the guardian's stdin: one JSON line (sender pid, display, keys, process groups), then ``group N``
lines for process groups started later (a game launched once the desktop is up), and ``bye`` or end of file. It
answers ``ready`` on stdout once it watches the sender.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from typing import Any

from capture.display import read_line
from capture.errors import PixelpilotError

READY, BYE = "ready", "bye"
START_TIMEOUT = 15.0
"""seconds for the guardian to start watching (a Python start-up, on a loaded machine)"""
STOP_GRACE = 5.0
"""seconds a stopped process group gets between SIGTERM and SIGKILL"""


class Guardian:
    """Watches this process from another one: if this process dies without :meth:`close`, ``keys`` still held
    down on ``display`` are released and the process ``groups`` are stopped."""

    def __init__(self, keys: Iterable[str] = (), groups: Iterable[int] = (), display: str | None = None) -> None:
        config = {"sender": os.getpid(), "display": display if display is not None else os.environ.get("DISPLAY"),
                  "keys": sorted(keys), "groups": sorted(groups)}  # fmt: skip
        self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-m", "control.guardian"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(config).encode() + b"\n")
        self._proc.stdin.flush()
        answer = read_line(self._proc.stdout.fileno(), START_TIMEOUT)
        if answer != READY:
            self._proc.kill()
            self._proc.wait()
            self._proc = None
            raise PixelpilotError(f"the key guardian did not start ({answer or 'no answer'}); no keys were sent")

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def watch(self, group: int) -> None:
        """Stop process group ``group`` too if this process dies (something it started since)."""
        assert self._proc is not None and self._proc.stdin is not None, "closed"
        self._proc.stdin.write(f"group {group}\n".encode())
        self._proc.stdin.flush()

    def close(self) -> None:
        """Goodbye: the sender has cleaned up itself, so the guardian leaves everything as it is and exits."""
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        assert proc.stdin is not None
        try:
            proc.stdin.write(BYE.encode() + b"\n")
            proc.stdin.close()
        except BrokenPipeError:  # it died: nothing to say goodbye to
            pass
        try:
            proc.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        finally:
            if proc.stdout is not None:
                proc.stdout.close()

    def __enter__(self) -> Guardian:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the guardian process ----------------------------------------------------------------------------------------
def _watch(sender: int, pending: bytes, groups: list[int]) -> bool:
    """Wait until the sender says goodbye (True) or dies (False); ``groups`` grows by the ones it names."""
    try:
        pidfd = os.pidfd_open(sender)
    except ProcessLookupError:
        return False
    print(READY, flush=True)
    try:
        while True:
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if line == BYE.encode():
                    return True
                if line.startswith(b"group "):
                    groups.append(int(line.split()[1]))
            ready = select.select([0, pidfd], [], [])[0]
            if 0 in ready:  # first what the sender said: a goodbye may come just before its end
                chunk = os.read(0, 256)
                if chunk:
                    pending += chunk
                    continue
                return BYE.encode() in pending.split(b"\n")  # end of file without a goodbye: it died
            return False  # the pidfd: the sender ended
    finally:
        os.close(pidfd)


def _release(display_name: str | None, keys: list[str]) -> list[str]:
    """Release the ``keys`` the X server holds down; the ones it held."""
    if not keys or not display_name:
        return []
    from Xlib import X, display
    from Xlib.ext import xtest

    from control.xkeys import keycode

    x: Any = display.Display(display_name)
    try:
        codes = {key: keycode(x, key) for key in keys}
        keymap = x.query_keymap()
        held = [key for key, code in codes.items() if keymap[code // 8] & (1 << (code % 8))]
        for key in held:
            xtest.fake_input(x, X.KeyRelease, codes[key])
        x.sync()
        return held
    finally:
        x.close()


def _alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # the group id was reused by someone else's processes: not ours to stop
        return False
    return True


def stop_groups(groups: list[int], grace: float = STOP_GRACE) -> list[int]:
    """SIGTERM each process group, SIGKILL what is left after ``grace`` seconds; the groups that were running."""
    running = [g for g in groups if _alive(g)]
    for group in running:
        os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(_alive(g) for g in running) and time.monotonic() < deadline:
        time.sleep(0.05)
    for group in running:
        if _alive(group):
            os.killpg(group, signal.SIGKILL)
    return running


def main() -> int:
    # The config line, read without Python's buffering so that what follows it stays for the watch.
    pending = b""
    while b"\n" not in pending:
        chunk = os.read(0, 4096)
        if not chunk:
            return 1
        pending += chunk
    line, pending = pending.split(b"\n", 1)
    config = json.loads(line)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is for the sender; its death is what counts here
    groups = [int(g) for g in config["groups"]]
    if _watch(int(config["sender"]), pending, groups):
        return 0
    said = [f"pixelpilot: process {config['sender']} ended without cleaning up"]
    try:
        held = _release(config.get("display"), list(config["keys"]))
        if config["keys"]:
            said.append(f"released {', '.join(held)}" if held else "no key of it was held")
    except Exception as exc:  # the display may be gone with the sender; the process groups still need stopping
        said.append(f"could not reach the X display {config.get('display')!r} ({type(exc).__name__})")
    stopped = stop_groups(groups)
    if stopped:
        said.append(f"stopped what it started (process groups {', '.join(str(g) for g in stopped)})")
    print("; ".join(said), file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
