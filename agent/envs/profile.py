"""Game profiles: a TOML file that says what a game is, so a new game needs no code.

```toml
name = "neonrace"
window = "NeonRace"                         # title (or part of it) of the game window
launch = ["{python}", "-m", "games.neonrace"]  # optional; {python}, {profile_dir} and {port} are expanded
launch_timeout = 30                         # seconds to wait for the window after launching
fps = 15                                    # real-time steps per second
crop = { top = 0, left = 0, height = 500, width = 800 }   # optional; default: the whole client area
grey = "mean"                               # how colour becomes grey: "mean" (the seed recipe, default),
                                            # "luma", "red", "green", "blue", or { red = 1, green = 0.5, blue = 0 }

[keys]                                      # physical key for each logical key
left = "left"
right = "right"
up = "up"
down = "down"
turbo = "x"
reset = ["enter"]                           # pressed to start a new episode (optional)
noop = false                                # add a "no keys" action (index 7)

[reward]
source = "telemetry"                        # "telemetry", "digits" or "none"
port = 47800                                # telemetry: localhost UDP port the game sends to; a game
                                            # launched with {port} in its command is told the port, which
                                            # lets a private display's copy use a free one
scale = 1.0                                 # reward = scale * change in score
penalties = { crashes = 20 }                # telemetry: minus this per unit a reported counter grows by
# digits: read the score from the window's pixels (capture/digits.py) instead:
# source = "digits"
# region = { top = 722, left = 0, height = 48, width = 124 }   # where the number is, in window pixels
# glyphs = "mygame_digits.npz"              # templates from `pixelpilot digits learn` (relative to this file)
# settle_seconds = 0.5                      # after the reset keys, how long the old score may still show

[done]                                      # a digits reward needs one of the first two: it cannot see a finish
max_episode_seconds = 120                   # truncate an episode after this long (optional)
no_progress_seconds = 10                    # truncate when the score has not grown for this long (optional)
reset_timeout = 10                          # how long reset waits for the new episode to show

[hotkeys]
kill = "f12"
toggle = "f8"
```

Every error names the file, the key and what was expected. Unknown keys are errors too: a typo must not
silently fall back to a default.
"""

from __future__ import annotations

import math
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capture.errors import PixelpilotError
from capture.preprocess import GREYS, Crop, Grey
from control.actions import ActionTable, KeyMap
from control.keys import KeyNameError, parse_key
from games import PROFILES_DIR

REWARD_SOURCES = ("telemetry", "digits", "none")


class ProfileError(PixelpilotError):
    """A profile that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class RewardConfig:
    source: str = "none"
    port: int | None = None
    scale: float = 1.0
    region: Crop | None = None  # digits: where the number is drawn, in window pixels
    glyphs: Path | None = None  # digits: the learned glyph file
    settle_seconds: float = 0.5  # digits: how long after the reset keys the old episode's score may show
    penalties: tuple[tuple[str, float], ...] = ()  # telemetry: (counter, score units per unit it grows by)


@dataclass(frozen=True)
class DoneConfig:
    max_episode_seconds: float | None = None
    no_progress_seconds: float | None = None
    reset_timeout: float = 10.0


@dataclass(frozen=True)
class GameProfile:
    name: str
    window: str
    fps: float = 15.0
    crop: Crop | None = None
    grey: Grey = field(default_factory=Grey)
    actions: ActionTable = field(default_factory=ActionTable)
    reset_keys: tuple[str, ...] = ()
    launch: tuple[str, ...] = ()
    launch_timeout: float = 30.0
    reward: RewardConfig = RewardConfig()
    done: DoneConfig = DoneConfig()
    kill_key: str = "f12"
    toggle_key: str = "f8"
    path: Path | None = field(default=None, compare=False)

    def launch_command(self, port: int | None = None) -> list[str]:
        """``launch`` with ``{python}``, ``{profile_dir}`` and ``{port}`` (``port``, else the telemetry port)
        expanded."""
        profile_dir = str(self.path.parent) if self.path else "."
        values = {"{python}": sys.executable, "{profile_dir}": profile_dir, "{port}": str(port or self.reward.port)}
        command = []
        for arg in self.launch:
            for name, value in values.items():
                arg = arg.replace(name, value)
            command.append(arg)
        return command

    @property
    def launch_takes_port(self) -> bool:
        """Whether the launch command tells the game its telemetry port (``{port}``)."""
        return any("{port}" in arg for arg in self.launch)


class _Reader:
    """Typed access to one TOML table, with errors that say where."""

    def __init__(self, path: Path, table: dict[str, Any], prefix: str = "") -> None:
        self.path, self.table, self.prefix = path, table, prefix
        self.used: set[str] = set()

    def error(self, key: str, message: str) -> ProfileError:
        return ProfileError(f"{self.path}: {(self.prefix + key).rstrip('.')}: {message}")

    def get(
        self, key: str, kind: type | tuple[type, ...], what: str, default: Any = ..., required: bool = False
    ) -> Any:
        self.used.add(key)
        if key not in self.table:
            if required:
                raise self.error(key, f"missing; expected {what}")
            return default
        value = self.table[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
            raise self.error(key, f"expected {what}, got {value!r}")
        return value

    def number(self, key: str, default: float | None, low: float, high: float = math.inf) -> float | None:
        value = self.get(key, (int, float), f"a number in ({low:g}, {high:g}]", default)
        if value is not None and not (math.isfinite(value) and low < value <= high):
            raise self.error(key, f"expected a number in ({low:g}, {high:g}], got {value!r}")
        return None if value is None else float(value)

    def table_(self, key: str) -> _Reader:
        value = self.get(key, dict, "a table", {})
        return _Reader(self.path, value, f"{self.prefix}{key}.")

    def key(self, key: str, default: str) -> str:
        name = self.get(key, str, "a key name", default)
        try:
            return parse_key(name)
        except KeyNameError as exc:
            raise self.error(key, str(exc)) from None

    def finish(self) -> None:
        unknown = sorted(set(self.table) - self.used)
        if unknown:
            raise self.error(unknown[0], f"unknown key; expected one of {', '.join(sorted(self.used))}")


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def resolve_profile(name_or_path: str | Path) -> Path:
    """A profile file from a path, or from a name of a bundled profile (``games/profiles/NAME.toml``)."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or len(path.parts) > 1 or path.exists():
        if not path.is_file():
            raise ProfileError(f"{path}: no such profile file")
        return path
    bundled = PROFILES_DIR / f"{path.name}.toml"
    if not bundled.is_file():
        names = sorted(p.stem for p in PROFILES_DIR.glob("*.toml")) if PROFILES_DIR.is_dir() else []
        raise ProfileError(
            f"no profile named {str(name_or_path)!r}; bundled profiles: {', '.join(names) or 'none'} "
            "(or give the path of a .toml file)"
        )
    return bundled


