import sys
from pathlib import Path

import pytest

from agent.envs.profile import ProfileError, load_profile
from capture.preprocess import GREYS, Crop, Grey

ROOT = Path(__file__).resolve().parent.parent

BASE = 'name = "g"\nwindow = "Game"\n'


def write(tmp_path, text):
    path = tmp_path / "game.toml"
    path.write_text(text)
    return path


def test_test_window_profile_loads():
    profile = load_profile(ROOT / "tests" / "keywindow.toml")
    assert profile.window == "KeyWindow" and profile.fps == 15
    assert profile.reward.source == "telemetry" and profile.reward.port == 47811
    assert profile.reset_keys == ("enter",)
    assert profile.launch_command()[0] == sys.executable
    assert profile.launch_command()[1] == str(ROOT / "tests" / "keywindow.py")


def test_full_profile(tmp_path):
    profile = load_profile(
        write(
            tmp_path,
            BASE + "fps = 30\ncrop = { top = 10, left = 0, height = 400, width = 640 }\n"
            '[keys]\nleft = "a"\nright = "d"\nup = "w"\ndown = "s"\nturbo = "space"\nnoop = true\n'
            '[reward]\nsource = "telemetry"\nport = 5000\nscale = 0.1\npenalties = { crashes = 100, spins = 2.5 }\n'
            "[done]\nmax_episode_seconds = 60\nno_progress_seconds = 5\n"
            '[hotkeys]\nkill = "f10"\ntoggle = "f9"\n',
        )
    )
    assert profile.crop == Crop(10, 0, 400, 640)
    assert profile.actions.n == 8 and profile.actions.keys(6) == {"w", "space"}
    assert profile.done.no_progress_seconds == 5 and profile.kill_key == "f10"
    assert profile.reward.penalties == (("crashes", 100.0), ("spins", 2.5))
    assert profile.grey == Grey()  # the seed recipe's mean unless the profile says otherwise
    assert load_profile(write(tmp_path, BASE + 'grey = "luma"\n')).grey == GREYS["luma"]
    assert load_profile(write(tmp_path, BASE + "grey = { red = 1, green = 0.5 }\n")).grey == Grey(1, 0.5, 0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('name = "g"\nwindow = \n', "not valid TOML"),
        ('name = "g"\n', "window: missing; expected a non-empty window title"),
        (BASE + "fps = 0\n", r"fps: expected a number in \(0, 240\], got 0"),
        (BASE + 'fps = "fast"\n', "fps: expected a number"),
        (BASE + "speed = 3\n", "speed: unknown key"),
        (BASE + '[keys]\nleft = "lefty"\n', "keys.left: unknown key name 'lefty'"),
        (BASE + '[keys]\nreset = ["enter", "nope"]\n', r"keys.reset\[1\]: unknown key name 'nope'"),
        (BASE + '[keys]\nleft = "x"\n', "both mapped to 'x'"),
        (BASE + "crop = { top = 0, left = 0, height = 0, width = 10 }\n", "crop: crop height/width must be > 0"),
        (BASE + "crop = { top = 0, left = 0, height = 10 }\n", "crop.width: missing"),
        (BASE + '[reward]\nsource = "telemetry"\n', "reward.port: missing"),
        (BASE + '[reward]\nsource = "ocr"\n', "reward.source: expected one of telemetry, digits, none, got 'ocr'"),
        (BASE + '[reward]\nsource = "digits"\n', "reward.region: missing; expected a table"),
        (BASE + 'grey = "sepia"\n', "grey: expected one of mean, luma, red, green, blue or a table"),
        (BASE + "grey = { red = -1 }\n", "grey: grey weights must be numbers >= 0"),
        (BASE + "grey = { alpha = 1 }\n", "grey.alpha: unknown key"),
        (BASE + "[reward]\npenalties = { crashes = 1 }\n", 'reward.penalties: only used with source = "telemetry"'),
        (
            BASE + '[reward]\nsource = "telemetry"\nport = 1\npenalties = { crashes = -1 }\n',
            r"reward.penalties.crashes: expected a number in \(0, inf\], got -1",
        ),
        (BASE + "[done]\nno_progress_seconds = 5\n", "done.no_progress_seconds: needs a reward source"),
        (BASE + '[hotkeys]\nkill = "up"\n', "hotkey 'up' is also a game key"),
        (BASE + "launch = [1, 2]\n", "launch: expected a list of strings"),
        (BASE + "[keys]\nnoop = 1\n", "keys.noop: expected true or false, got 1"),
        (BASE + 'launch = ["game", "{port}"]\n', r"launch: uses \{port\}, which only a telemetry reward source has"),
    ],
)
def test_bad_profiles_name_file_key_and_expectation(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ProfileError, match=message) as info:
        load_profile(path)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


def test_missing_profiles():
    with pytest.raises(ProfileError, match=r"nowhere\.toml: no such profile file"):
        load_profile("nowhere.toml")
    with pytest.raises(ProfileError, match="no profile named 'nosuchgame'; bundled profiles"):
        load_profile("nosuchgame")
