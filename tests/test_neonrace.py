"""NeonRace in-process: the environment contract, determinism, drivability and render equivalence."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import agent.envs  # noqa: F401 - registers the environments
from agent.envs.neonrace import NeonRaceEnv
from capture.preprocess import preprocess
from games.neonrace.bounds import lap_time_bound
from games.neonrace.expert import EXPERT, STRONG, drive, expert_action
from games.neonrace.mirror import MirrorLost, StateMirror
from games.neonrace.render import Renderer
from games.neonrace.sim import Game, Rivals
from games.neonrace.track import SEGMENT_LENGTH, generate


def test_passes_the_env_checker_and_registers_both_ways(desktop):  # the human render mode opens a window
    env = gym.make("pixelpilot/NeonRace-v0")
    check_env(env.unwrapped)
    assert env.spec.max_episode_steps == 2000
    env.close()
    env = gym.make("agent:pixelpilot/NeonRace-v0", render_mode="rgb_array", difficulty_name="easy")
    obs, info = env.reset(seed=1)
    assert obs.shape == (128, 200, 1) and obs.dtype == np.float32
    assert env.render().shape == (500, 800, 3)
    assert set(info) >= {"speed", "lap", "progress", "x", "score", "crashes", "lap_time", "track_seed"}
    env.close()


def rollout(env, actions, **reset_kwargs):
    obs, _ = env.reset(**reset_kwargs)
    frames, rewards = [obs], []
    for a in actions:
        obs, reward, terminated, truncated, _ = env.step(a)
        frames.append(obs)
        rewards.append(reward)
        if terminated or truncated:
            break
    return np.stack(frames), np.array(rewards)


def test_deterministic_given_seed_and_actions():
    actions = np.random.default_rng(0).integers(0, 7, 300)
    a = rollout(NeonRaceEnv(), actions, seed=5)
    b = rollout(NeonRaceEnv(), actions, seed=5)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    c = rollout(NeonRaceEnv(track_seed=9), actions)
    d = rollout(NeonRaceEnv(), actions, options={"track_seed": 9})
    assert np.array_equal(c[0], d[0])
    assert not np.array_equal(a[0][50:], c[0][50:])  # another track looks different


def test_tracks_are_closed_loops():
    for difficulty in ("easy", "normal", "hard"):
        track = generate(3, difficulty)
        assert track.height[0] == track.height[-1] == 0
        assert abs(track.curve[0]) < 1e-9 and abs(track.curve[-1]) < 0.2
    assert not np.array_equal(generate(1).curve, generate(2).curve)


@pytest.mark.slow
@pytest.mark.parametrize(("difficulty", "max_lap"), [("easy", 18), ("normal", 25), ("hard", 40)])
def test_the_expert_finishes_every_track(difficulty, max_lap):
    for seed in range(4):
        state = drive(Game(seed, difficulty, 1)).state
        assert state.finished, (difficulty, seed, state.crashes)
        assert state.race_time < max_lap and state.crashes <= 1


def test_reward_termination_and_truncation():
    env = NeonRaceEnv(track_seed=2, difficulty_name="easy")
    env.reset()
    total, steps = 0.0, 0
    terminated = False
    while not terminated:
        _, reward, terminated, truncated, info = env.step(expert_action(env.game))
        total += reward
        steps += 1
        assert not truncated
    assert info["finished"] and info["lap"] == 1 and info["last_lap_time"] > 0
    assert 0.8 * steps < total < 1.3 * steps  # about one unit per step at top speed
    # Crashing costs the penalty: accelerate into the rival ahead in its own lane.
    env = NeonRaceEnv(track_seed=2, difficulty_name="hard", crash_penalty=5.0)
    env.reset()
    crashes, penalties = 0, 0
    for _ in range(600):
        rival = env.game.state.rivals
        ahead = (rival.z - env.game.player_z()) % env.game.track.length
        target = rival.x[np.argmin(ahead)]
        action = 6 if abs(env.game.state.x - target) < 0.05 else (4 if env.game.state.x < target else 3)
        _, reward, terminated, _, info = env.step(action)
        if info["crashes"] > crashes:
            crashes = info["crashes"]
            penalties += reward < 0
        if terminated:
            break
    assert crashes >= 1 and penalties >= 1
    limited = gym.make("pixelpilot/NeonRace-v0", max_episode_steps=5)
    limited.reset(seed=0)
    results = [limited.step(2) for _ in range(5)]
    assert results[-1][3] and not results[-1][2]


def test_bad_options_name_the_value():
    with pytest.raises(ValueError, match="unknown difficulty 'insane'; choose one of easy, normal, hard"):
        NeonRaceEnv(difficulty_name="insane")
    for bad in (-1, 2**32, 1.5, True):
        with pytest.raises(ValueError, match=re.escape("track seed must be an integer in 0..2**32-1")):
            NeonRaceEnv(track_seed=bad)
    with pytest.raises(ValueError, match="frame_skip must be a positive integer, got 0"):
        NeonRaceEnv(frame_skip=0)
    env = NeonRaceEnv()
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=re.escape("action must be an integer in 0..6, got 7")):
        env.step(7)


def test_window_resolution_and_observation_resolution_agree():
    """The window's 800x500 frame, preprocessed, matches the in-process 200x128 render of the same state."""
    game = Game(4, "normal", 1)
    window, small = Renderer(game, 800, 500), Renderer(game, 200, 128)
    diffs = []
    while not game.state.done:
        keys = frozenset({"up", "left"} if game.state.ticks % 90 < 20 else {"up"})
        game.tick(keys)
        if game.state.ticks % 15 == 0:
            diffs.append(np.abs(preprocess(window.render()) - preprocess(small.render())).mean())
    assert len(diffs) > 30
    assert max(diffs) <= 0.02, max(diffs)


