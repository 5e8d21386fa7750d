"""What a network is, as plain data: the model spec a checkpoint stores and the model is rebuilt from.

A spec names the architecture (``kind``), the spaces it was built for and its sizes, nothing else: no training
options, no environment. That is what lets a shipped pilot outlive renamed training options, and what makes a
checkpoint safe to open: :meth:`ModelSpec.from_dict` accepts numbers, short strings and lists of numbers, checks
each against what the builders take, and names the first bad field. Nothing in a spec is imported or run.

Versioned by :data:`SPEC_VERSION`; a newer spec than this code knows is refused rather than half-read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np

SPEC_VERSION = 1
KINDS = ("mlp", "cnn-lstm", "cnn-mlp")
Kind = Literal["mlp", "cnn-lstm", "cnn-mlp"]
HEADS = ("actor-critic", "q", "dueling-q", "deterministic")
"""what the network outputs: a policy and a value; action values Q(s, ·) (dueling: as V(s) + A(s, ·)); or a
deterministic continuous action μ(s) and its critic Q(s, a)"""


class SpecError(ValueError):
    """A spec (or a space) the models cannot be built from; the message names the field."""


class UnsupportedSpaceError(SpecError):
    """A space the models cannot handle; the message names it."""


@dataclass(frozen=True)
class ModelSpec:
    kind: Kind
    """the architecture: mlp (vectors), cnn-lstm or cnn-mlp (images)"""
    observation_shape: tuple[int, ...]
    """one observation as the model takes it: (features,) or (height, width, channels), stacked frames included"""
    n_actions: int | None = None
    """discrete actions: how many (None for continuous ones)"""
    action_low: tuple[float, ...] | None = None
    """continuous actions: the lower bound of each dimension (None for discrete ones)"""
    action_high: tuple[float, ...] | None = None
    """continuous actions: the upper bound of each dimension"""
    hidden: int = 64
    """units per hidden layer (MLP) or in the core (CNN)"""
    layers: int = 2
    """hidden layers of each MLP (mlp) or convolutions (cnn-*)"""
    filters: int = 32
    """channels of each convolution (cnn-*)"""
    frame_stack: int = 1
    """consecutive environment observations the model sees at once, stacked on the channel axis"""
    pool: int = 1
    """cnn-*: average-pool the frame by this factor before the convolutions (they then cost a pool² part)"""
    layer_norm: bool = False
    """cnn-lstm: layer-normalise the LSTM's gates and cell"""
    input_norm: bool = False
    """cnn-*: standardise each observation's channels over its own pixels before the convolutions (a faint picture
    then reaches them with the contrast of a bright one). mlp: map each feature from its bounds
    (``observation_low``/``observation_high``) to [-1, 1], so a feature that spans ±0.07 (MountainCar's velocity)
    moves the first layer as much as one that spans ±1"""
    observation_low: tuple[float, ...] | None = None
    """mlp with input_norm: the observation space's lower bound of each feature (-inf where it has none: that
    feature passes unchanged)"""
    observation_high: tuple[float, ...] | None = None
    """mlp with input_norm: the upper bound of each feature (inf where it has none)"""
    frame_differences: bool = False
    """cnn-*: show stacked frames as the newest frame and the differences between consecutive ones (what moved)"""
    head: str = "actor-critic"
    """actor-critic (a policy and a value), q (action values: DQN) or dueling-q (action values as a state value plus
    advantages) or deterministic (DDPG: an action μ(s) and a critic Q(s, a))"""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SpecError(f"kind: unknown model kind {self.kind!r}; choose {', '.join(KINDS)}")
        if self.head not in HEADS:
            raise SpecError(f"head: unknown head {self.head!r}; choose {', '.join(HEADS)}")
        if self.head != "actor-critic":
            # Q-networks over vectors or frames (no recurrent one: that is R2D2's replay of sequences, not DQN's)
            wanted = "continuous" if self.head == "deterministic" else "discrete"
            given = "discrete" if self.n_actions is not None else "continuous"
            kinds = ("mlp",) if self.head == "deterministic" else ("mlp", "cnn-mlp")
            if self.kind not in kinds or given != wanted:
                raise SpecError(f"head: the {self.head} networks are {' or '.join(kinds)} over {wanted} actions, not "
                                f"{self.kind} with {given} actions")  # fmt: skip
        shape = self.observation_shape
        if not shape or any(not _is_int(d) or d < 1 for d in shape):
            raise SpecError(f"observation_shape: expected positive integers, got {shape!r}")
        for name in ("hidden", "layers", "filters", "frame_stack", "pool"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise SpecError(f"{name}: expected a positive integer, got {value!r}")
        if not isinstance(self.layer_norm, bool):
            raise SpecError(f"layer_norm: expected true or false, got {self.layer_norm!r}")
        if self.layer_norm and self.kind != "cnn-lstm":
            raise SpecError(f"layer_norm: only the cnn-lstm core has one, not {self.kind}")
        for name in ("input_norm", "frame_differences"):
            if not isinstance(getattr(self, name), bool):
                raise SpecError(f"{name}: expected true or false, got {getattr(self, name)!r}")
        if self.pool > 1 and self.kind == "mlp":
            raise SpecError("pool: only the CNNs pool their frames")
        if self.kind == "mlp" and self.frame_differences:
            raise SpecError("frame_differences: only the CNNs take frames")
        self._check_observation_bounds()
        if self.frame_differences and self.frame_stack < 2:
            raise SpecError("frame_differences: needs a frame_stack of 2 or more")
        discrete = self.n_actions is not None
        if discrete == (self.action_low is not None or self.action_high is not None):
            raise SpecError("actions: give n_actions (discrete) or action_low and action_high (continuous)")
        n = self.n_actions
        if n is not None and (not _is_int(n) or n < 1):
            raise SpecError(f"n_actions: expected a positive integer, got {n!r}")
        if not discrete:
            low, high = self.action_low or (), self.action_high or ()
            finite = all(isinstance(v, float) and math.isfinite(v) for v in (*low, *high))
            if not low or len(low) != len(high) or not finite or any(a > b for a, b in zip(low, high, strict=True)):
                raise SpecError(f"action_low/action_high: expected finite bounds of one length, got {low!r}, {high!r}")
        if self.kind == "mlp" and len(shape) != 1:
            raise UnsupportedSpaceError(f"the MLP needs vector observations, got shape {shape}")
        if self.kind != "mlp":
            if len(shape) != 3:
                raise UnsupportedSpaceError(f"the CNN needs (height, width, channels) images, got {shape}")
            if not discrete:
                raise UnsupportedSpaceError("the CNN actor-critic needs Discrete actions, got continuous ones")
            if shape[2] % self.frame_stack:
                raise SpecError(f"frame_stack: {self.frame_stack} does not divide the {shape[2]} channels")

    def _check_observation_bounds(self) -> None:
        """An MLP that scales its input has one pair of bounds per feature; no other network has any."""
        low, high = self.observation_low, self.observation_high
        if not (self.kind == "mlp" and self.input_norm):
            if low is not None or high is not None:
                raise SpecError("observation_low/observation_high: only an mlp with input_norm scales by them")
            return
        if self.head != "actor-critic":
            raise SpecError(f"input_norm: the mlp scales its input in the actor-critic, not the {self.head} network")
        n = self.observation_shape[0]
        if low is None or high is None or len(low) != n or len(high) != n:
            raise SpecError(f"observation_low/observation_high: an mlp with input_norm needs {n} bounds each, got "
                            f"{low!r}, {high!r}")  # fmt: skip
        if any(math.isnan(v) for v in (*low, *high)) or any(a > b for a, b in zip(low, high, strict=True)):
            raise SpecError(f"observation_low/observation_high: expected low ≤ high, got {low!r}, {high!r}")

    @property
    def discrete(self) -> bool:
        return self.n_actions is not None

    @property
    def recurrent(self) -> bool:
        return self.kind == "cnn-lstm"

    @property
    def q_values(self) -> bool:
        """whether the network outputs action values (a Q-network) rather than a policy"""
        return self.head in ("q", "dueling-q")

    def observation_space(self) -> gym.spaces.Box:
        """The observations the model takes (bounds aside, which the models do not use)."""
        return gym.spaces.Box(-np.inf, np.inf, self.observation_shape, np.float32)

    def action_space(self) -> gym.spaces.Discrete | gym.spaces.Box:
        if self.n_actions is not None:
            return gym.spaces.Discrete(self.n_actions)
        low = np.asarray(self.action_low, np.float32)
        return gym.spaces.Box(low, np.asarray(self.action_high, np.float32), dtype=np.float32)

    def mismatch(self, observation_space: gym.Space, action_space: gym.Space) -> str | None:
        """Why an environment with these spaces cannot be driven by this model (None when it can)."""
        shape = getattr(observation_space, "shape", None)
        if shape != self.observation_shape:
            return f"the model takes observations of shape {self.observation_shape}, the environment gives {shape}"
        if self.n_actions is not None:
            if not isinstance(action_space, gym.spaces.Discrete) or int(action_space.n) != self.n_actions:
                return f"the model chooses among {self.n_actions} actions, the environment takes {action_space}"
        elif not isinstance(action_space, gym.spaces.Box) or action_space.shape != (len(self.action_low or ()),):
            return (
                f"the model gives {len(self.action_low or ())} continuous actions, the environment takes {action_space}"
            )
        return None

    # -- as data ------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"version": SPEC_VERSION, "kind": self.kind,
                                "observation_shape": list(self.observation_shape)}  # fmt: skip
        if self.n_actions is not None:
            data["n_actions"] = self.n_actions
        else:
            data["action_low"] = list(self.action_low or ())
            data["action_high"] = list(self.action_high or ())
        data |= {"hidden": self.hidden, "layers": self.layers, "filters": self.filters,
                 "frame_stack": self.frame_stack, "pool": self.pool, "layer_norm": self.layer_norm,
                 "input_norm": self.input_norm, "frame_differences": self.frame_differences}  # fmt: skip
        if self.head != "actor-critic":  # an actor-critic's spec stays as it was, readable by every earlier version
            data["head"] = self.head
        if self.observation_low is not None:  # likewise: only a network that scales by them has bounds
            data["observation_low"] = list(self.observation_low)
            data["observation_high"] = list(self.observation_high or ())
        return data

    @classmethod
    def from_dict(cls, data: Any) -> ModelSpec:
        """A spec from stored data; anything but the fields above, of their types, is a SpecError."""
        if not isinstance(data, dict):
            raise SpecError(f"expected a table, got {type(data).__name__}")
        version = data.get("version")
        if version != SPEC_VERSION:
            raise SpecError(f"version: this pixelpilot reads model specs of version {SPEC_VERSION}, not {version!r}")
        known = {"version", "kind", "observation_shape", "n_actions", "action_low", "action_high", "hidden",
                 "layers", "filters", "frame_stack", "pool", "layer_norm", "input_norm",
                 "frame_differences", "head", "observation_low", "observation_high"}  # fmt: skip
        unknown = sorted(str(k) for k in set(data) - known)
        if unknown:
            raise SpecError(f"{unknown[0]}: unknown field")
        kind = data.get("kind")
        if not isinstance(kind, str):
            raise SpecError(f"kind: expected a name, got {kind!r}")
        values: dict[str, Any] = {
            "kind": kind,
            "observation_shape": _ints("observation_shape", data.get("observation_shape")),
        }
        if "n_actions" in data:
            values["n_actions"] = data["n_actions"]
        for name in ("action_low", "action_high", "observation_low", "observation_high"):
            if name in data:
                values[name] = _floats(name, data[name])
        for name in (
            "hidden",
            "layers",
            "filters",
            "frame_stack",
            "pool",
            "layer_norm",
            "input_norm",
            "frame_differences",
            "head",
        ):
            if name in data:
                values[name] = data[name]
        return cls(**values)


