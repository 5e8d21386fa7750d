"""The NeonRace learning benchmark's bookkeeping: each learner's runs go to a section of docs/benchmarks.md of their
own, so a sitting that trains one learner leaves the others' tables as they were."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from benchmarks import neonrace_learning
from benchmarks.neonrace_learning import END, RECIPES, START, Run, algo_of, collapse_measure, markers


def test_each_learner_writes_its_own_section_and_a3c_keeps_its_markers():
    learners = {algo_of(recipe) for recipe in RECIPES}
    assert learners == {"a3c", "ppo", "dqn"}  # DQfD is DQN with demonstrations: the same section
    sections = {learner: markers(learner) for learner in learners}
    assert sections["a3c"] == (START, END)
    assert len(set(sections.values())) == 3
    assert all(start.endswith(":start -->") and end.endswith(":end -->") for start, end in sections.values())


def test_one_sitting_trains_one_learner(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["neonrace_learning.py", "--recipes", "recipe", "PPO", "--no-write"])
    with pytest.raises(SystemExit) as stopped:
        neonrace_learning.main()  # refused before anything trains
    assert stopped.value.code == 2
    assert "one learner per sitting" in capsys.readouterr().err


def run_logging(**columns: float) -> Run:
    return Run("r", 1, Path("r"), evaluations=[], training=[{"steps": 1.0, **columns}], held_out=None, learner="L")


def test_the_curves_show_entropy_where_the_learner_has_a_policy_and_the_top_action_share_where_it_has_none():
    nan = float("nan")
    assert collapse_measure([run_logging(entropy=1.2, top_action_share=0.4)])[0] == "entropy"
    assert collapse_measure([run_logging(entropy=nan, top_action_share=0.4)])[0] == "top_action_share"
