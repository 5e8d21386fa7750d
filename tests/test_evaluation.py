"""``pixelpilot evaluate`` in-process: laps, lap times, scores and latency from a NeonRace checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.distributions import Categorical, Independent, Normal

from agent.a3c.args import Args
from agent.a3c.trainer import train
from agent.config import ConfigError
from agent.envs.laps import lap_completion, laps_done, last_lap_time
from agent.policy.evaluation import evaluate, report
from control.actions import ACTION_NAMES
from models.actor_critic import sampled_action
from tests.test_cli import run


def test_laps_come_from_the_info_or_the_telemetry():
    racing = {"lap": 2, "finished": False, "last_lap_time": 21.5}
    assert laps_done(racing) == 1 and last_lap_time(racing) == 21.5
    assert laps_done({"telemetry": {"lap": 1, "finished": True, "last_lap_time": 30.0}}) == 1
    assert laps_done({"lap": 1, "finished": False}) == 0 and last_lap_time({"lap": 1}) is None
    assert lap_completion([racing, {"lap": 1}, racing, {"lap": 1, "finished": True}]) == 0.75
    assert lap_completion([{"x": 1.0}]) is None  # CartPole & co. report no laps


@pytest.mark.slow
def test_evaluation_reports_returns_laps_and_latency(tmp_path):
    args = Args(env_id="pixelpilot/NeonRace-v0", env_kwargs={"difficulty_name": "easy"}, workers=1, total_steps=40,
                eval_every=0, runs_dir=str(tmp_path), run_name="pilot", progress=False)  # fmt: skip
    result = train(args)
    evaluation = evaluate(result.run_dir, episodes=3, env_kwargs={"max_episode_steps": 30})  # easy, from training
    assert len(evaluation.episodes) == 3 and all(e.steps == 30 for e in evaluation.episodes)
    assert evaluation.lap_completion == 0.0 and evaluation.lap_times == []  # 2 seconds are not a lap
    assert len(evaluation.scores) == 3 and evaluation.batch == 3
    assert evaluation.timing["decide_ms"]["n"] == 30  # one batched decision per step
    assert all(e.actions is not None and e.actions.sum() == 30 for e in evaluation.episodes)
    shares = evaluation.action_shares
    assert shares is not None and len(shares) == 7 and shares.sum() == pytest.approx(1.0)
    text = report(evaluation)
    top = ACTION_NAMES[int(shares.argmax())]
    assert f"actions: {top} {shares.max():.0%}" in text  # the most taken first: one action at 100% = a blind policy
    assert "3 episodes on pixelpilot/NeonRace-v0 (difficulty_name=easy, max_episode_steps=30)" in text
    assert "lap completed in 0/3 episodes (0%)" in text and "decision (batch 3) p50" in text
    cli = run("evaluate", "--checkpoint", str(result.run_dir), "--episodes", "2", "--env-kwarg", "max_episode_steps=20")
    assert cli.returncode == 0, cli.stderr
    assert "2 episodes on pixelpilot/NeonRace-v0 (difficulty_name=easy, max_episode_steps=20)" in cli.stdout
    assert "lap completed in 0/2" in cli.stdout


def cartpole_run(tmp_path):
    """A barely trained CartPole run: a policy with no preferred action yet."""
    return train(Args(env_id="CartPole-v1", workers=1, total_steps=50, eval_every=0, runs_dir=str(tmp_path),
                      run_name="cartpole", progress=False))  # fmt: skip


@pytest.mark.slow
def test_a_profile_and_an_env_do_not_go_together(tmp_path):
    result = cartpole_run(tmp_path)
    bad = run("evaluate", "--checkpoint", str(result.run_dir), "--profile", "neonrace", "--env", "CartPole-v1")
    assert bad.returncode == 1 and "leave out --env" in bad.stderr
    text = report(evaluate(result.run_dir, episodes=2))
    assert "lap" not in text and "actions: " in text and ("actions: 0 " in text or "actions: 1 " in text)


@pytest.mark.slow
def test_sampled_evaluation_draws_from_the_policy_and_repeats_with_its_seed(tmp_path):
    result = cartpole_run(tmp_path)
    torch.manual_seed(0)
    first = evaluate(result.run_dir, episodes=4, seed=7, sample=True)
    again = evaluate(result.run_dir, episodes=4, seed=7, sample=True)  # the global generator has moved on meanwhile
    assert first.returns == again.returns and first.sampled
    greedy = evaluate(result.run_dir, episodes=4, seed=7)
    assert first.returns != greedy.returns and not greedy.sampled  # the same episodes, other actions
    cli = run("evaluate", "--checkpoint", str(result.run_dir), "--episodes", "2", "--sample")
    assert cli.returncode == 0, cli.stderr
    assert "2 episodes on CartPole-v1, sampled actions: return" in cli.stdout


def test_sampled_action_draws_from_categorical_and_gaussian_policies():
    generator = torch.Generator().manual_seed(3)
    categorical = Categorical(probs=torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]))
    assert sampled_action(categorical, generator).tolist() == [1, 0]
    gaussian = Independent(Normal(torch.zeros(5000, 2), torch.full((5000, 2), 2.0)), 1)
    draws = sampled_action(gaussian, generator)
    assert draws.shape == (5000, 2) and draws.std().item() == pytest.approx(2.0, rel=0.05)
    with pytest.raises(TypeError, match="Normal"):
        sampled_action(Normal(torch.zeros(1), torch.ones(1)), generator)


@pytest.mark.slow
def test_an_exported_policy_drives_like_its_checkpoint_and_cannot_be_resumed(tmp_path):
    result = train(Args(env_id="pixelpilot/NeonRace-v0", workers=1, total_steps=40, eval_every=0,
                        runs_dir=str(tmp_path), run_name="pilot", progress=False))  # fmt: skip
    out = tmp_path / "pilot.pt"
    cli = run("export", "--checkpoint", str(result.run_dir), "--out", str(out))
    assert cli.returncode == 0 and "MB)" in cli.stdout, cli.stderr
    assert out.stat().st_size < 0.4 * (result.run_dir / "checkpoints" / "latest.pt").stat().st_size
    kwargs = {"max_episode_steps": 40}
    original, exported = (evaluate(path, episodes=2, env_kwargs=kwargs) for path in (result.run_dir, out))
    assert exported.returns == original.returns  # float16 weights, same driving on these episodes
    with pytest.raises(ConfigError, match="an exported policy cannot be resumed; use --init-from"):
        train(Args(), resume=out)
    tuned = train(Args(env_id="pixelpilot/NeonRace-v0", workers=1, total_steps=20, eval_every=0, init_from=str(out),
                       runs_dir=str(tmp_path), run_name="tuned", progress=False))  # fmt: skip
    assert tuned.steps >= 20


def test_a_runs_options_parse_back_into_its_configuration():
    """The model card's command is built by ``to_arguments``; the train parser must read it back unchanged."""
    import argparse

    from agent import config

    args = Args(env_id="pixelpilot/NeonRace-v0", env_kwargs={"laps": 3, "max_episode_steps": 1000}, lr=5e-4,
                    normalize_advantages=True, progress=False, hidden=128, run_name="pilot")  # fmt: skip
    options = config.to_arguments(args)
    assert "--normalize-advantages" in options and "--no-progress" in options and "--workers" not in options
    parser = argparse.ArgumentParser()
    config.add_arguments(parser, Args)
    assert config.from_arguments(Args, parser.parse_args(options)) == args


