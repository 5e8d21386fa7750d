"""DQN, the algorithm top to bottom: act ε-greedily → remember → every few steps, learn from remembered minibatches
→ now and then, move the target network toward the online one.

The online network's ``Q(s, a)`` is regressed (Huber loss) on ``y = r + γ Q_target(s', a')`` (:func:`td_targets`),
with no value after a termination; a truncation (a time limit) bootstraps, since the task went on. Plain DQN takes
``a' = argmax Q_target(s', ·)``; with ``double`` the online network picks ``a'`` and the target network values it,
which removes most of the max's overestimation. ``dueling`` gives the network a state-value and an advantage head
(:mod:`models.qnet`); ``prioritized`` draws minibatches by TD error and weights their losses
(:mod:`agent.learning.replay`). ε falls linearly from ``start_e`` to ``end_e`` over ``exploration_fraction`` of the run.
As CleanRL's ``dqn.py``, which this follows; the run around it (evaluations, checkpoints, logs, stopping) is every
in-process learner's (:func:`~agent.learning.in_process.train_in_process`).

Frames (a CNN Q-network on NeonRace) are remembered as uint8 grey levels, a quarter of float32's memory. With
``demos`` (DQfD): the run may first pretrain on the demonstrations alone; then every minibatch is partly
demonstrated steps (``demo_share``), which also pay a large-margin loss on their actions
(:mod:`agent.dqn.demonstrations`). DQfD's n-step returns and L2 penalty are not here: its ablations credit the
margin loss and the demonstrations kept in the replay with most of its lead.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from agent.dqn.args import DQNArgs
from agent.dqn.demonstrations import load_demonstrations, margin_loss
from agent.learning.args import schedule
from agent.learning.in_process import Iterate, Iteration, train_in_process
from agent.learning.progress import TrainControl
from agent.learning.record import TrainResult
from agent.learning.replay import Minibatch, ReplayBuffer, joined, step_and_remember
from agent.learning.targets import frozen_copy, soft_update
from agent.policy.checkpoint import Checkpoint
from models.actor_critic import ActorCriticModule
from models.qnet import QNetwork

PRETRAIN_CHUNK = 100
"""pretraining updates per iteration: between two looks at the stop request, the logs and the progress"""


# -- acting ---------------------------------------------------------------------------------------------------------
def epsilon(args: DQNArgs, steps: int) -> float:
    """The chance of a random action after ``steps`` environment steps."""
    return schedule(args.start_e, args.end_e, steps, max(1, round(args.exploration_fraction * args.total_steps)))


def choose(q: torch.Tensor, eps: float, rng: np.random.Generator) -> np.ndarray:
    """ε-greedy actions for a batch of action values (B, actions)."""
    greedy = q.argmax(dim=-1).numpy()
    explore = rng.uniform(size=len(greedy)) < eps
    return np.where(explore, rng.integers(q.shape[-1], size=len(greedy)), greedy)


# -- the targets and the loss -----------------------------------------------------------------------------------
def td_targets(online: QNetwork, target: QNetwork, batch: Minibatch, gamma: float, double: bool) -> torch.Tensor:
    """``r + γ (1 - terminated) Q_target(s', a')``: ``a'`` the target network's best action, or with ``double`` the
    online network's."""
    next_obs = torch.as_tensor(batch.next_observations)
    with torch.no_grad():
        following = target.q(next_obs)
        if double:
            chosen = online.q(next_obs).argmax(dim=-1, keepdim=True)
            next_values = following.gather(1, chosen).squeeze(1)
        else:
            next_values = following.max(dim=-1).values
    not_ended = 1.0 - torch.as_tensor(batch.terminated)
    return torch.as_tensor(batch.rewards) + gamma * not_ended * next_values


def loss(
    online: QNetwork, target: QNetwork, batch: Minibatch, args: DQNArgs, demo_rows: int = 0
) -> tuple[torch.Tensor, np.ndarray, dict[str, float]]:
    """The weighted Huber loss of a minibatch, its TD errors (new priorities) and readings: the loss (the network is
    a critic: ``value_loss``, as the actor-critics call theirs) and the mean
    action value of the actions taken (``q_mean``: how high the estimates run, the overestimation Double DQN
    curbs). The run also logs ``q_max``, the mean max_a Q(s, a) of the states it acts in (the seed documents'
    "Q eval").

    The minibatch's last ``demo_rows`` rows are demonstrated steps (DQfD): the margin loss on their actions is added
    (:func:`~agent.dqn.demonstrations.margin_loss`, weighted by ``demo_coef``), read as ``demo_margin_loss``, with
    ``demo_agreement``, the share of them whose greedy action is the demonstrated one."""
    y = td_targets(online, target, batch, args.gamma, args.double)
    q_all = online.q(torch.as_tensor(batch.observations))
    actions = torch.as_tensor(batch.actions)
    q = q_all.gather(1, actions[:, None]).squeeze(1)
    per_sample = nn.functional.smooth_l1_loss(q, y, reduction="none")
    total = (torch.as_tensor(batch.weights) * per_sample).mean()
    readings = {"value_loss": total.item(), "q_mean": q.mean().item()}
    if demo_rows:
        shown_q, shown = q_all[-demo_rows:], actions[-demo_rows:]
        margin = margin_loss(shown_q, shown, args.demo_margin)
        total = total + args.demo_coef * margin
        agreement = (shown_q.argmax(dim=1) == shown).float().mean()
        readings |= {"demo_margin_loss": margin.item(), "demo_agreement": agreement.item()}
    errors = (y - q).detach().numpy()
    return total, errors, readings


