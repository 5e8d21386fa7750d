"""The checkpoint format: a model spec and weights as data. Old checkpoints still load, and a crafted file can name
modules, profiles and code as it likes: loading it imports, launches and runs none of them, with one line."""

from __future__ import annotations

import os
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from agent.config import ConfigError
from agent.policy.checkpoint import CHECKPOINT_FORMAT, load_checkpoint
from agent.policy.evaluation import evaluate
from agent.policy.legacy import RENAMED
from models.build import build_for
from tests.test_cli import assert_one_line_error, run

FORMAT_1_PILOT = Path(__file__).parent / "data" / "neonrace-pilot-format1.pt"
"""the NeonRace pilot shipped before checkpoints had a model spec (CNN + LSTM, float16, exported in format 1)"""
CARTPOLE = (gym.spaces.Box(-np.inf, np.inf, (4,), np.float32), gym.spaces.Discrete(2))


def format_1(model: torch.nn.Module, config: dict) -> dict:
    """What pixelpilot wrote before model specs: the training options and the weights, heads named policy/value."""
    back = {new: old for old, new in RENAMED.items()}
    weights = {}
    for key, value in model.state_dict().items():
        prefix = next((p for p in back if key.startswith(p)), None)
        weights[back[prefix] + key[len(prefix) :] if prefix else key] = value
    return {"format": 1, "model": weights, "counters": {"steps": 5, "updates": 1, "episodes": 0}, "config": config}


@pytest.mark.parametrize(
    ("spaces", "kind", "config"),
    [
        (CARTPOLE, "auto", {"env_id": "CartPole-v1"}),
        ((gym.spaces.Box(-1, 1, (3,)), gym.spaces.Box(-2.0, 2.0, (1,))), "auto", {"env_id": "Pendulum-v1"}),
        ((gym.spaces.Box(0, 1, (128, 200, 2)), gym.spaces.Discrete(7)), "cnn-mlp", {"frame_stack": 2}),
        ((gym.spaces.Box(0, 1, (128, 200, 1)), gym.spaces.Discrete(7)), "cnn-lstm", {}),
    ],
    ids=["mlp", "gaussian", "cnn-mlp-stacked", "cnn-lstm"],
)
def test_a_format_1_checkpoint_loads_with_its_spec_read_off_the_weights(tmp_path, spaces, kind, config):
    torch.manual_seed(0)
    model = build_for(*spaces, kind, frame_stack=config.get("frame_stack", 1))
    path = tmp_path / "old.pt"
    torch.save(format_1(model, {"env_id": "pixelpilot/NeonRace-v0", "env_kwargs": {}, **config}), path)
    loaded = load_checkpoint(path)
    assert loaded.spec == model.spec
    obs = torch.rand(3, *spaces[0].shape)
    (d1, v1, _), (d2, v2, _) = model.eval()(obs), loaded.model()(obs)
    torch.testing.assert_close(v1, v2)
    torch.testing.assert_close(d1.mean if spaces[1].shape else d1.logits, d2.mean if spaces[1].shape else d2.logits)


@pytest.mark.slow
def test_the_pilot_once_shipped_in_format_1_still_loads_and_drives():
    loaded = load_checkpoint(FORMAT_1_PILOT)
    assert loaded.spec.kind == "cnn-lstm" and loaded.spec.observation_shape == (128, 200, 1)
    assert loaded.spec.n_actions == 7 and loaded.spec.hidden == 256 and loaded.optimizer is None
    assert loaded.env_id == "pixelpilot/NeonRace-v0" and loaded.trained == "279,280 steps of A3C"
    result = evaluate(FORMAT_1_PILOT, episodes=1, env_kwargs={"max_episode_steps": 30})
    assert result.episodes[0].steps == 30


@pytest.mark.slow
def test_a_checkpoint_round_trips_through_its_spec_not_its_options(tmp_path):
    """The training options are stored for --resume, but the model is built from the spec: a checkpoint whose
    options this version does not know still drives."""
    from agent.a3c.args import Args
    from agent.a3c.trainer import train

    result = train(Args(workers=1, total_steps=200, eval_every=0, runs_dir=str(tmp_path), run_name="r", progress=False))
    payload = torch.load(result.run_dir / "checkpoints" / "latest.pt", weights_only=True)
    assert payload["format"] == CHECKPOINT_FORMAT and payload["spec"]["kind"] == "mlp"
    payload["config"] = {"a_renamed_option": 1}
    torch.save(payload, tmp_path / "renamed.pt")
    loaded = load_checkpoint(tmp_path / "renamed.pt")
    assert evaluate(tmp_path / "renamed.pt", episodes=2).returns == evaluate(result.run_dir, episodes=2).returns
    assert loaded.spec == load_checkpoint(result.run_dir).spec


