"""A3C's workers as Ray actors on a real cluster of two nodes on this machine (``ray.cluster_utils.Cluster``: a
head and a second node, each its own raylet with 2 CPUs): learning, screen training on both nodes, a worker and a
node that die mid-run, and nothing left behind on either node."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from agent.a3c.args import Args
from agent.a3c.trainer import resume_args, train
from agent.config import ConfigError
from agent.learning.progress import TrainControl
from agent.policy.checkpoint import load_checkpoint
from agent.policy.evaluation import evaluate
from tests.conftest import ROOT, RUN_MARK, marked_processes, wait_until
from tests.test_screen_training import short_neonrace

# A cluster and training runs. An actor takes 45 s to start beside two busy loops, and CartPole to 475 through two
# actors took over 300 s there: the tests wait on conditions and step counts, and the timeout only catches a hang.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

NODE = {"num_cpus": 2, "object_store_memory": 150 * 2**20}
"""each node's resources: 2 CPUs (a worker asks for 1) and a small object store (weights and gradients are 1 MB)"""
WHERE = re.compile(r"worker (\d) runs on \S+ \(node (\w+)\)")


@dataclass
class TwoNodes:
    cluster: object
    token: str
    """every process of the cluster, and so every actor, desktop and game it starts, carries it (RUN_MARK)"""

    @property
    def address(self) -> str:
        return str(self.cluster.address)  # type: ignore[attr-defined]

    def add_node(self) -> object:
        os.environ[RUN_MARK] = self.token
        try:
            node = self.cluster.add_node(**NODE)  # type: ignore[attr-defined]
            self.cluster.wait_for_nodes()  # type: ignore[attr-defined]
        finally:
            del os.environ[RUN_MARK]
        return node

    def left_behind(self) -> list[str]:
        """What the runs started that still runs: actors, desktops, window managers, games, guardians (the
        cluster's own processes aside)."""
        found = []
        for process in marked_processes(self.token):
            try:
                line = " ".join(process.cmdline())
            except psutil.NoSuchProcess:
                continue
            if any(mark in line for mark in ("ray::RayWorker", "Xvfb", "openbox", "agent.cli game", "guardian")):
                found.append(line)
        return found


@pytest.fixture(scope="module")
def nodes() -> Iterator[TwoNodes]:
    from ray.cluster_utils import Cluster

    token = uuid.uuid4().hex
    os.environ[RUN_MARK] = token
    try:
        cluster = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False})
    finally:
        del os.environ[RUN_MARK]
    two = TwoNodes(cluster, token)
    try:
        two.add_node()
        yield two
    finally:
        cluster.shutdown()
    wait_until(lambda: not marked_processes(token), timeout=60)  # no process of the cluster outlives it


def quick(tmp_path: Path, nodes: TwoNodes, name: str, **kwargs: object) -> Args:
    defaults = dict(env_id="CartPole-v1", workers=2, total_steps=2000, eval_every=0, run_name=name,
                    runs_dir=str(tmp_path), progress=False, ray=nodes.address)  # fmt: skip
    return Args(**{**defaults, **kwargs})  # type: ignore[arg-type]


def placements(text: str) -> dict[int, str]:
    """The node each worker ran on last, as the run's log said."""
    return {int(rank): node for rank, node in WHERE.findall(text)}


def test_cartpole_learns_through_worker_actors_on_two_nodes(tmp_path, nodes, caplog):
    with caplog.at_level(logging.INFO, logger="agent.a3c.cluster"):
        result = train(quick(tmp_path, nodes, "learn", total_steps=200_000, eval_every=10_000, target_return=475))
    assert result.solved is not None, [round(p.mean) for p in result.curve]
    assert evaluate(result.run_dir / "checkpoints" / "best.pt", episodes=20).mean >= 450
    where = placements(caplog.text)
    assert set(where) == {0, 1} and where[0] != where[1], caplog.text  # spread over both nodes
    wait_until(lambda: not nodes.left_behind())


def test_a_run_on_the_cluster_checkpoints_and_resumes_as_a_local_one(tmp_path, nodes):
    """The checkpoint is the driver's, as without Ray: resumed (on the cluster) it goes on from its steps."""
    first = train(quick(tmp_path, nodes, "resumed", total_steps=2_000))
    saved = load_checkpoint(first.run_dir / "checkpoints" / "latest.pt")
    assert saved.counters["steps"] >= 2_000 and saved.config is not None and saved.config["ray"] == nodes.address
    again = train(resume_args(saved, total_steps=4_000), resume=saved)
    assert again.run_dir == first.run_dir and again.steps >= 4_000
    wait_until(lambda: not nodes.left_behind())


