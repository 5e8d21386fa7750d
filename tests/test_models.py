import io

import torch

from models.actor_critic import CNNActorCritic


def test_universe_sized_network():
    model = CNNActorCritic((128, 200, 1), 7)
    assert model.flat_size == 32 * 8 * 13  # computed from the observation shape
    params = sum(p.numel() for p in model.parameters())
    assert 3_600_000 < params < 3_800_000
    obs = torch.rand(3, 128, 200, 1)
    logits, value, state = model(obs)
    assert logits.shape == (3, 7) and value.shape == (3,)
    assert state is not None and state[0].shape == (3, 256)
    _, _, state2 = model(obs, state)
    assert not torch.equal(state[0], state2[0])  # the recurrent state carries over
    probs = torch.softmax(logits, -1)
    assert torch.allclose(probs, torch.full_like(probs, 1 / 7), atol=0.02)  # small-std policy head


def test_other_shapes_and_mlp_core():
    model = CNNActorCritic((84, 84, 4), 3, core="mlp", hidden=64)
    logits, value, state = model(torch.rand(2, 84, 84, 4))
    assert logits.shape == (2, 3) and value.shape == (2,) and state is None


def test_save_load_round_trip_is_exact():
    torch.manual_seed(0)
    model = CNNActorCritic((128, 200, 1), 7)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    clone = CNNActorCritic((128, 200, 1), 7)
    clone.load_state_dict(torch.load(buffer, weights_only=True))
    obs = torch.rand(2, 128, 200, 1)
    for a, b in zip(model(obs)[:2], clone(obs)[:2], strict=True):
        assert torch.equal(a, b)