def crafted(tmp_path: Path, **changes: object) -> Path:
    """A CartPole checkpoint with some entries replaced."""
    torch.manual_seed(0)
    model = build_for(*CARTPOLE)
    payload = {"format": CHECKPOINT_FORMAT, "spec": model.spec.to_dict(), "model": model.state_dict(),
               "env_id": "CartPole-v1", "env_kwargs": {}, "learner": "a3c", "counters": {"steps": 1},
               "config": {"env_id": "CartPole-v1"}, "optimizer": {"state": {}, "param_groups": []}}  # fmt: skip
    path = tmp_path / "crafted.pt"
    torch.save(payload | changes, path)
    return path


@pytest.fixture
def evil_module(tmp_path, monkeypatch) -> Path:
    """A module on the import path that leaves a marker file when imported."""
    marker = tmp_path / "imported"
    (tmp_path / "pixelpilot_evil.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('imported')\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    return marker


@pytest.mark.slow
def test_a_checkpoint_naming_a_module_to_import_is_refused_without_importing_it(tmp_path, evil_module):
    path = crafted(tmp_path, env_id="pixelpilot_evil:Evil-v0", config={"env_id": "pixelpilot_evil:Evil-v0"})
    message = "names the environment 'pixelpilot_evil:Evil-v0', which is not one of pixelpilot's or Gymnasium's"
    assert_one_line_error(run("evaluate", "--checkpoint", str(path), "--episodes", "1"), message)
    assert_one_line_error(run("train", "--resume", str(path), "--no-progress"), message)
    assert not evil_module.exists()
    # The user may name an environment for it: the file's own record is not used then.
    assert run("evaluate", "--checkpoint", str(path), "--episodes", "1", "--env", "CartPole-v1").returncode == 0
    assert not evil_module.exists()


@pytest.mark.slow
def test_a_checkpoint_naming_a_profile_never_opens_it_nor_launches_its_game(tmp_path):
    marker = tmp_path / "launched"
    profile = tmp_path / "evil.toml"
    profile.write_text(f'name = "evil"\nwindow = "Evil"\nlaunch = ["touch", "{marker}"]\n[reward]\nsource = "none"\n')
    kwargs = {"profile": str(profile), "private_display": True}
    path = crafted(tmp_path, env_id="pixelpilot/Screen-v0", env_kwargs=kwargs,
                   config={"env_id": "pixelpilot/Screen-v0", "env_kwargs": kwargs})  # fmt: skip
    message = "trained through a game window; name the game's profile with --profile"
    assert_one_line_error(run("evaluate", "--checkpoint", str(path), "--episodes", "1"), message)
    assert_one_line_error(run("train", "--resume", str(path), "--no-progress"), message)
    assert_one_line_error(
        run("train", "--resume", str(path), "--env", "pixelpilot/Screen-v0", "--no-progress"),
        "--env pixelpilot/Screen-v0: name the game's profile with --profile instead",
    )
    with pytest.raises(ConfigError, match=message):
        load_checkpoint(path).builtin_env()
    assert not marker.exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"random bytes, not a checkpoint", "not a pixelpilot checkpoint (not a readable torch file)"),
        ("code", "not a pixelpilot checkpoint (it names code to run (posix.system), which is never loaded)"),
        ({"format": 2, "model": "weights"}, "its 'model' entry is not a set of named weights"),
        ({"format": 7}, "not a pixelpilot checkpoint (format 2 or 1)"),
        ("spec", "not a usable pixelpilot checkpoint (kind: unknown model kind 'evil'"),
        ("counters", "its counters are not numbers"),
    ],
    ids=["bytes", "pickled-code", "model-not-weights", "format", "spec", "counters"],
)
def test_a_file_that_is_no_checkpoint_gives_one_line_and_runs_nothing(tmp_path, evil_module, payload, message):
    path = tmp_path / "bad.pt"
    if payload == "code":
        torch.save({"format": 2, "x": Run(tmp_path / "ran")}, path)
    elif payload == "spec":
        path = crafted(tmp_path, spec={"version": 1, "kind": "evil", "observation_shape": [4], "n_actions": 2})
    elif payload == "counters":
        path = crafted(tmp_path, counters={"steps": "pixelpilot_evil"})
    elif isinstance(payload, bytes):
        path.write_bytes(payload)
    else:
        torch.save(payload, path)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_checkpoint(path)
    assert_one_line_error(run("evaluate", "--checkpoint", str(path)), message)
    assert not evil_module.exists() and not (tmp_path / "ran").exists()


class Run:
    """Unpickling this would run a command (what torch's safe loader refuses)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))
