import io

import gymnasium as gym
import numpy as np
import pytest
import torch

from models.actor_critic import deterministic_action
from models.build import build, build_for
from models.cnn import AveragePool, CNNActorCritic, frame_differences, standardised
from models.mlp import MLPActorCritic
from models.spec import ModelSpec, SpecError, UnsupportedSpaceError, spec_for


def test_universe_sized_network():
    model = CNNActorCritic(ModelSpec("cnn-lstm", (128, 200, 1), n_actions=7, hidden=256, layers=4))
    assert model.flat_size == 32 * 8 * 13  # computed from the observation shape
    params = sum(p.numel() for p in model.parameters())
    assert 3_600_000 < params < 3_800_000
    obs = torch.rand(3, 128, 200, 1)
    dist, value, state = model(obs)
    assert dist.logits.shape == (3, 7) and value.shape == (3,)
    assert state is not None and state[0].shape == (3, 256)
    _, _, state2 = model(obs, state)
    assert not torch.equal(state[0], state2[0])  # the recurrent state carries over
    assert torch.allclose(dist.probs, torch.full_like(dist.probs, 1 / 7), atol=0.02)  # small-std policy head
    assert deterministic_action(dist).shape == (3,)


def test_frame_stacks_and_mlp_core():
    model = CNNActorCritic(ModelSpec("cnn-mlp", (84, 84, 4), n_actions=3, hidden=64, layers=4))
    dist, value, state = model(torch.rand(2, 84, 84, 4))
    assert dist.logits.shape == (2, 3) and value.shape == (2,) and state is None
    assert model.flat_size == 32 * 6 * 6


def test_mlp_heads():
    discrete = build_for(gym.spaces.Box(-1, 1, (4,)), gym.spaces.Discrete(2))
    dist, value, _ = discrete(torch.rand(5, 4))
    assert dist.sample().shape == (5,) and value.shape == (5,)
    box = gym.spaces.Box(np.array([-2.0, 0.0], np.float32), np.array([2.0, 1.0], np.float32))
    continuous = build_for(gym.spaces.Box(-1, 1, (3,)), box)
    dist, _, _ = continuous(torch.rand(5, 3))
    mean = deterministic_action(dist)
    assert mean.shape == (5, 2)
    assert torch.all(mean[:, 0].abs() <= 2) and torch.all((mean[:, 1] >= 0) & (mean[:, 1] <= 1))  # tanh bounds
    assert dist.log_prob(dist.sample()).shape == (5,) and dist.entropy().shape == (5,)


def test_build_picks_and_refuses():
    assert isinstance(build_for(gym.spaces.Box(-1, 1, (4,)), gym.spaces.Discrete(2)), MLPActorCritic)
    assert isinstance(build_for(gym.spaces.Box(0, 1, (128, 200, 1)), gym.spaces.Discrete(7)), CNNActorCritic)
    with pytest.raises(UnsupportedSpaceError, match="MultiDiscrete"):
        build_for(gym.spaces.Box(-1, 1, (4,)), gym.spaces.MultiDiscrete([2, 3]))
    with pytest.raises(UnsupportedSpaceError, match="needs Discrete actions"):
        build_for(gym.spaces.Box(0, 1, (96, 96, 3)), gym.spaces.Box(-1, 1, (3,)))
    with pytest.raises(UnsupportedSpaceError, match="finite bounds"):
        build_for(gym.spaces.Box(-1, 1, (4,)), gym.spaces.Box(-np.inf, np.inf, (2,)))
    with pytest.raises(SpecError, match="unknown model kind 'rnn'"):
        build_for(gym.spaces.Box(-1, 1, (4,)), gym.spaces.Discrete(2), kind="rnn")


@pytest.mark.parametrize(
    "make",
    [
        lambda: build_for(gym.spaces.Box(0, 1, (128, 200, 1)), gym.spaces.Discrete(7)),
        lambda: build_for(gym.spaces.Box(-1, 1, (3,)), gym.spaces.Box(-2.0, 2.0, (1,))),
    ],
)
def test_save_load_round_trip_is_exact(make):
    torch.manual_seed(0)
    model = make()
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    torch.manual_seed(1)
    clone = make()
    clone.load_state_dict(torch.load(buffer, weights_only=True))
    obs = torch.rand(2, *((128, 200, 1) if isinstance(model, CNNActorCritic) else (3,)))
    (d1, v1, _), (d2, v2, _) = model(obs), clone(obs)
    assert torch.equal(v1, v2) and torch.equal(deterministic_action(d1), deterministic_action(d2))


