"""What the benchmarks that record a game window share: the bundled profile as they use it, and ``pixelpilot
record`` as a separate process that records the window exactly as it records a person, while the benchmark's
scripted driver drives."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent


def bundled_profile(name: str, glyphs: Path | None = None) -> str:
    """games/profiles/NAME.toml without its launch command (the benchmark starts the game itself), its glyph file
    (``glyphs``, default the bundled one) named by absolute path, since the copy is written elsewhere."""
    from agent.envs.profile import load_profile
    from games import PROFILES_DIR

    glyphs = glyphs or load_profile(name).reward.glyphs
    lines = []
    for line in (PROFILES_DIR / f"{name}.toml").read_text().splitlines():
        if line.startswith("launch ="):
            continue
        lines.append(f"glyphs = {json.dumps(str(glyphs))}" if line.startswith("glyphs =") else line)
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def recorder(profile: Path, out: Path, seconds: float, output: IO[str] | None = None,
             timeout: float = 30.0) -> Iterator[subprocess.Popen[bytes]]:  # fmt: skip
    """``pixelpilot record --profile PROFILE --out OUT --max-seconds SECONDS``, given once its dataset is open
    (start driving then) and stopped on the way out if it still runs; ``output``: where its console goes (default:
    this one)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "record", "--profile", str(profile), "--out", str(out),
         "--max-seconds", str(seconds)],
        stdout=output, stderr=subprocess.STDOUT if output is not None else None, cwd=ROOT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        while not (out / "data" / "metadata.json").exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the recorder did not start{f': see {output.name}' if output else ''}")
            time.sleep(0.2)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()  # it keeps what it wrote: a recording survives its recorder's end
            process.wait(30)
