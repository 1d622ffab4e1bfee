"""The GPU expert script runs end to end (tiny pointmass settings), so a GPU session can rely on it."""

import os
import sys

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
