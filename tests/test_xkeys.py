"""Every key a profile can send can be read back from the X server: recording and the person's overrides read keys
there, and a key read under another name is a key silently lost (``space``, the turbo key of many games, was)."""

from __future__ import annotations

import time

import pytest

from capture.errors import PixelpilotError
from control.keyboard import PynputSender
from control.keys import SPECIAL_KEYS
from control.xkeys import KeyState, keysym

LOCKS = ("caps_lock", "num_lock", "scroll_lock")
"""pressed twice, so the test leaves the lock as it found it"""


def held_within(state: KeyState, key: str, down: bool, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while (key in state.pressed()) != down:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


@pytest.mark.parametrize("key", [*sorted(SPECIAL_KEYS), "x", "a", "1", "/", "é"])
def test_a_key_sent_is_a_key_read_or_both_refuse_it(desktop, key):
    sender = PynputSender()
    try:
        sender.press(key)
    except PixelpilotError as refused:
        sender.close()
        assert str(refused) == f"key {key!r} is not on this X keyboard layout"
        with pytest.raises(PixelpilotError, match="is not on this X keyboard layout"):
            KeyState([key])
        return
    sender.release(key)
    state = KeyState([key])
    try:
        for _ in range(2 if key in LOCKS else 1):
            sender.press(key)
            assert held_within(state, key, True), f"{key!r} was sent but the X server does not report it held"
            sender.release(key)
            assert held_within(state, key, False), f"{key!r} still reads as held after its release"
    finally:
        sender.release(key)
        state.close()
        sender.close()


def test_the_reader_asks_for_the_keysyms_the_sender_presses(desktop):
    from pynput.keyboard import Key

    assert {k: keysym(k) for k in SPECIAL_KEYS} == {k: getattr(Key, k).value.vk for k in SPECIAL_KEYS}