def test_mirror_follows_a_game_from_its_key_log():
    original = Game(6, "easy", 1)
    log = [dict(tick=0, episode=1, track_seed=6, difficulty="easy", laps=1, keys=[], score=0)]
    rng = np.random.default_rng(0)
    for _ in range(300):
        keys = sorted(["up"] + (["left"] if rng.random() < 0.3 else []))
        original.tick(frozenset(keys))
        s = original.state
        log.append(dict(tick=s.ticks, episode=1, track_seed=6, difficulty="easy", laps=1, keys=keys, score=s.score))
    mirror = StateMirror()
    mirror.feed(log[:100])
    mirror.feed(log[100:])
    assert mirror.game.state.z == original.state.z and mirror.game.state.x == original.state.x
    with pytest.raises(MirrorLost, match="jumped from tick 300 to 302"):
        mirror.feed([{**log[-1], "tick": 302}])


def test_segment_geometry_is_consistent():
    game = Game(0, "normal", 1)
    assert game.track.length == game.track.n * SEGMENT_LENGTH
    assert 0 <= game.progress() < 1


@pytest.mark.slow
def test_no_driver_beats_the_lap_time_bound_and_the_bound_is_reached_on_a_straight():
    """The bound is exact: on a straight, empty road of the track's length the best turbo schedule drives it, and
    holding up+x there (pulsing the turbo on an empty meter) happens to be that schedule. Both drivers that read the
    game state stay above it on the real track, and the tuned one is the faster."""
    game = Game(0, "normal", laps=1)
    bound = lap_time_bound(game.track.length, seconds=20.0)
    straight = Game(0, "normal", laps=1)
    straight.track.curve[:] = 0.0
    straight.state.rivals = Rivals(*(np.zeros(0) for _ in range(3)), np.zeros(0, bool))
    while not straight.state.done:
        straight.tick({"up", "turbo"})
    assert straight.state.last_lap_time == pytest.approx(bound)
    expert = [drive(Game(seed, "normal", laps=1), style=EXPERT).state for seed in range(3)]
    strong = [drive(Game(seed, "normal", laps=1), style=STRONG).state for seed in range(3)]
    bounds = [lap_time_bound(Game(seed, "normal", laps=1).track.length, seconds=20.0) for seed in range(3)] * 2
    assert all(s.finished and s.last_lap_time >= b for s, b in zip(expert + strong, bounds, strict=True))
    assert np.mean([s.last_lap_time for s in strong]) < np.mean([s.last_lap_time for s in expert])
    with pytest.raises(ValueError, match="more than 20"):
        lap_time_bound(game.track.length * 10, seconds=20.0)
