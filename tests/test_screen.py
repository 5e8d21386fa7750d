"""End to end on a real X desktop: windows, keys, focus, capture, signals. No fakes."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from capture.errors import AmbiguousWindowError, WindowClosedError, WindowMinimizedError, WindowNotFoundError
from capture.grabber import WindowGrabber
from capture.preprocess import preprocess
from capture.windows import default_backend, find_window
from control.actions import ActionTable
from control.focus import FocusGuard
from control.hotkeys import Hotkeys
from control.keyboard import AgentStopped, Keyboard, PynputSender
from control.xkeys import pressed
from tests.conftest import ROOT
from tests.keywindow import BOX_KEYS, box_rect

TABLE = ActionTable()
MANAGED = TABLE.managed_keys


def xdotool(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, timeout=10)


def activate(handle: int) -> None:
    default_backend().activate(handle)
    deadline = time.monotonic() + 5
    while default_backend().active_handle() != handle:
        assert time.monotonic() < deadline, "window did not get the focus"
        time.sleep(0.02)


def lit_boxes(frame: np.ndarray) -> set[str]:
    """Which key boxes the captured window shows as held (white)."""
    h, w = frame.shape[:2]
    lit = set()
    for i, key in enumerate(BOX_KEYS):
        left, top, width, height = box_rect(i, w, h)
        if frame[top + height // 2, left + width // 2, :3].mean() > 200:
            lit.add(key)
    return lit


def keyboard_for(window) -> Keyboard:
    return Keyboard(PynputSender(), MANAGED, FocusGuard(window.handle))


def test_find_window_rules(game_window):
    a = game_window("Race A", listen=False)
    game_window("Race AB", listen=False)
    assert find_window("Race A").handle == a.handle  # the exact title wins over a longer partial match
    assert find_window("Race AB").title == "Race AB"
    with pytest.raises(AmbiguousWindowError, match="2 windows match 'Race'"):
        find_window("Race")
    with pytest.raises(WindowNotFoundError, match=r"no window title contains 'Nope'; visible windows: .*'Race A'"):
        find_window("Nope")


def test_every_action_reaches_the_window_and_the_capture_sees_it(game_window):
    window = game_window()
    activate(window.handle)
    with keyboard_for(window) as kb, WindowGrabber(window.handle) as grabber:
        for action in range(TABLE.n):
            keys = TABLE.keys(action)
            assert kb.apply(keys)
            window.wait_for(lambda msg, keys=keys: set(msg["held"]) == keys)
            deadline = time.monotonic() + 3
            while lit_boxes(grabber.grab()) != keys:
                assert time.monotonic() < deadline, f"capture never showed {keys}"
                time.sleep(0.02)
            assert preprocess(grabber.grab()).shape == (128, 200, 1)
    window.wait_for(lambda msg: msg["held"] == [])
    assert pressed(MANAGED) == set()


def test_focus_guard_holds_keys_back_from_other_windows(game_window):
    target, other = game_window(), game_window()
    activate(target.handle)
    with keyboard_for(target) as kb:
        assert kb.apply({"up"})
        target.wait_for(lambda msg: msg["held"] == ["up"])
        activate(other.handle)
        assert not kb.apply({"up", "left"})
        assert pressed(MANAGED) == set()
        time.sleep(0.3)
        presses = other.latest()["presses"]
        assert "up" not in presses and "left" not in presses
        activate(target.handle)
        assert kb.apply({"up", "left"})
        target.wait_for(lambda msg: set(msg["held"]) == {"up", "left"})
    assert pressed(MANAGED) == set()


def test_exception_in_the_loop_releases_keys(game_window):
    window = game_window()
    activate(window.handle)
    with pytest.raises(ZeroDivisionError), keyboard_for(window) as kb:
        kb.apply({"right", "up"})
        window.wait_for(lambda msg: set(msg["held"]) == {"right", "up"})
        _ = 1 / 0
    window.wait_for(lambda msg: msg["held"] == [])
    assert pressed(MANAGED) == set()


AGENT = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {root!r})
    from control.focus import FocusGuard
    from control.keyboard import Keyboard, PynputSender
    from capture.windows import find_window
    window = find_window({title!r})
    with Keyboard(PynputSender(), ["left", "right", "up", "down", "x"], FocusGuard(window.handle)) as kb:
        kb.apply({{"up", "x"}})
        print("holding", flush=True)
        while True:
            time.sleep(0.01)
    """
)


