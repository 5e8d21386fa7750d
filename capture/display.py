"""Virtual X desktops: Xvfb plus a window manager, for tests, the headless demo and one display per worker.

A window manager is part of the desktop on purpose: focus, decorations, minimising and the EWMH properties
that window lookup reads all come from it, as on a real desktop.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import time

from capture.errors import DisplayError

APT_HINT = "install it with: sudo apt-get install xvfb openbox x11-xserver-utils"
WM_ATTEMPTS = 3
"""Starts of the window manager before the desktop gives up (see ``VirtualDesktop._start_wm``)."""


class VirtualDesktop:
    """Starts ``Xvfb`` on a free display number and a window manager on it; stops both on exit.

    Use as a context manager. ``display`` is the ``:N`` name; ``env()`` gives a child process environment. The
    default size is a common desktop's, wide enough for the panel with an 800x600 game beside it.
    """

    def __init__(
        self,
        width: int = 1920,
        height: int = 1080,
        window_manager: str | None = "openbox",
        timeout: float = 15.0,
    ) -> None:
        if width < 64 or height < 64:
            raise ValueError(f"virtual screen must be at least 64x64, got {width}x{height}")
        self.size = (width, height)
        self.window_manager = window_manager
        self.timeout = timeout
        self.display: str | None = None
        self._xvfb: subprocess.Popen[bytes] | None = None
        self._wm: subprocess.Popen[bytes] | None = None

    def start(self) -> VirtualDesktop:
        xvfb = shutil.which("Xvfb")
        if xvfb is None:
            raise DisplayError(f"Xvfb is not installed; {APT_HINT}")
        wm = None
        if self.window_manager:
            wm = shutil.which(self.window_manager)
            if wm is None:
                raise DisplayError(f"window manager {self.window_manager!r} is not installed; {APT_HINT}")
        read_fd, write_fd = os.pipe()
        try:
            width, height = self.size
            self._xvfb = subprocess.Popen(
                [
                    xvfb,
                    "-displayfd",
                    str(write_fd),
                    "-screen",
                    "0",
                    f"{width}x{height}x24",
                    "-nolisten",
                    "tcp",
                ],
                pass_fds=(write_fd,),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            os.close(write_fd)
            write_fd = -1
            number = read_line(read_fd, self.timeout)
        finally:
            os.close(read_fd)
            if write_fd >= 0:
                os.close(write_fd)
        if not number:
            error = self._stop_process(self._xvfb)
            raise DisplayError(f"Xvfb did not start: {error or 'no display number within the timeout'}")
        self.display = f":{number}"
        if wm is not None:
            self._start_wm(wm)
        return self

    def env(self) -> dict[str, str]:
        """The current environment with DISPLAY pointing here (and no Wayland to confuse toolkits)."""
        if self.display is None:
            raise RuntimeError("the virtual desktop is not started")
        env = dict(os.environ, DISPLAY=self.display)
        env.pop("WAYLAND_DISPLAY", None)
        return env

    def _start_wm(self, wm: str) -> None:
        """Starts the window manager, again when it exits during its start.

        Under load, a window manager started while several X servers come up at once (one per worker) can fail
        to open a display that Xvfb has already announced, and exits at once ("Failed to open the display");
        the same command a moment later succeeds. A failure on every attempt is reported with its last words.
        """
        for attempt in range(1, WM_ATTEMPTS + 1):
            # a file, not a pipe: a chatty window manager never blocks on it; it keeps its own descriptor
            with tempfile.TemporaryFile() as output:
                self._wm = subprocess.Popen(
                    [wm], env=self.env(), stdout=output, stderr=subprocess.STDOUT, start_new_session=True
                )
                code = self._wait_for_wm()
                if code is None:
                    return
                output.seek(0)
                lines = output.read().decode(errors="replace").strip().splitlines()
            if attempt == WM_ATTEMPTS:
                self.stop()
                said = f": {lines[-1]}" if lines else " and said nothing"
                raise DisplayError(
                    f"window manager {self.window_manager!r} exited with code {code} at each of "
                    f"{WM_ATTEMPTS} starts{said}"
                )

    def _wait_for_wm(self) -> int | None:
        """None once the window manager has set _NET_SUPPORTING_WM_CHECK on the root window, which is when it
        is ready; its exit code if it exits first."""
        assert self._wm is not None
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            code = self._wm.poll()
            if code is not None:
                return code
            probe = subprocess.run(
                ["xprop", "-root", "_NET_SUPPORTING_WM_CHECK"], env=self.env(), capture_output=True, text=True
            )
            if probe.returncode == 0 and "window id" in probe.stdout:
                return None
            time.sleep(0.05)
        self.stop()
        raise DisplayError(f"window manager {self.window_manager!r} did not come up in {self.timeout:g} s")

    @staticmethod
    def _stop_process(proc: subprocess.Popen[bytes] | None) -> str:
        if proc is None:
            return ""
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
        return err.splitlines()[-1] if err else ""

    def groups(self) -> list[int]:
        """The process groups of the running desktop (Xvfb and the window manager each lead their own)."""
        return [p.pid for p in (self._xvfb, self._wm) if p is not None and p.poll() is None]

    def stop(self) -> None:
        self._stop_process(self._wm)
        self._stop_process(self._xvfb)
        self._wm = self._xvfb = None
        self.display = None

    def __enter__(self) -> VirtualDesktop:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def read_line(fd: int, timeout: float) -> str:
    """One line from the pipe ``fd`` (Xvfb's display number, a child's answer), or what arrived of it within
    ``timeout`` seconds."""
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            break
        chunk = os.read(fd, 256)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip()
