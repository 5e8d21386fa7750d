"""Games that ship with pixelpilot and their profiles (``games/profiles/*.toml``)."""

from pathlib import Path

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"