def test_keys_held_at_a_normal_exit_are_released(game_window):
    window = game_window()
    activate(window.handle)
    script = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, {root!r})
        from control.focus import FocusGuard
        from control.keyboard import Keyboard, PynputSender
        from capture.windows import find_window
        window = find_window({title!r})
        kb = Keyboard(PynputSender(), ["left", "right", "up", "down", "x"], FocusGuard(window.handle)).open()
        kb.apply({{"up", "x"}})
        print("holding", flush=True)
        sys.stdin.readline()
        """
    )
    agent = subprocess.Popen(
        [sys.executable, "-c", script.format(root=str(ROOT), title=window.title)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert agent.stdout is not None and agent.stdin is not None
    assert agent.stdout.readline().strip() == "holding"
    window.wait_for(lambda msg: set(msg["held"]) == {"up", "x"})
    agent.stdin.write("exit\n")
    agent.stdin.flush()
    assert agent.wait(10) == 0  # the keyboard was never closed: the interpreter-exit hook releases
    window.wait_for(lambda msg: msg["held"] == [])
    assert pressed(MANAGED) == set()


def test_human_key_listener(game_window):
    from control.human import HumanKeys

    window = game_window(listen=False)
    activate(window.handle)
    changes = []
    with HumanKeys(TABLE, on_change=changes.append) as human:
        xdotool("keydown", "Left", "keydown", "Up")
        deadline = time.monotonic() + 5
        while human.held() != {"left", "up"}:
            assert time.monotonic() < deadline, f"held: {human.held()}"
            time.sleep(0.02)
        assert human.action() == 3
        xdotool("keyup", "Left", "keyup", "Up")
        while human.held():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert human.action() is None and changes[-1] == frozenset()


def test_other_platforms_fail_naming_the_platform(monkeypatch):
    import capture.windows as windows
    from capture.errors import UnsupportedPlatformError

    monkeypatch.setattr(windows, "_backend", None)
    monkeypatch.setattr(windows.sys, "platform", "win32")
    with pytest.raises(UnsupportedPlatformError, match="no window backend for platform 'win32'"):
        windows.default_backend()


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGINT, -signal.SIGINT)])
def test_agent_process_killed_by_a_signal_releases_keys(game_window, sig, code):
    window = game_window()
    activate(window.handle)
    agent = subprocess.Popen(
        [sys.executable, "-c", AGENT.format(root=str(ROOT), title=window.title)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert agent.stdout is not None and agent.stdout.readline().strip() == "holding"
        window.wait_for(lambda msg: set(msg["held"]) == {"up", "x"})
        assert pressed(MANAGED) == {"up", "x"}
        agent.send_signal(sig)
        assert agent.wait(10) == code
    finally:
        agent.kill()
    window.wait_for(lambda msg: msg["held"] == [])
    assert pressed(MANAGED) == set()


def test_kill_switch_and_autopilot_toggle_hotkeys(game_window):
    window = game_window()
    activate(window.handle)
    toggles = []
    with keyboard_for(window) as kb, Hotkeys(on_kill=kb.stop, on_toggle=toggles.append) as hotkeys:
        kb.apply({"left", "up"})
        window.wait_for(lambda msg: set(msg["held"]) == {"left", "up"})
        xdotool("key", "F8")
        deadline = time.monotonic() + 5
        while toggles != [False]:
            assert time.monotonic() < deadline, "the autopilot toggle was not heard"
            time.sleep(0.02)
        assert not hotkeys.autopilot
        xdotool("key", "F12")
        assert hotkeys.killed.wait(5), "the kill switch was not heard"
        assert pressed(MANAGED) == set()
        with pytest.raises(AgentStopped):
            kb.apply({"up"})
    window.wait_for(lambda msg: msg["held"] == [])


def test_capture_follows_a_moved_and_resized_window(game_window):
    window = game_window()
    with WindowGrabber(window.handle) as grabber:
        before = grabber.grab().copy()
        rect = grabber.last_rect
        assert rect is not None and before.shape == (rect.height, rect.width, 4)
        xdotool("windowmove", str(window.handle), "300", "200")
        deadline = time.monotonic() + 5
        while grabber.last_rect == rect:
            assert time.monotonic() < deadline, "the move was not seen"
            time.sleep(0.05)
            after = grabber.grab()
        time.sleep(0.3)
        after = grabber.grab()
        assert grabber.last_rect != rect and after.shape == before.shape
        assert np.abs(after[:, :, :3].astype(int) - before[:, :, :3]).mean() < 1.0
        xdotool("windowsize", str(window.handle), "640", "480")
        deadline = time.monotonic() + 5
        while grabber.grab().shape[:2] != (480, 640):
            assert time.monotonic() < deadline, "the resize was not seen"
            time.sleep(0.05)
        time.sleep(0.3)
        assert lit_boxes(grabber.grab()) == set()  # the layout is redrawn at the new size and still read right


def test_partly_offscreen_window_is_padded_black(game_window):
    window = game_window(listen=False)
    xdotool("windowmove", str(window.handle), "-200", "100")
    with WindowGrabber(window.handle) as grabber:
        deadline = time.monotonic() + 5
        while (grabber.grab(), grabber.last_rect)[1].left != -200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        frame = grabber.grab()
        assert frame.shape[:2] == (600, 800)
        assert frame[:, :200].max() == 0 and frame[:, 200:].max() > 0


def test_minimised_and_closed_windows_raise_typed_errors(game_window):
    window = game_window(listen=False)
    with WindowGrabber(window.handle) as grabber:
        grabber.grab()
        xdotool("windowminimize", str(window.handle))
        deadline = time.monotonic() + 5
        with pytest.raises(WindowMinimizedError):
            while time.monotonic() < deadline:
                grabber.grab()
                time.sleep(0.05)
        activate(window.handle)
        # The WM may hand over the focus before it clears the hidden state.
        deadline = time.monotonic() + 5
        while True:
            try:
                frame = grabber.grab()
                break
            except WindowMinimizedError:
                assert time.monotonic() < deadline, "window was not restored"
                time.sleep(0.05)
        assert frame.shape == (600, 800, 4)
        window.stop()
        deadline = time.monotonic() + 5
        with pytest.raises(WindowClosedError):
            while time.monotonic() < deadline:
                grabber.grab()
                time.sleep(0.05)
