import socket
import time

import numpy as np
import pytest

from capture.reward import NoReward, TelemetryReward
from capture.telemetry import TelemetryReceiver, TelemetrySender

FRAME = np.zeros((10, 10, 4), np.uint8)


def settle():
    time.sleep(0.05)


def reward_until(source: TelemetryReward, timeout: float = 10.0, **fields: object) -> float:
    """The reward polled until the newest message carries ``fields`` (UDP takes its time on a loaded machine)."""
    reward, deadline = 0.0, time.monotonic() + timeout
    while time.monotonic() < deadline:
        reading = source.poll(FRAME)
        reward += reading.reward
        if all(reading.info.get(k) == v for k, v in fields.items()):
            return reward
        time.sleep(0.005)
    raise AssertionError(f"no telemetry message with {fields} within {timeout} s")


@pytest.fixture
def telemetry():
    source = TelemetryReward(0)
    sender = TelemetrySender(source.receiver.port)
    yield source, sender
    sender.close()
    source.close()


def test_reward_is_the_change_in_score(telemetry):
    source, game = telemetry
    source.reset(expect_new_episode=False)
    game.send(score=0, episode=1, done=False, speed=3)
    settle()
    assert source.ready()
    game.send(score=5, episode=1, done=False, speed=4)
    game.send(score=7.5, episode=1, done=False, speed=5)
    settle()
    reading = source.poll(FRAME)
    assert reading.reward == 7.5 and not reading.done and reading.info["speed"] == 5
    game.send(score=9, episode=1, done=True)
    settle()
    reading = source.poll(FRAME)
    assert reading.reward == 1.5 and reading.done


def test_penalties_charge_each_unit_a_counter_grew_by_and_restart_with_the_episode():
    source = TelemetryReward(0, scale=0.5, penalties={"crashes": 100})
    game = TelemetrySender(source.receiver.port)
    try:
        source.reset(expect_new_episode=False)
        game.send(score=10, episode=1, crashes=0)
        game.send(score=30, episode=1, crashes=2)  # two crashes between two messages
        game.send(score=40, episode=1, crashes=True)  # not a number: ignored
        assert reward_until(source, score=40) == 0.5 * (40 - 200)
        game.send(score=5, episode=2, crashes=1)  # a new race counts from 0
        assert reward_until(source, score=5) == 0.5 * (5 - 100)
    finally:
        game.close()
        source.close()
    with pytest.raises(ValueError, match="penalty for 'crashes' must be a finite number >= 0, got -1"):
        TelemetryReward(0, penalties={"crashes": -1})


def test_stale_messages_are_ignored_after_a_reset(telemetry):
    source, game = telemetry
    game.send(score=100, episode=1, done=True)
    settle()
    source.poll(FRAME)
    source.reset(expect_new_episode=True)
    game.send(score=100, episode=1, done=True)  # still in flight from the old episode
    settle()
    assert not source.ready()
    game.send(score=2, episode=2, done=False)
    settle()
    assert source.ready()
    reading = source.poll(FRAME)
    assert reading.reward == 2 and not reading.done


def test_malformed_datagrams_are_counted_not_fatal(telemetry):
    source, game = telemetry
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
        raw.sendto(b"not json\n[1,2]\n", ("127.0.0.1", source.receiver.port))
    game.send(score=1, episode=0)
    settle()
    assert source.poll(FRAME).reward == 1
    assert source.receiver.malformed == 2


def test_port_in_use_and_bad_values():
    first = TelemetryReceiver(0)
    try:
        with pytest.raises(Exception, match=f"cannot listen for telemetry on 127.0.0.1:{first.port}"):
            TelemetryReceiver(first.port)
    finally:
        first.close()
    with pytest.raises(ValueError, match="got 70000"):
        TelemetryReceiver(70000)
    with pytest.raises(ValueError, match="reward scale"):
        TelemetryReward(0, scale=0)


def test_no_reward_source():
    source = NoReward()
    source.reset(True)
    assert source.ready() and source.poll(FRAME).reward == 0 and not source.poll(FRAME).done


def test_a_game_that_ignores_the_reset_keys_is_followed_after_all(telemetry):
    # The screen env's fallback when no new episode shows within reset_timeout: reset again, expecting none.
    source, game = telemetry
    game.send(score=10, episode=0, done=False)
    settle()
    source.reset(expect_new_episode=True)
    game.send(score=12, episode=0, done=False)
    settle()
    assert not source.ready()
    source.reset(expect_new_episode=False)
    game.send(score=15, episode=0, done=False)
    settle()
    assert source.ready()
    reading = source.poll(FRAME)
    assert reading.info["score"] == 15 and reading.reward == 5


def test_the_bundled_neonrace_profile_charges_crashes_as_the_in_process_game_does():
    import inspect

    from agent.envs.neonrace import NeonRaceEnv
    from agent.envs.profile import load_profile
    from agent.envs.screen import make_reward_source
    from games.neonrace.sim import DT, MAX_SPEED
    from games.neonrace.track import SEGMENT_LENGTH

    defaults = {k: p.default for k, p in inspect.signature(NeonRaceEnv).parameters.items()}
    source = make_reward_source(load_profile("neonrace"), any_port=True)
    try:
        assert isinstance(source, TelemetryReward)
        # NeonRace-v0's reward unit is a step's flat-out distance; the window's score counts segments
        unit = MAX_SPEED * DT * defaults["frame_skip"] / SEGMENT_LENGTH
        assert source.penalties == {"crashes": defaults["crash_penalty"] * unit}
    finally:
        source.close()
