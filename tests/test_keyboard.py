"""Keyboard safety with a recording sender; the same paths run against a real X server in test_screen.py."""

import os
import signal

import pytest

from control.keyboard import AgentStopped, Keyboard

MANAGED = ("left", "right", "up", "down", "x")


class Recorder:
    def __init__(self, fail_on=None):
        self.events = []
        self.down = set()
        self.fail_on = fail_on

    def press(self, key):
        self.events.append(("press", key))
        self.down.add(key)

    def release(self, key):
        self.events.append(("release", key))
        self.down.discard(key)
        if key == self.fail_on:
            raise OSError("X connection lost")

    def close(self):
        self.closed = True


class Focus:
    def __init__(self):
        self.focused = True

    def has_focus(self):
        return self.focused


def test_only_changes_are_sent():
    sender = Recorder()
    with Keyboard(sender, MANAGED) as kb:
        assert kb.apply({"left", "up"})
        assert kb.apply({"up", "right"})
        assert kb.apply({"up", "right"})
        assert sender.events == [("press", "left"), ("press", "up"), ("release", "left"), ("press", "right")]
        assert kb.held == {"up", "right"}
    assert sender.down == set()


def test_exception_releases_every_key():
    sender = Recorder()
    with pytest.raises(RuntimeError), Keyboard(sender, MANAGED) as kb:
        kb.apply({"up", "x"})
        raise RuntimeError("policy crashed")
    assert sender.down == set()


def test_failed_release_still_releases_the_others():
    sender = Recorder(fail_on="left")
    kb = Keyboard(sender, MANAGED).open()
    kb.apply({"left", "up", "x"})
    with pytest.raises(OSError, match="X connection lost"):
        kb.close()
    assert sender.down == set()


def test_focus_loss_releases_and_holds_back():
    sender, focus = Recorder(), Focus()
    with Keyboard(sender, MANAGED, focus) as kb:
        kb.apply({"up"})
        focus.focused = False
        assert not kb.apply({"up", "left"})
        assert sender.down == set() and kb.held == set()
        assert ("press", "left") not in sender.events
        assert kb.stats.counters["held_back"] == 1
        focus.focused = True
        assert kb.apply({"up", "left"})
        assert sender.down == {"up", "left"}


def test_kill_switch_stops_at_once():
    sender = Recorder()
    with Keyboard(sender, MANAGED) as kb:
        kb.apply({"up", "x"})
        kb.stop()
        assert sender.down == set()
        with pytest.raises(AgentStopped, match="kill switch"):
            kb.apply({"up"})
        assert sender.down == set()


def test_sigterm_unwinds_and_releases():
    sender = Recorder()
    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as exit_info, Keyboard(sender, MANAGED) as kb:
        kb.apply({"right", "up"})
        os.kill(os.getpid(), signal.SIGTERM)
    assert exit_info.value.code == 128 + signal.SIGTERM and exit_info.value.signal_name == "SIGTERM"
    assert sender.down == set()
    assert kb.stopped
    assert signal.getsignal(signal.SIGTERM) is previous


def test_unmanaged_keys_are_refused():
    with Keyboard(Recorder(), MANAGED) as kb, pytest.raises(ValueError, match=r"\['enter'\] are not managed"):
        kb.apply({"enter"})
