"""Shared fixtures: one virtual X desktop (Xvfb + openbox) per test session, and test game windows on it.

Screen tests never skip: without Xvfb or openbox the desktop fixture fails with the install command.
pywinctl binds to ``$DISPLAY`` when first imported, so the session's desktop is set before any test asks
the window system anything.
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from agent.envs.launcher import free_port

ROOT = Path(__file__).resolve().parent.parent
KEYWINDOW = ROOT / "tests" / "keywindow.py"


SCREEN_FIXTURES = {"desktop", "game_window"}
"""a test that uses one of these (directly or through another fixture) drives windows on an X display"""


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C as a terminal delivers it, for this process and every one a test starts. A suite started in the
    background by a script (``make test &``) inherits SIGINT ignored, Python then leaves it so, and so does every
    child: the tests that stop a run or a key sender with SIGINT would wait for a process that never hears it."""
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test on the session's desktop ``screen`` (the other markers are set where the tests are:
    ``make test-fast`` runs what has none of them)."""
    for item in items:
        if SCREEN_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.screen)


@pytest.fixture(scope="session")
def desktop() -> Iterator[str]:
    from capture.display import VirtualDesktop

    with VirtualDesktop() as vd:
        assert vd.display is not None
        os.environ["DISPLAY"] = vd.display
        os.environ.pop("WAYLAND_DISPLAY", None)
        yield vd.display
        gc.collect()  # X clients of finished tests close while their server still runs


class GameWindow:
    """A running tests/keywindow.py with its telemetry."""

    def __init__(self, title: str, port: int, proc: subprocess.Popen[bytes]) -> None:
        from capture.telemetry import TelemetryReceiver

        self.title = title
        self.port = port
        self.proc = proc
        self.receiver: TelemetryReceiver | None = None
        self.handle = 0
        self._latest: dict = {}

    def listen(self) -> None:
        from capture.telemetry import TelemetryReceiver

        self.receiver = TelemetryReceiver(self.port)

    def latest(self) -> dict:
        assert self.receiver is not None
        for msg in self.receiver.drain():
            self._latest = msg
        return self._latest

    def wait_for(self, predicate: Callable[[dict], bool], timeout: float = 5.0) -> dict:
        """Poll the telemetry until ``predicate`` holds for the latest message."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self.latest()
            if msg and predicate(msg):
                return msg
            time.sleep(0.02)
        raise AssertionError(f"telemetry never satisfied the condition; last: {self.latest()}")

    def held(self) -> set[str]:
        return set(self.latest().get("held", []))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        if self.receiver is not None:
            self.receiver.close()


@pytest.fixture
def game_window(desktop: str) -> Iterator[Callable[..., GameWindow]]:
    """Factory: ``game_window(title=None, listen=True, *extra_args)`` starts a key window and waits for it."""
    from agent.envs.launcher import wait_for_window

    started: list[GameWindow] = []

    def start(title: str | None = None, listen: bool = True, extra: tuple[str, ...] = ()) -> GameWindow:
        title = title or f"KeyWindow-{uuid.uuid4().hex[:8]}"
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, str(KEYWINDOW), "--title", title, "--telemetry-port", str(port), *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        window = GameWindow(title, port, proc)
        started.append(window)
        if listen:
            window.listen()
        window.handle = wait_for_window(title, 60).handle  # generous: Qt starts slowly on a loaded machine
        if listen:
            window.wait_for(lambda msg: msg.get("focused", False))
        return window

    yield start
    for window in started:
        window.stop()


def wait_until(condition: Callable[[], object], timeout: float = 30.0) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds (generous: a loaded machine is slow)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.02)


def processes_with(text: str) -> list[psutil.Process]:
    """The processes (other than this one) whose command line contains ``text``."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(process.info["cmdline"] or ())
        if text in cmdline and process.pid != os.getpid() and process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(process)
    return found


RUN_MARK = "PIXELPILOT_TEST_RUN"
"""an environment variable a test gives the commands it runs: every process they start inherits it"""


def marked_env(token: str) -> dict[str, str]:
    """This process's environment with :data:`RUN_MARK` set to ``token``."""
    return dict(os.environ, **{RUN_MARK: token})


def marked_processes(token: str) -> list[psutil.Process]:
    """The live processes whose environment carries :data:`RUN_MARK` = ``token``: what the commands a test ran with
    :func:`marked_env` left behind, whatever else runs on the machine (another test suite's desktops, say)."""
    found = []
    for process in psutil.process_iter(["status"]):
        try:
            if process.info["status"] != psutil.STATUS_ZOMBIE and process.environ().get(RUN_MARK) == token:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue  # gone meanwhile, or another user's
    return found


def write_profile(path: Path, window: str, port: int, extra: str = "", launch: list[str] | None = None) -> Path:
    """A profile for a key window, written to ``path``."""
    launch_line = f"launch = {launch!r}\n".replace("'", '"') if launch else ""
    path.write_text(
        f'name = "test"\nwindow = "{window}"\n{launch_line}fps = 15\n'
        f'[keys]\nreset = ["enter"]\n[reward]\nsource = "telemetry"\nport = {port}\n{extra}'
    )
    return path