def spec_for(
    observation_space: gym.Space,
    action_space: gym.Space,
    kind: str = "auto",
    hidden: int | None = None,
    frame_stack: int = 1,
    pool: int = 1,
    layer_norm: bool = False,
    input_norm: bool = False,
    frame_differences: bool = False,
    head: str = "actor-critic",
) -> ModelSpec:
    """The spec of the actor-critic for these spaces. ``kind``: auto (mlp for vectors, cnn-lstm for images), mlp,
    cnn-lstm or cnn-mlp; ``hidden`` defaults to 64 for the MLP and 256 for the CNN core; ``pool``, ``layer_norm``,
    ``input_norm`` and ``frame_differences``: see :class:`ModelSpec` (an mlp with ``input_norm`` takes its
    bounds from ``observation_space``)."""
    if not isinstance(observation_space, gym.spaces.Box):
        raise UnsupportedSpaceError(f"observations must be a Box (a vector or an image), got {observation_space}")
    shape = tuple(int(d) for d in observation_space.shape)
    if kind == "auto":
        kind = "mlp" if len(shape) == 1 else "cnn-lstm"
    if kind not in KINDS:
        raise SpecError(f"unknown model kind {kind!r}; choose auto, {', '.join(KINDS)}")
    actions: dict[str, Any]
    if isinstance(action_space, gym.spaces.Discrete):
        actions = {"n_actions": int(action_space.n)}
    elif isinstance(action_space, gym.spaces.Box) and len(action_space.shape) == 1:
        low, high = action_space.low, action_space.high
        if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
            raise UnsupportedSpaceError(f"continuous actions need finite bounds, got {action_space}")
        actions = {"action_low": tuple(float(v) for v in low), "action_high": tuple(float(v) for v in high)}
    else:
        raise UnsupportedSpaceError(f"the actor-critics handle Discrete or 1-D Box actions, not {action_space}")
    if kind != "mlp" and "n_actions" not in actions:
        raise UnsupportedSpaceError(f"the CNN actor-critic needs Discrete actions, got {action_space}")
    scaled = kind == "mlp" and input_norm  # an MLP scales each feature by the space's bounds
    observation_low = tuple(float(v) for v in observation_space.low.reshape(-1)) if scaled else None
    observation_high = tuple(float(v) for v in observation_space.high.reshape(-1)) if scaled else None
    layers = 2 if kind == "mlp" else 4
    default_hidden = 64 if kind == "mlp" else 256
    return ModelSpec(kind, shape, hidden=hidden or default_hidden, layers=layers, frame_stack=frame_stack,  # type: ignore[arg-type]
                     pool=pool, layer_norm=layer_norm, input_norm=input_norm, frame_differences=frame_differences,
                     head=head, observation_low=observation_low, observation_high=observation_high,
                     **actions)  # fmt: skip


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _ints(name: str, value: Any) -> tuple[int, ...]:
    if not isinstance(value, list | tuple) or not all(_is_int(v) for v in value):
        raise SpecError(f"{name}: expected a list of integers, got {value!r}")
    return tuple(value)


def _floats(name: str, value: Any) -> tuple[float, ...]:
    if not isinstance(value, list | tuple) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        raise SpecError(f"{name}: expected a list of numbers, got {value!r}")
    return tuple(float(v) for v in value)
