"""``pixelpilot play``: a checkpoint drives NeonRace's window; a human's key takes over; keys end released."""

from __future__ import annotations

import threading

import torch

from agent.a3c.args import Args
from agent.a3c.trainer import train
from agent.drive.play import play
from control.keyboard import PynputSender
from control.xkeys import pressed
from tests.conftest import wait_until
from tests.test_screen_training import short_neonrace

DRIVING = {"left", "right", "up", "down", "x"}


def always_up_checkpoint(tmp_path):
    """A NeonRace CNN checkpoint whose deterministic action is always 2 (up), so the pilot's keys are known."""
    result = train(Args(env_id="pixelpilot/NeonRace-v0", workers=1, total_steps=40, eval_every=0, progress=False,
                        run_name="pilot", runs_dir=str(tmp_path)))  # fmt: skip
    path = result.run_dir / "checkpoints" / "latest.pt"
    payload = torch.load(path, weights_only=True)
    payload["model"]["policy_head.bias"] = torch.tensor([0.0, 0.0, 100.0, 0.0, 0.0, 0.0, 0.0])
    torch.save(payload, path)
    return path


def test_the_pilot_drives_and_yields_to_a_human(tmp_path, desktop):
    checkpoint = always_up_checkpoint(tmp_path)
    human = PynputSender()

    lines: list[str] = []

    def press_left_for_a_while() -> None:
        wait_until(lambda: any(line.startswith("pilot  up ") for line in lines), timeout=60)
        human.press("left")
        wait_until(lambda: sum(line.startswith("human  left") for line in lines) >= 2)  # seen on 10 steps
        human.release("left")

    thread = threading.Thread(target=press_left_for_a_while)
    thread.start()
    result = play(short_neonrace(tmp_path), checkpoint, max_seconds=8, quiet_seconds=0.5, status=lines.append)
    thread.join()
    human.close()
    assert result.stopped is None and result.steps > 40
    assert result.pilot_steps > 20 and result.human_steps >= 5, (result.pilot_steps, result.human_steps)
    assert any(line.startswith("pilot  up ") for line in lines)
    assert any(line.startswith("human  left") for line in lines)
    assert "decide p50" in lines[-1] and result.fps > 10
    assert pressed(DRIVING) == set()  # nothing left held
    assert len(result.episodes) >= 1  # the 6-second episode ended and play went on with a new one