@pytest.mark.parametrize(
    ("observation", "action", "kind"),
    [
        (gym.spaces.Box(-1, 1, (4,)), gym.spaces.Discrete(2), "auto"),
        (
            gym.spaces.Box(-1, 1, (3,)),
            gym.spaces.Box(np.array([-2.0, 0.0], np.float32), np.array([2.0, 1.0], np.float32)),
            "auto",
        ),
        (gym.spaces.Box(0, 1, (128, 200, 2)), gym.spaces.Discrete(7), "cnn-mlp"),
        (gym.spaces.Box(0, 1, (128, 200, 1)), gym.spaces.Discrete(8), "cnn-lstm"),
    ],
)
def test_a_spec_round_trips_through_plain_data_and_rebuilds_the_same_network(observation, action, kind):
    spec = spec_for(observation, action, kind, frame_stack=2 if kind == "cnn-mlp" else 1)
    data = spec.to_dict()
    assert all(isinstance(v, int | str | list) for v in data.values())  # plain data: what a checkpoint stores
    assert ModelSpec.from_dict(data) == spec
    torch.manual_seed(0)
    a = build(spec)
    b = build(ModelSpec.from_dict(data))
    b.load_state_dict(a.state_dict())
    assert spec.mismatch(observation, action) is None
    assert "shape" in spec.mismatch(gym.spaces.Box(-1, 1, (5,)), action)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("cnn", "expected a table"),
        ({"version": 2, "kind": "mlp"}, "version: this pixelpilot reads model specs of version 1"),
        ({"version": 1, "kind": "mlp", "observation_shape": [4], "n_actions": 2, "module": "os"}, "module: unknown"),
        ({"version": 1, "kind": "transformer", "observation_shape": [4], "n_actions": 2}, "unknown model kind"),
        ({"version": 1, "kind": "mlp", "observation_shape": "4", "n_actions": 2}, "observation_shape: expected"),
        ({"version": 1, "kind": "mlp", "observation_shape": [4], "n_actions": -1}, "n_actions: expected a positive"),
        ({"version": 1, "kind": "mlp", "observation_shape": [4]}, "give n_actions"),
        ({"version": 1, "kind": "mlp", "observation_shape": [4], "n_actions": 2, "hidden": True}, "hidden: expected"),
        ({"version": 1, "kind": "cnn-lstm", "observation_shape": [4], "n_actions": 2}, "(height, width, channels)"),
        (
            {
                "version": 1,
                "kind": "cnn-mlp",
                "observation_shape": [8, 8, 1],
                "n_actions": 2,
                "frame_differences": True,
            },
            "frame_differences: needs a frame_stack of 2",
        ),
        (
            {"version": 1, "kind": "mlp", "observation_shape": [4], "n_actions": 2, "input_norm": True},
            "observation_low/observation_high: an mlp with input_norm needs 4 bounds each",
        ),
        (
            {
                "version": 1,
                "kind": "mlp",
                "observation_shape": [1],
                "n_actions": 2,
                "observation_low": [0],
                "observation_high": [1],
            },
            "observation_low/observation_high: only an mlp with input_norm",
        ),
        (
            {
                "version": 1,
                "kind": "mlp",
                "observation_shape": [1],
                "n_actions": 2,
                "input_norm": True,
                "observation_low": [1],
                "observation_high": [0],
            },
            "expected low ≤ high",
        ),
        (
            {"version": 1, "kind": "cnn-mlp", "observation_shape": [8, 8, 1], "n_actions": 2, "input_norm": "yes"},
            "input_norm: expected true or false",
        ),
    ],
)
def test_a_bad_spec_names_the_field(data, message):
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ModelSpec.from_dict(data)


def test_evaluate_actions_replays_a_stateless_rollout_as_one_batch():
    torch.manual_seed(0)
    model = build_for(gym.spaces.Box(0, 1, (64, 64, 2)), gym.spaces.Discrete(3), "cnn-mlp")
    observations = torch.rand(5, 3, 64, 64, 2)
    unrolled = model.evaluate_actions(observations, None, torch.zeros(5, 3))
    dist, value, _ = model(observations.flatten(0, 1))
    torch.testing.assert_close(unrolled.dist.logits, dist.logits)
    torch.testing.assert_close(unrolled.value, value)
    assert unrolled.state is None


def test_the_written_out_lstm_is_torchs_lstm_cell():
    """Weights trained with nn.LSTMCell (every checkpoint of format 1) load into LSTMCore and compute the same."""
    from models.cnn import LSTMCore

    torch.manual_seed(0)
    reference = torch.nn.LSTMCell(12, 8)
    core = LSTMCore(12, 8)
    core.load_state_dict(reference.state_dict())
    x, h, c = torch.randn(5, 12), torch.randn(5, 8), torch.randn(5, 8)
    for got, expected in zip(core(x, (h, c)), reference(x, (h, c)), strict=True):
        torch.testing.assert_close(got, expected)


def test_health_readings_see_a_blind_network_and_a_saturated_core():
    torch.manual_seed(0)
    model = build(ModelSpec("cnn-lstm", (32, 32, 1), n_actions=3, hidden=16, layers=2))
    observations = torch.rand(6, 2, 32, 32, 1)
    readings = model.health(observations, model.initial_state(2), torch.zeros(6, 2))
    assert readings["feature_std"] > 0 and 0 <= readings["lstm_saturation"] < 0.5
    still = model.health(observations[:1].expand(6, -1, -1, -1, -1), model.initial_state(2), torch.zeros(6, 2))
    assert still["feature_std"] == 0.0  # the same picture every step
    with torch.no_grad():
        model.core.weight_hh.mul_(0).add_(100.0)  # every gate driven far past its sigmoid's range
    saturated = model.health(observations, model.initial_state(2), torch.zeros(6, 2))["gate_saturation"]
    assert saturated == pytest.approx(5 / 6)  # every step after the first (h starts at 0)


