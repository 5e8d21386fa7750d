"""Screen-loop benchmark: capture + preprocess throughput and the full decision step, on a real X desktop.

Starts its own virtual desktop (Xvfb + openbox) with an 800x600 test game window, then measures in one run:

1. capture + preprocess, unpaced: our path (mss grab of the window, BGRA resize, channel mean) next to a
   straight transcription of the seed recipe applied to the same grabs (strided BGR copy, resize, mean);
2. the decision step: grab → preprocess → forward of the universe-sized CNN actor-critic (4 conv + LSTM 256,
   one torch thread, as one A3C worker has) → key send through XTest with the focus guard.

Results go to the console and to docs/benchmarks.md (the section between this benchmark's markers).
Run: make bench, or .venv/bin/python benchmarks/screen_loop.py [--frames N] [--steps N]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- screen_loop:start -->", "<!-- screen_loop:end -->"


def percentiles(samples_ms: list[float]) -> tuple[float, float]:
    p50, p99 = np.percentile(np.asarray(samples_ms), [50, 99])
    return float(p50), float(p99)


def seed_recipe(frame: np.ndarray) -> np.ndarray:
    """The original ``_process_frame`` on a BGRA grab, as it would be written without care for speed."""
    import cv2

    frame = frame[:, :, :3]
    frame = cv2.resize(frame, (200, 128))
    frame = frame.mean(2).astype(np.float32)
    frame *= 1.0 / 255.0
    return frame.reshape(128, 200, 1)


def bench_capture(handle: int, frames: int) -> list[tuple[str, float, float, float]]:
    from capture.grabber import WindowGrabber
    from capture.preprocess import preprocess

    rows = []
    with WindowGrabber(handle) as grabber:
        for name, process in (("pixelpilot (mss + BGRA resize)", preprocess), ("seed recipe transcribed", seed_recipe)):
            for _ in range(50):
                process(grabber.grab())
            samples = []
            start = time.perf_counter()
            for _ in range(frames):
                t0 = time.perf_counter()
                process(grabber.grab())
                samples.append((time.perf_counter() - t0) * 1000.0)
            fps = frames / (time.perf_counter() - start)
            rows.append((name, fps, *percentiles(samples)))
    return rows


def bench_decision(handle: int, steps: int) -> dict[str, tuple[float, float]]:
    import torch

    from capture.grabber import WindowGrabber
    from capture.preprocess import preprocess
    from control.actions import ActionTable
    from control.focus import FocusGuard
    from control.keyboard import Keyboard, PynputSender
    from models.actor_critic import CNNActorCritic

    torch.set_num_threads(1)
    table = ActionTable()
    model = CNNActorCritic((128, 200, 1), table.n).eval()
    state = model.initial_state()
    parts: dict[str, list[float]] = {"grab": [], "preprocess": [], "forward": [], "send": [], "step": []}
    with WindowGrabber(handle) as grabber, Keyboard(PynputSender(), table.managed_keys, FocusGuard(handle)) as kb:
        for i in range(steps + 50):
            t0 = time.perf_counter()
            raw = grabber.grab()
            t1 = time.perf_counter()
            obs = torch.from_numpy(preprocess(raw)).unsqueeze(0)
            t2 = time.perf_counter()
            with torch.no_grad():
                dist, _, state = model(obs, state)
            action = int(dist.sample())
            t3 = time.perf_counter()
            kb.apply(table.keys(action))
            t4 = time.perf_counter()
            if i >= 50:  # warm-up steps are not counted
                for name, value in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0), strict=True):
                    parts[name].append(value * 1000.0)
    return {name: percentiles(samples) for name, samples in parts.items()}


def machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import torch

    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"torch {torch.__version__}, Xvfb + openbox"
    )


def figure(rows: int, cols: int, figsize: tuple[float, float], sharey: bool | str = False) -> tuple[Any, Any]:
    """A figure and its grid of axes for the benchmarks' curves, with matplotlib's object API (no pyplot state:
    nothing to close, and safe on any thread); ``fig.savefig`` writes it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(rows, cols, sharey=sharey)


def publish(lines: list[str], start: str = START, end: str = END, write: bool = True) -> None:
    """Print a benchmark's section and, with ``write``, put it into docs/benchmarks.md."""
    text = "\n".join(lines)
    print(text)
    if write:
        write_section(text, start, end)


def write_section(text: str, start: str = START, end: str = END) -> None:
    """Replace this benchmark's section of docs/benchmarks.md (between its markers), or append it."""
    DOC.parent.mkdir(exist_ok=True)
    doc = (
        DOC.read_text()
        if DOC.exists()
        else "# Benchmarks\n\nMeasured with `make bench`; each section is rewritten by its benchmark.\n"
    )
    section = f"{start}\n{text.rstrip()}\n{end}"
    if start in doc:
        doc = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: section, doc, flags=re.S)
    else:
        doc = doc.rstrip() + "\n\n" + section + "\n"
    DOC.write_text(doc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000, help="frames per capture variant (default 2000)")
    parser.add_argument("--steps", type=int, default=1000, help="decision steps (default 1000)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()

    from agent.envs.launcher import wait_for_window
    from capture.display import VirtualDesktop
    from capture.windows import default_backend

    with VirtualDesktop() as vd:
        os.environ["DISPLAY"] = vd.display or ""
        game = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "keywindow.py"), "--title", "BenchWindow"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            window = wait_for_window("BenchWindow", 30)
            default_backend().activate(window.handle)
            capture = bench_capture(window.handle, args.frames)
            decision = bench_decision(window.handle, args.steps)
        finally:
            game.terminate()
            game.wait(10)

    command = "make bench" + (
        "" if (args.frames, args.steps) == (2000, 1000) else f" (--frames {args.frames} --steps {args.steps})"
    )
    lines = [
        "## Screen loop (issue 2)",
        "",
        f"`{command}` on {datetime.date.today()}: {machine()}. Window: 800x600 client area.",
        "",
        "Capture + preprocess (grab of the window → 128x200x1 float observation), unpaced, same run:",
        "",
        "| pipeline | frames/s | per frame p50 (ms) | p99 (ms) |",
        "|---|---:|---:|---:|",
        *(f"| {name} | {fps:.0f} | {p50:.2f} | {p99:.2f} |" for name, fps, p50, p99 in capture),
        "| universe-starter-agent on Neon Race (published rate, VNC remote; not measured here) | 5 | | |",
        "| tmrl TrackMania default (published time step; not measured here) | 20 | | |",
        "",
        f"Decision step, {args.steps} steps (grab → preprocess → CNN forward, 3.7M parameters, 1 torch thread →"
        " sample → XTest key send with the focus guard):",
        "",
        "| part | p50 (ms) | p99 (ms) |",
        "|---|---:|---:|",
        *(f"| {name} | {p50:.2f} | {p99:.2f} |" for name, (p50, p99) in decision.items()),
        "",
        f"Goals: capture + preprocess ≥ 500 frames/s → {capture[0][1]:.0f}; decision step p99 ≤ 10 ms → "
        f"{decision['step'][1]:.2f} ms.",
    ]
    publish(lines, write=not args.no_write)
    if not args.no_write:
        print(f"\nwritten to {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