def mean_readings(learned: list[dict[str, float]]) -> dict[str, float]:
    """Each reading's mean over a round of updates."""
    return {name: float(np.mean([r[name] for r in learned])) for name in learned[0]}


# -- the run --------------------------------------------------------------------------------------------------
def train(
    args: DQNArgs, resume: str | Path | Checkpoint | None = None, control: TrainControl | None = None
) -> TrainResult:
    """Train with DQN (or continue the run of a checkpoint/run folder; its replay memory starts empty again, and
    fills for ``learning_starts`` steps before updates resume); returns the evaluation curve."""
    rounds = max(1, args.train_frequency // args.num_envs)  # vector steps per iteration

    def make_iterate(
        model: ActorCriticModule, optimizer: torch.optim.Optimizer, envs: gym.vector.VectorEnv, seed: int
    ) -> Iterate:
        assert isinstance(model, QNetwork)
        online = model
        target = frozen_copy(online)
        rng = np.random.default_rng(seed)
        space = envs.single_observation_space
        assert isinstance(space, gym.spaces.Box)
        frames = len(space.shape) == 3 and float(space.low.min()) >= 0.0 and float(space.high.max()) <= 1.0
        memory = ReplayBuffer(args.buffer_size, online.spec.observation_shape, rng, args.prioritized, args.per_alpha,
                              args.per_eps, compact=frames)  # fmt: skip
        demos = None
        if args.demos:
            assert online.spec.n_actions is not None
            demos = load_demonstrations(args.demos, online.spec.n_actions, online.spec.observation_shape,
                                        args.frame_stack)  # fmt: skip
        demo_rows = round(args.demo_share * args.batch_size) if demos is not None else 0
        pretraining_left = args.demo_pretrain_steps
        # the target network follows as often per update in pretraining as it will in the run
        target_every = max(1, round(args.target_network_frequency * args.gradient_steps / args.train_frequency))
        obs, _ = envs.reset(seed=seed)
        since_target = 0
        started_at: int | None = None

        def update(batch: Minibatch, demo_rows: int) -> dict[str, float]:
            total, errors, parts = loss(online, target, batch, args, demo_rows)
            optimizer.zero_grad()
            total.backward()
            grad_norm = float(nn.utils.clip_grad_norm_(list(online.parameters()), args.max_grad_norm))
            optimizer.step()
            own = len(batch.indices) - demo_rows
            memory.update_priorities(batch.indices[:own], errors[:own])
            return parts | {"grad_norm": grad_norm}

        def pretrain() -> Iteration:
            """A stretch of updates on the demonstrations alone (no environment step)."""
            nonlocal pretraining_left
            assert demos is not None
            learned = []
            for _ in range(min(PRETRAIN_CHUNK, pretraining_left)):
                learned.append(update(demos.sample(args.batch_size, rng), args.batch_size))
                pretraining_left -= 1
                if (args.demo_pretrain_steps - pretraining_left) % target_every == 0:
                    soft_update(target, online, args.tau)
            return Iteration(0, mean_readings(learned))

        def iterate(steps: int) -> Iteration:
            nonlocal obs, since_target, started_at
            if pretraining_left and steps == 0:  # a resumed run has pretrained already
                return pretrain()
            started_at = steps if started_at is None else started_at
            counts = np.zeros(online.spec.n_actions or 0, dtype=np.int64)
            episodes = []
            acting_values = []
            for _ in range(rounds):
                current = np.array(obs, dtype=np.float32)  # a copy: the vector env reuses its buffer
                with torch.no_grad():
                    q = online.q(torch.as_tensor(current))
                acting_values.append(q.max(dim=-1).values.mean().item())
                actions = choose(q, epsilon(args, steps), rng)
                obs, ended = step_and_remember(envs, current, actions, memory)
                episodes += ended
                counts += np.bincount(actions, minlength=len(counts))
                steps += args.num_envs
                since_target += args.num_envs
            readings = {"epsilon": epsilon(args, steps), "q_max": float(np.mean(acting_values))}
            if steps - started_at >= args.learning_starts and len(memory) >= args.batch_size:
                beta = schedule(args.per_beta, 1.0, steps, args.total_steps)
                learned = []
                for _ in range(args.gradient_steps):
                    batch = memory.sample(args.batch_size - demo_rows, beta)
                    if demos is not None:
                        batch = joined(batch, demos.sample(demo_rows, rng))
                    learned.append(update(batch, demo_rows))
                readings |= mean_readings(learned)
            if since_target >= args.target_network_frequency:
                soft_update(target, online, args.tau)
                since_target = 0
            return Iteration(rounds * args.num_envs, readings, tuple(int(c) for c in counts), episodes=episodes)

        return iterate

    head = "dueling-q" if args.dueling else "q"
    return train_in_process(args, args.num_envs, lambda m: torch.optim.Adam(m.parameters(), lr=args.lr),
                            make_iterate, resume, control, head=head)  # fmt: skip
