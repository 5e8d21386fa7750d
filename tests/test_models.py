import io

import gymnasium as gym
import numpy as np
import pytest
import torch

from models.actor_critic import CNNActorCritic, MLPActorCritic, UnsupportedSpaceError, build, deterministic_action


def test_universe_sized_network():
    model = CNNActorCritic((128, 200, 1), 7)
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
    model = CNNActorCritic((84, 84, 4), 3, core="mlp", hidden=64)
    dist, value, state = model(torch.rand(2, 84, 84, 4))
    assert dist.logits.shape == (2, 3) and value.shape == (2,) and state is None
    assert model.flat_size == 32 * 6 * 6


def test_mlp_heads():
    discrete = MLPActorCritic(4, gym.spaces.Discrete(2))
    dist, value, _ = discrete(torch.rand(5, 4))
    assert dist.sample().shape == (5,) and value.shape == (5,)
    box = gym.spaces.Box(np.array([-2.0, 0.0], np.float32), np.array([2.0, 1.0], np.float32))
    continuous = MLPActorCritic(3, box)
    dist, _, _ = continuous(torch.rand(5, 3))
    mean = deterministic_action(dist)
    assert mean.shape == (5, 2)
    assert torch.all(mean[:, 0].abs() <= 2) and torch.all((mean[:, 1] >= 0) & (mean[:, 1] <= 1))  # tanh bounds
    assert dist.log_prob(dist.sample()).shape == (5,) and dist.entropy().shape == (5,)


def test_build_picks_and_refuses():
    assert isinstance(build(gym.spaces.Box(-1, 1, (4,)), gym.spaces.Discrete(2)), MLPActorCritic)
    assert isinstance(build(gym.spaces.Box(0, 1, (128, 200, 1)), gym.spaces.Discrete(7)), CNNActorCritic)
    with pytest.raises(UnsupportedSpaceError, match="MultiDiscrete"):
        build(gym.spaces.Box(-1, 1, (4,)), gym.spaces.MultiDiscrete([2, 3]))
    with pytest.raises(UnsupportedSpaceError, match="needs Discrete actions"):
        build(gym.spaces.Box(0, 1, (96, 96, 3)), gym.spaces.Box(-1, 1, (3,)))
    with pytest.raises(UnsupportedSpaceError, match="finite bounds"):
        build(gym.spaces.Box(-1, 1, (4,)), gym.spaces.Box(-np.inf, np.inf, (2,)))
    with pytest.raises(ValueError, match="unknown model kind 'rnn'"):
        build(gym.spaces.Box(-1, 1, (4,)), gym.spaces.Discrete(2), kind="rnn")


@pytest.mark.parametrize(
    "make",
    [lambda: CNNActorCritic((128, 200, 1), 7), lambda: MLPActorCritic(3, gym.spaces.Box(-2.0, 2.0, (1,)))],
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