def _grey(top: _Reader) -> Grey:
    """``grey``: a named conversion or a table of channel weights."""
    value = top.get("grey", (str, dict), f"one of {', '.join(GREYS)} or a table {{red, green, blue}}", "mean")
    if isinstance(value, str):
        if value not in GREYS:
            raise top.error(
                "grey", f"expected one of {', '.join(GREYS)} or a table {{red, green, blue}}, got {value!r}"
            )
        return GREYS[value]
    reader = _Reader(top.path, value, "grey.")
    weights = {k: reader.get(k, (int, float), "a number >= 0", 0.0) for k in ("red", "green", "blue")}
    reader.finish()
    try:
        return Grey(**weights)
    except ValueError as exc:
        raise top.error("grey", str(exc)) from None


def _penalties(rew: _Reader, source: str) -> tuple[tuple[str, float], ...]:
    """``penalties``: the telemetry counters whose growth costs reward, and how much per unit."""
    table = rew.get("penalties", dict, "a table of telemetry counter = score units per unit", {})
    if table and source != "telemetry":
        raise rew.error("penalties", f'only used with source = "telemetry", not {source!r}')
    reader = _Reader(rew.path, table, "reward.penalties.")
    penalties = []
    for name in table:
        value = reader.number(name, None, 0)
        assert value is not None  # the key is in the table
        penalties.append((name, value))
    reader.finish()
    return tuple(penalties)


def _digits_config(rew: _Reader, source: str, path: Path) -> tuple[Crop | None, Path | None, float]:
    """``region``, ``glyphs`` (resolved next to the profile) and ``settle_seconds`` of the digits source.

    The glyph file is not opened here: ``pixelpilot digits learn`` reads the profile to create it.
    """
    digits_keys = ("region", "glyphs", "settle_seconds")
    if source != "digits":
        for key in digits_keys:
            if key in rew.table:
                raise rew.error(key, f'only used with source = "digits", not {source!r}')
        rew.used.update(digits_keys)
        return None, None, 0.5
    table = rew.get("region", dict, "a table {top, left, height, width} in window pixels", required=True)
    reader = _Reader(path, table, "reward.region.")
    values = {k: reader.get(k, int, "an integer", required=True) for k in ("top", "left", "height", "width")}
    reader.finish()
    if min(values["top"], values["left"]) < 0 or min(values["height"], values["width"]) < 1:
        raise rew.error("region", f"expected top, left >= 0 and height, width > 0, got {values}")
    glyphs = rew.get("glyphs", str, "the path of a glyph file (from `pixelpilot digits learn`)", required=True)
    if not glyphs:
        raise rew.error("glyphs", "expected the path of a glyph file (from `pixelpilot digits learn`), got ''")
    settle = rew.get("settle_seconds", (int, float), "a number of seconds in [0, 60]", 0.5)
    if not (math.isfinite(settle) and 0 <= settle <= 60):
        raise rew.error("settle_seconds", f"expected a number of seconds in [0, 60], got {settle!r}")
    return Crop(**values), path.resolve().parent / Path(glyphs).expanduser(), float(settle)


