"""The GPU expert script runs end to end (tiny pointmass settings), so a GPU session can rely on it."""

import os
import sys

import pytest

from jaxirl.data import load_demos

ROOT = os.path.join(os.path.dirname(__file__), "..")


def test_experts_script_trains_records_and_reports(tmp_path):
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    try:
        import experts
    finally:
        sys.path.pop(0)
    report = tmp_path / "experts.md"
    experts.main(["--envs", "pointmass", "--out", str(tmp_path / "demos"), "--runs", str(tmp_path / "runs"),
                  "--output", str(report), "env.num_envs=4", "env.episode_length=10", "ppo.num_steps=10",
                  "ppo.num_minibatches=2", "ppo.update_epochs=1", "ppo.hidden=[16]", "train.num_updates=2",
                  "train.log_every=1", "demos.num_episodes=2", "demos.num_envs=2", "eval.num_envs=2"])
    _, meta = load_demos(str(tmp_path / "demos" / "pointmass.npz"))
    text = report.read_text()
    row = [line for line in text.splitlines() if line.startswith("| pointmass |")]
    assert len(row) == 1 and f"{meta['expert_return']:.0f} ±" in row[0]
    assert "- pointmass (training episode return" in text


def test_quality_script_time_limited_chunks_wait_and_report(tmp_path):
    """``quality.py --time-limit``: vmapped seeds trained chunk by chunk, stopped by the wall-clock budget,
    waiting for ``--wait-for`` first, with the learning curve in the report."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    try:
        import quality
    finally:
        sys.path.pop(0)
    barrier = tmp_path / "go"
    barrier.write_text("")
    report = tmp_path / "quality.md"
    quality.main(["--envs", "pointmass", "--algorithms", "gail", "--seeds", "2", "--time-limit", "1e-6",
                  "--chunk", "2", "--wait-for", str(barrier), "--output", str(report),
                  "env.num_envs=4", "ppo.num_steps=10", "ppo.num_minibatches=2", "ppo.update_epochs=1",
                  "ppo.hidden=[16]", "discriminator.hidden=[16]", "discriminator.num_steps=1",
                  "discriminator.expert_batch_size=16", "discriminator.policy_batch_size=16",
                  "train.num_iterations=10", "train.eval_every=2", "eval.num_envs=4"])
    text = report.read_text()
    row = [line.split("|") for line in text.splitlines() if line.startswith("| pointmass | gail |")]
    assert len(row) == 1
    cells = [c.strip() for c in row[0]]
    assert cells[3] == "2" and cells[4] == "2"  # 2 seeds; stopped after the first chunk of 2 iterations
    assert cells[5] == f"{2 * 10 * 4:,}"  # env steps = iterations x T x num_envs
    assert -10.0 < float(cells[6]) < 10.0  # a real (finite) score from the in-scan evaluation
    assert "- pointmass gail: " in text and " s/2: " in text
    # bad arguments: clear errors before anything compiles
    for bad in (["--time-limit", "-1"], ["--chunk", "-2", "--time-limit", "1"], ["--chunk", "2"]):
        with pytest.raises(SystemExit):
            quality.main(["--envs", "pointmass", "--output", str(tmp_path / "bad.md")] + bad)
    quality.main(["--envs", "pointmass", "--algorithms", "gail", "--time-limit", "1", "--chunk", "3",
                  "--output", str(tmp_path / "skip.md"), "train.num_iterations=10"])
    assert "skipped: --chunk: expected a positive divisor of train.num_iterations (10), got 3" in \
        (tmp_path / "skip.md").read_text()