def test_frame_differences_show_the_newest_frame_then_what_moved_newest_first():
    oldest, middle, newest = (torch.full((1, 2, 3, 1), v) for v in (1.0, 3.0, 7.0))
    shown = frame_differences(torch.cat((oldest, middle, newest), dim=3), 3)
    assert shown.shape == (1, 2, 3, 3)
    assert shown[0, 0, 0].tolist() == [7.0, 4.0, 2.0]  # newest, newest - middle, middle - oldest
    two_channels = torch.arange(8.0).reshape(1, 1, 1, 8)  # 4 frames of 2 channels: (0, 1), (2, 3), ...
    assert frame_differences(two_channels, 4)[0, 0, 0].tolist() == [6.0, 7.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]


def test_standardised_frames_have_mean_0_and_spread_1_and_a_flat_one_stays_flat():
    faint = 0.5 + 0.1 * torch.rand(2, 16, 20, 1)  # a picture of 25 grey levels out of 255
    shown = standardised(faint)
    assert torch.allclose(shown.mean(dim=(1, 2)), torch.zeros(2, 1), atol=1e-5)
    assert torch.allclose(shown.std(dim=(1, 2)), torch.ones(2, 1), atol=1e-4)
    flat = standardised(torch.full((1, 4, 4, 1), 0.3) + 1e-4 * torch.rand(1, 4, 4, 1))
    assert flat.abs().max() < 0.02


def test_input_transforms_live_in_the_spec_and_a_reloaded_model_decides_alike():
    space = gym.spaces.Box(0, 1, (32, 40, 2))
    spec = spec_for(space, gym.spaces.Discrete(7), "cnn-mlp", frame_stack=2, pool=2, input_norm=True,
                    frame_differences=True)  # fmt: skip
    assert ModelSpec.from_dict(spec.to_dict()) == spec
    torch.manual_seed(0)
    model = build(spec)
    clone = build(ModelSpec.from_dict(spec.to_dict()))
    clone.load_state_dict(model.state_dict())
    obs = torch.rand(3, 32, 40, 2)
    (d1, v1, _), (d2, v2, _) = model(obs), clone(obs)
    assert torch.equal(v1, v2) and torch.equal(d1.logits, d2.logits)
    # the transforms see brightness changes as nothing: the same picture, darker, gives the same decision
    (d3, v3, _) = model(0.5 * obs)
    assert torch.allclose(d1.logits, d3.logits, atol=1e-4) and torch.allclose(v1, v3, atol=1e-4)


def test_an_mlp_with_input_norm_sees_each_bounded_feature_on_minus_1_to_1_and_the_rest_unchanged():
    space = gym.spaces.Box(np.array([-1.2, -0.07, -np.inf], np.float32), np.array([0.6, 0.07, np.inf], np.float32))
    spec = spec_for(space, gym.spaces.Discrete(3), "mlp", hidden=10, input_norm=True)
    assert ModelSpec.from_dict(spec.to_dict()) == spec  # the bounds travel in the spec
    torch.manual_seed(0)
    model = build(spec)
    obs = torch.tensor([[0.6, 0.07, 5.0], [-1.2, -0.07, -3.0], [-0.3, 0.0, 0.0]])
    assert torch.allclose(model.encode(obs), torch.tensor([[1.0, 1.0, 5.0], [-1.0, -1.0, -3.0], [0.0, 0.0, 0.0]]))
    # a checkpoint's weights (no bounds among them: the spec has them) load into the rebuilt model alike
    clone = build(ModelSpec.from_dict(spec.to_dict()))
    clone.load_state_dict(model.state_dict())
    (d1, v1, _), (d2, v2, _) = model(obs), clone(obs)
    assert torch.equal(d1.logits, d2.logits) and torch.equal(v1, v2)
    plain = spec_for(space, gym.spaces.Discrete(3), "mlp", hidden=10)
    assert plain.observation_low is None and "observation_low" not in plain.to_dict()


@pytest.mark.parametrize("k, shape", [(2, (3, 2, 128, 200)), (2, (2, 4, 7, 9)), (3, (2, 1, 10, 11))])
def test_average_pool_is_torchs_average_pool(k, shape):
    """nn.AvgPool2d's numbers (to float rounding), rows and columns that fill no window dropped, in either layout."""
    x = torch.rand(shape)
    for layout in (x, x.contiguous(memory_format=torch.channels_last)):
        torch.testing.assert_close(AveragePool(k)(layout), torch.nn.AvgPool2d(k)(layout))  # sums in another order
