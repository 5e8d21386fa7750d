"""The digit reader, the digits reward source, the profile keys and the ``pixelpilot digits`` command.

Numbers are rendered the way the games draw them: CarRacing's antialiased freesansbold 42 px with pygame,
and a 3x5 bitmap font (dark on light, as a retro HUD would draw it) scaled up with whole pixels.
"""

from __future__ import annotations

import argparse
import io
import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from agent.envs.profile import ProfileError, load_profile
from agent.envs.screen import make_reward_source
from capture.digits import DigitReader, DigitsError, DigitsReward
from capture.errors import PixelpilotError
from capture.preprocess import Crop

ROOT = Path(__file__).resolve().parent.parent
CARRACING = ROOT / "games" / "profiles" / "carracing.toml"
REGION = Crop(722, 0, 48, 124)  # the bundled profile's score region

BITMAP = {
    "0": ["###", "#.#", "#.#", "#.#", "###"],
    "1": [".#.", "##.", ".#.", ".#.", "###"],
    "2": ["###", "..#", "###", "#..", "###"],
    "3": ["###", "..#", "###", "..#", "###"],
    "4": ["#.#", "#.#", "###", "..#", "..#"],
    "5": ["###", "#..", "###", "..#", "###"],
    "6": ["###", "#..", "###", "#.#", "###"],
    "7": ["###", "..#", "..#", "..#", "..#"],
    "8": ["###", "#.#", "###", "#.#", "###"],
    "9": ["###", "#.#", "###", "..#", "###"],
    "-": ["...", "...", "###", "...", "..."],
}


