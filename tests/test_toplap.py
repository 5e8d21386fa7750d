"""TopLap, the top-down test bed: its simulation and driver in-process, then the whole path a new user takes
through its window (glyphs labelled by the game's telemetry, a recording by the scripted driver)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.toplap_clone import learn_glyphs, profile_text, record
from control.actions import ACTION_NAMES, ACTIONS
from games.toplap.driver import action
from games.toplap.sim import MAX_SPEED, OFFROAD_SPEED, Race
from games.toplap.track import MIN_RADIUS, ROAD_HALF_WIDTH, generate


def drive(seed: int, ticks: int) -> Race:
    race = Race(generate(seed), laps=3)
    for _ in range(ticks):
        race.tick(ACTIONS[action(race.track, race.state)])
    return race


@pytest.mark.parametrize("seed", [0, 7, 123])
def test_the_scripted_driver_finishes_every_race_on_the_road(seed):
    race = Race(generate(seed), laps=3)
    offroad = 0
    while not race.finished and race.state.ticks < 4000:
        race.tick(ACTIONS[action(race.track, race.state)])
        offroad += race.state.offroad
    assert race.finished and offroad == 0
    assert race.state.score == 3 * 40  # a point per checkpoint, 40 a lap
    assert 20 * 30 < race.state.last_lap_ticks < 40 * 30  # 20-40 s a lap


@pytest.mark.slow
def test_the_simulation_is_deterministic():
    a, b = drive(5, 500).state, drive(5, 500).state
    assert (a.x, a.y, a.heading, a.speed, a.score) == (b.x, b.y, b.heading, b.speed, b.score)


def test_driving_backwards_scores_nothing_and_completes_no_lap():
    race = Race(generate(1), laps=1)
    race.state.heading += np.pi
    for _ in range(3000):
        race.tick(frozenset({"up"}) if race.state.ticks % 40 else frozenset({"up", "left"}))
    assert race.state.score == 0 and race.state.laps_done == 0


@pytest.mark.slow
def test_off_the_road_the_car_crawls():
    race = drive(2, 80)
    assert not race.state.offroad and race.state.speed > 0.9 * MAX_SPEED
    race.state.x += 3 * ROAD_HALF_WIDTH * np.cos(race.state.heading + np.pi / 2)
    race.state.y += 3 * ROAD_HALF_WIDTH * np.sin(race.state.heading + np.pi / 2)
    for _ in range(15):
        race.tick(frozenset({"up"}))
    assert race.state.offroad and race.state.speed == pytest.approx(OFFROAD_SPEED)


def test_every_track_bends_no_tighter_than_the_car_can_follow():
    assert min(generate(seed).radii.min() for seed in range(40)) >= MIN_RADIUS
    with pytest.raises(ValueError, match="seed must be >= 0, got -1"):
        generate(-1)


def test_the_car_differs_from_the_road_by_hue_alone():
    """The seed recipe's grey hides the car on the road; the profile's red channel shows it."""
    from agent.envs.profile import load_profile
    from capture.preprocess import Grey, gray_small
    from games.toplap.render import CAR, ROAD

    def level(colour: tuple[int, int, int], grey: Grey) -> float:
        frame = np.empty((16, 16, 3), np.uint8)
        frame[:] = colour[::-1]  # BGR, as grabbed
        return float(gray_small(frame, grey=grey).mean())

    assert level(CAR, Grey()) == pytest.approx(level(ROAD, Grey()), abs=0.5)
    red = load_profile("toplap").grey
    assert level(CAR, red) - level(ROAD, red) > 60


def test_glyphs_learned_from_telemetry_and_a_recording_by_the_scripted_driver(desktop, tmp_path):
    """The path of benchmarks/toplap_clone.py, short: no label typed, and every key the driver used recorded."""
    from agent.demos.dataset import load_demos
    from capture.digits import DigitReader

    glyphs = learn_glyphs(tmp_path)
    reader = DigitReader.load(glyphs)
    assert set("0123456789") <= set(reader.chars)
    profile = tmp_path / "toplap.toml"
    profile.write_text(profile_text(glyphs.resolve()))
    laps = record(tmp_path, profile, minutes=0.4)["laps"]
    assert laps == 0  # 24 s: most of a lap

    demos = load_demos(tmp_path / "demos")
    counts = np.bincount(demos.actions, minlength=len(ACTION_NAMES))
    shares = dict(zip(ACTION_NAMES, counts / counts.sum(), strict=True))
    assert shares["up+x"] > 0.05 and shares["left+up"] > 0.05 and shares["up"] > 0.2  # space is recorded as turbo
    assert demos.rewards.sum() >= 10  # the score read from the screen with the learned glyphs grew


@pytest.mark.slow
@pytest.mark.parametrize("view", ["north", "chase"])
def test_the_chase_view_turns_the_world_so_the_car_points_up(view, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    import pygame

    from games.toplap.render import CAR, VIEW_H, VIEW_W, draw_frame, draw_track

    race = drive(4, 30)
    race.state.heading = 0.0  # pointing right, along x
    screen = pygame.Surface((VIEW_W, VIEW_H))
    draw_frame(screen, draw_track(race.track), race.state, 3, False, view)
    car = np.argwhere((pygame.surfarray.array3d(screen) == CAR).all(axis=2))  # (x, y) of the car's pixels
    width, height = np.ptp(car, axis=0) + 1
    assert (width > height) if view == "north" else (height > width)
    with pytest.raises(ValueError, match="view must be one of"):
        draw_frame(screen, draw_track(race.track), race.state, 3, False, "side")