def test_a_killed_worker_and_a_lost_node_are_replaced_and_the_run_goes_on(tmp_path, nodes, caplog):
    """SIGKILL of a worker actor's process, then the second node removed: each time the worker is started again on
    a node that is left and the run goes on with the global model it had. (The run in the main thread; the faults,
    and the stop once the run has gone on after each, from another: no step budget to race against.)"""
    control = TrainControl()
    failures: list[BaseException] = []

    def goes_on(steps: int) -> None:
        before = control.progress.steps
        wait_until(lambda: control.progress.steps >= before + steps, timeout=300)

    def inject() -> None:
        try:
            wait_until(lambda: control.progress.steps >= 2_000, timeout=300)
            victim = next(p for p in psutil.process_iter() if "ray::RayWorker" in " ".join(p.cmdline()))
            victim.kill()
            wait_until(lambda: len(WHERE.findall(caplog.text)) >= 3, timeout=300)  # its successor placed
            goes_on(2_000)
            second = next(n for n in nodes.cluster.list_all_nodes() if not n.head)  # type: ignore[attr-defined]
            nodes.cluster.remove_node(second)  # type: ignore[attr-defined]
            wait_until(lambda: len(WHERE.findall(caplog.text)) >= 4, timeout=300)  # the lost node's worker placed
            goes_on(2_000)
        except BaseException as exc:  # reported by the test below
            failures.append(exc)
        finally:
            control.stop()

    injector = threading.Thread(target=inject)
    with caplog.at_level(logging.INFO):
        injector.start()
        try:
            result = train(quick(tmp_path, nodes, "faults", total_steps=10_000_000, max_restarts=3), control=control)
        finally:
            injector.join()
            nodes.add_node()  # the cluster has two nodes again for the next tests
    assert not failures, failures
    assert result.interrupted and result.steps >= 6_000
    assert "crashed: the worker's actor died" in caplog.text
    assert caplog.text.count("; restarting it (") >= 2  # the killed actor, then the node's
    assert len(set(placements(caplog.text).values())) == 1, caplog.text  # both now on the node that is left


@pytest.mark.screen  # a virtual desktop and a game per worker
def test_screen_training_drives_a_game_on_each_node_and_sigterm_leaves_nothing(tmp_path, nodes):
    """``pixelpilot train --profile ... --ray ADDRESS``: 2 workers on the 2 nodes, each with its own virtual
    desktop and NeonRace window there; SIGTERM to the driver mid-run stops every actor, desktop and game."""
    profile = short_neonrace(tmp_path)
    # --verbose: the log says where each worker runs
    pixelpilot = [sys.executable, "-m", "agent.cli", "--verbose", "train", "--profile", str(profile), "--workers",
                  "2", "--eval-every", "0", "--runs-dir", str(tmp_path), "--no-progress",
                  "--ray", nodes.address]  # fmt: skip
    done = subprocess.run([*pixelpilot, "--total-steps", "150", "--run-name", "smoke"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    where = placements(done.stderr)
    assert set(where) == {0, 1} and where[0] != where[1], done.stderr
    wait_until(lambda: not nodes.left_behind(), timeout=60)

    running = subprocess.Popen([*pixelpilot, "--total-steps", "100000", "--run-name", "stopped"], cwd=ROOT,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert running.stderr is not None
    lines: list[str] = []
    while len(placements("".join(lines))) < 2:
        line = running.stderr.readline()
        assert line, "".join(lines)
        lines.append(line)
    wait_until(lambda: sum("Xvfb" in line for line in nodes.left_behind()) >= 2, timeout=60)  # both desktops up
    running.send_signal(signal.SIGTERM)
    assert running.wait(timeout=120) == 130  # interrupted, a checkpoint saved
    wait_until(lambda: not nodes.left_behind(), timeout=60)


def test_a_cluster_that_is_not_there_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"ray: cannot join the cluster at '127\.0\.0\.1:1': nothing answers there"):
        train(Args(env_id="CartPole-v1", total_steps=100, eval_every=0, runs_dir=str(tmp_path), progress=False,
                   ray="127.0.0.1:1"))  # fmt: skip