@pytest.fixture(scope="module")
def hud():
    """``hud(text, colour, background)``: a BGRA region with ``text`` drawn as CarRacing draws its score."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    pygame.font.init()
    font = pygame.font.Font(pygame.font.get_default_font(), 42)

    def draw(text, colour=(255, 255, 255), background=(0, 0, 0)):
        canvas = pygame.Surface((REGION.width, REGION.height))
        canvas.fill(background)
        label = font.render(text, True, colour, background)
        canvas.blit(label, label.get_rect(center=(60, 750 - REGION.top)))
        rgb = pygame.surfarray.array3d(canvas).transpose(1, 0, 2)
        return np.dstack([rgb[:, :, ::-1], np.full(rgb.shape[:2], 255, np.uint8)])

    return draw


def bitmap(text, scale=4):
    """``text`` in the 3x5 bitmap font, dark on a light blue background (BGR)."""
    spaced = np.zeros((5, 4 * len(text)), bool)  # one blank column between glyphs
    for i, char in enumerate(text):
        spaced[:, 4 * i : 4 * i + 3] = [[c == "#" for c in row] for row in BITMAP[char]]
    ink = np.kron(np.pad(spaced, 2), np.ones((scale, scale), bool))
    image = np.empty((*ink.shape, 3), np.uint8)
    image[:] = (240, 200, 170)
    image[ink] = (40, 30, 20)
    return image


@pytest.fixture(scope="module")
def carracing_reader():
    return DigitReader.load(ROOT / "games" / "profiles" / "carracing_digits.npz")


def numbers(count, seed=0):
    rng = np.random.default_rng(seed)
    return [f"{v:04d}" for v in rng.integers(-999, 1000, count)] + ["-1000", "-000", "0000", "1234", "5678", "9999"]


# -- the reader ------------------------------------------------------------------------------------------
def test_bundled_carracing_glyphs_read_the_games_font(hud, carracing_reader):
    assert carracing_reader.light_text and set(carracing_reader.chars) == set("0123456789-")
    for text in numbers(150):
        assert carracing_reader.read_text(hud(text)) == text
        assert carracing_reader.read(hud(text)) == int(text)


def test_text_of_another_colour_and_brightness_still_reads(hud, carracing_reader):
    assert carracing_reader.read(hud("-042", colour=(200, 180, 60), background=(30, 10, 40))) == -42
    assert carracing_reader.read(hud("0815", colour=(120, 120, 120), background=(20, 20, 20))) == 815


def test_learns_a_bitmap_font_dark_on_light_from_int_labels():
    samples = [(bitmap(f"{v:03d}"), int(v)) for v in np.random.default_rng(1).integers(-99, 1000, 60)]
    reader, report = DigitReader.fit(samples)
    assert not reader.light_text  # dark ink on a light background, found from the samples
    assert report.used == report.samples == 60 and report.accuracy == 1.0 and report.missing == ""
    for text in ("0123", "4567", "-890", "7", "-1", "10000"):
        assert reader.read(bitmap(text)) == int(text)
    assert reader.read(cv2.cvtColor(bitmap("406"), cv2.COLOR_BGR2GRAY)) == 406  # grey input too


def test_fit_reports_digits_it_never_saw_and_skips_samples_that_do_not_segment():
    samples = [(bitmap("12"), 12), (bitmap("21"), "21"), (bitmap("111"), "11")]
    reader, report = DigitReader.fit(samples)
    assert report.samples == 3 and report.used == 2 and report.counts == {"1": 2, "2": 2}
    assert report.missing == "03456789"
    assert reader.read(bitmap("2112")) == 2112
    assert reader.read(bitmap("14")) is None  # a 4 is nothing like the glyphs it knows


def test_unreadable_regions_give_none(hud, carracing_reader):
    blank = np.zeros((REGION.height, REGION.width, 4), np.uint8)
    assert carracing_reader.read(blank) is None  # nothing drawn
    assert carracing_reader.read(np.full_like(blank, 128)) is None
    noise = np.random.default_rng(0).integers(0, 256, blank.shape, dtype=np.uint8)
    assert carracing_reader.read(noise) is None
    box = blank.copy()
    box[10:40, 30:60] = 255
    assert carracing_reader.read(box) is None  # a glyph that matches nothing well
    half = hud("0123").copy()
    half[: REGION.height // 2] = 0
    assert carracing_reader.read(half) is None  # half hidden
    assert carracing_reader.read(hud("12-3")) is None  # not a number
    assert carracing_reader.read(hud("7-")) is None
    assert carracing_reader.classify(blank) == []


def test_bad_inputs_and_labels_are_rejected(carracing_reader):
    with pytest.raises(ValueError, match="uint8"):
        carracing_reader.read(np.zeros((5, 5), np.float32))
    with pytest.raises(ValueError, match="label must be the number drawn"):
        DigitReader.fit([(bitmap("12"), "1.5")])
    with pytest.raises(ValueError, match="label must be the number drawn"):
        DigitReader.fit([(bitmap("12"), True)])
    with pytest.raises(DigitsError, match="none of the 2 samples could be cut"):
        DigitReader.fit([(bitmap("12"), "123"), (np.zeros((20, 20), np.uint8), "4")])
    for bad in ("x", "12", ""):
        with pytest.raises(ValueError, match="template characters"):
            DigitReader({bad: np.zeros((8, 8)), "1": np.zeros((8, 8))}, True)
    with pytest.raises(ValueError, match="one size"):
        DigitReader({"1": np.zeros((8, 8)), "2": np.zeros((9, 9))}, True)
    with pytest.raises(ValueError, match="min_score"):
        DigitReader({"1": np.zeros((8, 8))}, True, min_score=1.5)


def test_glyph_file_round_trip_is_small(tmp_path):
    reader, _ = DigitReader.fit([(bitmap(str(v)), v) for v in range(-9, 100)])
    path = tmp_path / "glyphs.npz"
    reader.save(path)
    assert path.stat().st_size < 8000
    loaded = DigitReader.load(path)
    assert loaded.chars == reader.chars and loaded.light_text == reader.light_text
    assert loaded.read(bitmap("-907")) == -907
    assert (ROOT / "games" / "profiles" / "carracing_digits.npz").stat().st_size < 8000


def _npy(path):
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3))
    path.write_bytes(buffer.getvalue())
    return path


def _npz(path, **fields):
    buffer = io.BytesIO()
    np.savez(buffer, **fields)
    path.write_bytes(buffer.getvalue())
    return path


GOOD = {
    "version": np.int64(1),
    "chars": np.array(list("01")),
    "templates": np.zeros((2, 8, 8), np.uint8),
    "light_text": np.bool_(True),
}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p, "no such glyph file"),
        (lambda p: p.write_bytes(b"these are not glyphs") and p, "not a glyph file"),
        (lambda p: p.write_bytes((ROOT / "games/profiles/carracing_digits.npz").read_bytes()[:900]) and p, "not a"),
        (_npy, r"expected an \.npz archive"),
        (lambda p: _npz(p, chars=np.array(["0"])), "no light_text, templates, version"),
        (lambda p: _npz(p, **{**GOOD, "version": np.int64(7)}), "version 7; this pixelpilot reads version 1"),
        (lambda p: _npz(p, **{**GOOD, "templates": np.zeros((2, 8, 8))}), "templates must be uint8"),
        (lambda p: _npz(p, **{**GOOD, "chars": np.array(list("0x"))}), "template characters"),
        (lambda p: _npz(p, **{**GOOD, "chars": np.array([{"pickled": 1}, 2], dtype=object)}), "allow_pickle"),
        (lambda p: _npz(p, **{**GOOD, "light_text": np.int64(1)}), "light_text must be true or false"),
    ],
)
def test_bad_glyph_files_name_the_file(tmp_path, make, message):
    path = make(tmp_path / "glyphs.npz")
    with pytest.raises(DigitsError, match=message) as info:
        DigitReader.load(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


# -- the reward source -----------------------------------------------------------------------------------
class ScriptedReader:
    """Stands in for a DigitReader: answers the next value of a script, and remembers what it was shown."""

    def __init__(self, values):
        self.values = list(values)
        self.shapes = []

    def read(self, region):
        self.shapes.append(region.shape)
        return self.values.pop(0)


FRAME = np.zeros((100, 200, 4), np.uint8)


def rewards(source, count):
    return [source.poll(FRAME).reward for _ in range(count)]


def test_reward_is_the_change_of_the_median_of_three_reads():
    reads = [10, 10, 10, 11, 12, 99, 13, 14, None, 15, 15, 15, 9, 15]
    source = DigitsReward(ScriptedReader(reads), Crop(5, 10, 20, 30), scale=0.5)
    source.reset(expect_new_episode=False)
    assert source.ready()
    got = rewards(source, len(reads))
    # baseline from the first three reads; 99 (one misread frame) and 9 never count
    assert got == [0, 0, 0, 0, 0.5, 0.5, 0.5, 0.5, 0, 0, 0.5, 0, 0, 0]
    assert sum(got) == 0.5 * (15 - 10)
    assert source.reader.shapes[0] == (20, 30, 4)


def test_info_counts_failures_and_keeps_the_last_good_number():
    source = DigitsReward(ScriptedReader([5, 5, 5, None, None, 6]), Crop(0, 0, 10, 10))
    source.reset(expect_new_episode=False)
    infos = [source.poll(FRAME) for _ in range(6)]
    assert [r.info["number"] for r in infos] == [None, None, 5, 5, 5, 5]
    assert [r.info["digits"] for r in infos] == [5, 5, 5, None, None, 6]
    assert infos[-1].info["read_failures"] == 2 and infos[-1].info["reads"] == 6
    assert not any(r.done for r in infos) and all(r.reward == 0 for r in infos)


def test_a_new_episode_waits_for_the_game_and_starts_a_new_baseline():
    source = DigitsReward(ScriptedReader([50, 50, 50, 60, 60, 60, 3, 3, 3, 5]), Crop(0, 0, 10, 10), settle_seconds=0.2)
    source.reset(expect_new_episode=False)
    assert sum(rewards(source, 6)) == 10
    source.reset(expect_new_episode=True)
    assert not source.ready()  # the old score may still be on screen
    deadline = time.monotonic() + 2
    while not source.ready():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert rewards(source, 4) == [0, 0, 0, 0]  # 60 → 3 is a new episode, not a reward of -57
    source.reset(expect_new_episode=False)
    assert source.ready()


def test_reward_source_rejects_bad_settings_and_a_region_outside_the_window():
    reader = ScriptedReader([1])
    with pytest.raises(ValueError, match="scale"):
        DigitsReward(reader, Crop(0, 0, 5, 5), scale=0)
    with pytest.raises(ValueError, match="settle_seconds"):
        DigitsReward(reader, Crop(0, 0, 5, 5), settle_seconds=-1)
    source = DigitsReward(reader, Crop(90, 0, 20, 50))
    with pytest.raises(DigitsError, match=r"reaches outside the 200x100 window"):
        source.poll(FRAME)


# -- profiles --------------------------------------------------------------------------------------------
BASE = 'name = "g"\nwindow = "Game"\n[reward]\nsource = "digits"\n'
DIGITS = BASE + 'region = { top = 1, left = 2, height = 30, width = 80 }\nglyphs = "font.npz"\n'


def test_carracing_profile_builds_a_digits_source():
    profile = load_profile("carracing")
    assert profile.reward.region == REGION and profile.reward.glyphs == CARRACING.with_name("carracing_digits.npz")
    assert profile.window == "pygame window" and profile.reset_keys == ("enter",)
    assert profile.launch_command()[1:] == ["-m", "gymnasium.envs.box2d.car_racing"]
    source = make_reward_source(profile)
    assert isinstance(source, DigitsReward) and source.settle_seconds == 0.3


def test_digits_profile_keys(tmp_path):
    path = tmp_path / "game.toml"
    path.write_text(DIGITS + "settle_seconds = 2\nscale = 0.1\n[done]\nno_progress_seconds = 5\n")
    profile = load_profile(path)
    assert profile.reward.region == Crop(1, 2, 30, 80)
    assert profile.reward.glyphs == tmp_path / "font.npz" and profile.reward.settle_seconds == 2
    with pytest.raises(DigitsError, match=f"{tmp_path / 'font.npz'}: no such glyph file yet; make it with: "
                       f"pixelpilot digits learn --profile {path} --labels"):  # fmt: skip
        make_reward_source(profile)  # the profile loads: the glyph file is only needed once the game is played


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BASE + 'glyphs = "f.npz"\n', r"reward.region: missing; expected a table \{top, left, height, width\}"),
        (BASE + 'region = "0,0,10,10"\nglyphs = "f.npz"\n', "reward.region: expected a table"),
        (
            BASE + 'region = { top = 0, left = 0, height = 10 }\nglyphs = "f.npz"\n',
            "reward.region.width: missing; expected an integer",
        ),
        (
            BASE + 'region = { top = 0, left = 0, height = 10, width = 5, depth = 1 }\nglyphs = "f.npz"\n',
            "reward.region.depth: unknown key",
        ),
        (
            BASE + 'region = { top = -1, left = 0, height = 10, width = 5 }\nglyphs = "f.npz"\n',
            "reward.region: expected top, left >= 0 and height, width > 0",
        ),
        (BASE + "region = { top = 0, left = 0, height = 10, width = 5 }\n", "reward.glyphs: missing; expected the"),
        (BASE + 'region = { top = 0, left = 0, height = 10, width = 5 }\nglyphs = ""\n', "reward.glyphs: expected"),
        (BASE + "region = { top = 0, left = 0, height = 10, width = 5 }\nglyphs = 3\n", "reward.glyphs: expected"),
        (DIGITS + "settle_seconds = -1\n", r"reward.settle_seconds: expected a number of seconds in \[0, 60\]"),
        (DIGITS + "settle_seconds = true\n", "reward.settle_seconds: expected a number"),
        (DIGITS + "glyph = 1\n", "reward.glyph: unknown key"),
        (
            'name = "g"\nwindow = "G"\n[reward]\nsource = "telemetry"\nport = 9\nglyphs = "f.npz"\n',
            "reward.glyphs: only used with source = \"digits\", not 'telemetry'",
        ),
        ('name = "g"\nwindow = "G"\n[reward]\nsource = "ocr"\n', "expected one of telemetry, digits, none"),
        (
            DIGITS,
            "done: nothing ends an episode: the digits reward source cannot tell that a race is over; set "
            r"max_episode_seconds or no_progress_seconds in \[done\]",
        ),
    ],
)
def test_bad_digits_profiles_name_file_key_and_expectation(tmp_path, text, message):
    path = tmp_path / "game.toml"
    path.write_text(text)
    with pytest.raises(ProfileError, match=message) as info:
        load_profile(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


# -- pixelpilot digits learn ------------------------------------------------------------------------------
def run_cli(*argv):
    from agent.cli.digits import add_parsers

    parser = argparse.ArgumentParser(prog="pixelpilot")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["digits", *argv])
    return args.func(args)


def test_learn_writes_the_profiles_glyph_file_from_labelled_window_frames(tmp_path, hud, capsys):
    frames = tmp_path / "frames"
    frames.mkdir()
    lines = ["# window frames from `pixelpilot capture`, and the score each shows", ""]
    for i, text in enumerate(numbers(40, seed=5)):
        frame = np.full((800, 1000, 3), 90, np.uint8)
        frame[REGION.top : REGION.top + REGION.height, : REGION.width] = hud(text)[:, :, :3]
        cv2.imwrite(str(frames / f"raw_{i:05d}.png"), frame)
        lines.append(f"raw_{i:05d}.png,{text}")
    (frames / "labels.csv").write_text("\n".join(lines))
    profile = tmp_path / "game.toml"
    profile.write_text(
        BASE + 'region = { top = 722, left = 0, height = 48, width = 124 }\nglyphs = "learned/game_digits.npz"\n'
        "[done]\nmax_episode_seconds = 60\n"
    )
    (tmp_path / "learned").mkdir()
    assert run_cli("learn", "--profile", str(profile), "--labels", str(frames / "labels.csv")) == 0
    out = capsys.readouterr().out
    assert "learned 11 glyphs from 46 of 46 frames" in out and "reads back 100.0%" in out
    reader = DigitReader.load(tmp_path / "learned" / "game_digits.npz")
    assert reader.read(hud("-305")) == -305

    (frames / "labels.csv").write_text("raw_00000.png,12\nraw_00001.png;7\n")
    with pytest.raises(PixelpilotError, match=r"labels.csv:2: expected IMAGE,NUMBER"):
        run_cli("learn", "--profile", str(profile), "--labels", str(frames / "labels.csv"))
    (frames / "labels.csv").write_text("missing.png,12\n")
    with pytest.raises(PixelpilotError, match=r"labels.csv:1: .*missing.png is not a readable 8-bit image"):
        run_cli("learn", "--profile", str(profile), "--labels", str(frames / "labels.csv"))
    cv2.imwrite(str(frames / "small.png"), np.zeros((100, 100, 3), np.uint8))
    (frames / "labels.csv").write_text("small.png,12\n")
    with pytest.raises(PixelpilotError, match=r"small.png is 100x100, smaller than the profile.s reward.region"):
        run_cli("learn", "--profile", str(profile), "--labels", str(frames / "labels.csv"))
    with pytest.raises(ProfileError, match='reading digits needs source = "digits"'):
        run_cli("learn", "--profile", str(ROOT / "tests" / "keywindow.toml"), "--labels", "x.csv")
