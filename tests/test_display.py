"""The virtual desktop comes up under load, and says why when it cannot."""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from capture.display import WM_ATTEMPTS, VirtualDesktop
from capture.errors import DisplayError

pytestmark = pytest.mark.screen  # each test starts desktops of its own


def script(path: Path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_a_window_manager_that_fails_its_first_start_is_started_again(tmp_path: Path) -> None:
    """What a loaded machine does now and then: the first start cannot open the display, the next one can."""
    marker = tmp_path / "tried"
    wm = script(
        tmp_path / "flaky-wm",
        f'if [ ! -e "{marker}" ]; then touch "{marker}"; echo "Failed to open the display"; exit 1; fi\nexec openbox\n',
    )
    with VirtualDesktop(640, 480, window_manager=wm) as desktop:
        assert marker.exists()
        assert desktop.display is not None
        assert len(desktop.groups()) == 2


def test_a_window_manager_that_always_fails_is_reported_with_its_last_words(tmp_path: Path) -> None:
    count = tmp_path / "starts"
    wm = script(tmp_path / "broken-wm", f'echo start >> "{count}"\necho "cannot open display here"\nexit 3\n')
    desktop = VirtualDesktop(640, 480, window_manager=wm)
    with pytest.raises(DisplayError) as error:
        desktop.start()
    assert str(error.value) == (
        f"window manager {wm!r} exited with code 3 at each of {WM_ATTEMPTS} starts: cannot open display here"
    )
    assert count.read_text().count("start") == WM_ATTEMPTS
    assert desktop.display is None and desktop.groups() == []  # its X server went with it


def test_desktops_started_side_by_side_all_come_up() -> None:
    """One desktop per worker: several X servers and window managers start at the same moment."""

    def up(_: int) -> str:
        with VirtualDesktop(320, 240) as desktop:
            assert desktop.display is not None
            return desktop.display

    workers = max(4, 2 * (os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:
        displays = list(pool.map(up, range(3 * workers)))
    assert len(displays) == 3 * workers