def test_the_watch_warns_once_of_one_action_taking_over_and_of_laps_lost():
    from agent.policy.evaluation import EvalPoint
    from agent.policy.watch import EvalWatch

    watch = EvalWatch(["left", "right", "up+x"])
    point = lambda steps, shares, laps: EvalPoint(steps, 0.0, 0.0, 0.0, laps, None, shares)  # noqa: E731
    assert watch.see(point(1000, (0.1, 0.1, 0.8), 0.5)) == []
    assert watch.see(point(2000, (0.02, 0.03, 0.95), 0.95)) == []  # one evaluation above 90% is no pattern yet
    (blind,) = watch.see(point(3000, (0.0, 0.01, 0.99), 0.95))
    assert blind.startswith("up+x took 99% of the evaluation's choices at 2,000 and 3,000 steps")
    assert watch.see(point(4000, (0.0, 0.0, 1.0), 0.96)) == []  # said once
    # laps a blind policy finished were never learned: losing them while learning to steer is no warning
    assert watch.see(point(5000, (0.3, 0.3, 0.4), 0.6)) == []
    assert watch.see(point(6000, (0.3, 0.2, 0.5), 0.96)) == []
    (fell,) = watch.see(point(7000, (0.3, 0.3, 0.4), 0.6))
    assert fell == (
        "lap completion fell to 60% at 7,000 steps, after 96% at 6,000: the policy unlearned what it could do"
    )
    assert watch.see(point(8000, (0.3, 0.3, 0.4), 0.5)) == []


def test_explained_variance_against_hand_computed_values():
    import math

    from agent.learning.rollout import explained_variance

    targets = np.array([1.0, 2.0, 3.0, 4.0])  # variance 1.25
    assert explained_variance(targets, targets) == 1.0
    assert explained_variance(np.full(4, 2.5), targets) == 0.0  # the mean predicts nothing more
    assert explained_variance(np.array([1.5, 2.5, 2.5, 3.5]), targets) == pytest.approx(1 - 0.25 / 1.25)
    assert math.isnan(explained_variance(np.zeros(3), np.ones(3)))