def load_profile(name_or_path: str | Path) -> GameProfile:
    """Read and validate a profile. Raises ProfileError naming the file, the key and what was expected."""
    path = resolve_profile(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: cannot read: {exc}") from None
    top = _Reader(path, data)
    name = top.get("name", str, "a string", required=True)
    window = top.get("window", str, "a non-empty window title", required=True)
    if not window:
        raise top.error("window", "expected a non-empty window title")
    fps = top.number("fps", 15.0, 0, 240)
    launch = top.get("launch", list, "a list of strings (the command that starts the game)", [])
    if not all(isinstance(arg, str) for arg in launch):
        raise top.error("launch", f"expected a list of strings, got {launch!r}")
    launch_timeout = top.number("launch_timeout", 30.0, 0)

    crop = None
    crop_table = top.get("crop", dict, "a table {top, left, height, width}", None)
    if crop_table is not None:
        crop_reader = _Reader(path, crop_table, "crop.")
        values = {k: crop_reader.get(k, int, "an integer", required=True) for k in ("top", "left", "height", "width")}
        crop_reader.finish()
        try:
            crop = Crop(**values)
        except ValueError as exc:
            raise top.error("crop", str(exc)) from None
    grey = _grey(top)

    keys = top.table_("keys")
    defaults = KeyMap()
    mapped = {k: keys.key(k, getattr(defaults, k)) for k in ("left", "right", "up", "down", "turbo")}
    try:
        keymap = KeyMap(**mapped)
    except ValueError as exc:
        raise keys.error("", str(exc)) from None
    reset_names = keys.get("reset", list, "a list of key names", [])
    reset_keys = []
    for i, reset_name in enumerate(reset_names):
        try:
            reset_keys.append(parse_key(reset_name))
        except KeyNameError as exc:
            raise keys.error(f"reset[{i}]", str(exc)) from None
    noop = keys.get("noop", bool, "true or false", False)
    keys.finish()

    rew = top.table_("reward")
    source = rew.get("source", str, f"one of {', '.join(REWARD_SOURCES)}", "none")
    if source not in REWARD_SOURCES:
        raise rew.error("source", f"expected one of {', '.join(REWARD_SOURCES)}, got {source!r}")
    port = rew.get("port", int, "an integer port in 1..65535", None)
    if source == "telemetry" and port is None:
        raise rew.error("port", "missing; the telemetry source needs the UDP port the game sends to")
    if port is not None and not 1 <= port <= 65535:
        raise rew.error("port", f"expected an integer port in 1..65535, got {port!r}")
    scale = rew.get("scale", (int, float), "a finite non-zero number", 1.0)
    if not math.isfinite(scale) or scale == 0:
        raise rew.error("scale", f"expected a finite non-zero number, got {scale!r}")
    region, glyphs, settle = _digits_config(rew, source, path)
    penalties = _penalties(rew, source)
    rew.finish()

    done = top.table_("done")
    max_episode = done.number("max_episode_seconds", None, 0)
    no_progress = done.number("no_progress_seconds", None, 0)
    if no_progress is not None and source == "none":
        raise done.error("no_progress_seconds", "needs a reward source to measure progress (reward.source)")
    reset_timeout = done.number("reset_timeout", 10.0, 0)
    if source == "digits" and max_episode is None and no_progress is None:
        # A score read off the screen never says the race is over: an evaluation would drive on forever.
        raise done.error("", 'nothing ends an episode: the digits reward source cannot tell that a race is over; '
                             "set max_episode_seconds or no_progress_seconds in [done]")  # fmt: skip
    done.finish()

    hot = top.table_("hotkeys")
    kill_key, toggle_key = hot.key("kill", "f12"), hot.key("toggle", "f8")
    if kill_key == toggle_key:
        raise hot.error("toggle", f"the kill switch and the toggle are both {kill_key!r}")
    clash = {kill_key, toggle_key} & (set(keymap.logical()) | set(reset_keys))
    if clash:
        raise hot.error("", f"hotkey {sorted(clash)[0]!r} is also a game key")
    hot.finish()
    top.finish()

    assert fps is not None and launch_timeout is not None and reset_timeout is not None
    profile = GameProfile(
        name=name,
        window=window,
        fps=fps,
        crop=crop,
        grey=grey,
        actions=ActionTable(keymap, noop),
        reset_keys=tuple(reset_keys),
        launch=tuple(launch),
        launch_timeout=launch_timeout,
        reward=RewardConfig(source, port, float(scale), region, glyphs, settle, penalties),
        done=DoneConfig(max_episode, no_progress, reset_timeout),
        kill_key=kill_key,
        toggle_key=toggle_key,
        path=path.resolve(),
    )
    if profile.launch_takes_port and source != "telemetry":
        raise top.error("launch", "uses {port}, which only a telemetry reward source has")
    return profile
