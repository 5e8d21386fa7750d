"""Settings that belong to an environment whichever learner trains on it (each learner's presets add its own)."""

from __future__ import annotations

from typing import Any

PIXEL_NETWORK: dict[str, Any] = {
    # A feed-forward CNN on the last 2 frames (motion without a recurrent core: the LSTM collapsed to one action in
    # every measured A3C run), the frame averaged 2x2 first (the convolutions then cost a quarter: 836 steps/s
    # against 317 with 2 A3C workers).
    "model": "cnn-mlp",
    "frame_stack": 2,
    "pool": 2,
}
NEONRACE_EPISODES: dict[str, Any] = {
    # Three laps or 1,000 steps (67 s) per training episode: the return then measures speed, where one lap from a
    # standing start returns the lap's length whatever the time. Evaluated on one lap, as the benchmark judges.
    "env_kwargs": {"laps": 3, "max_episode_steps": 1000},
    "eval_env_kwargs": {"laps": 1, "max_episode_steps": 2000},
    "eval_episodes": 20,
    "eval_every": 25_000,
}
