"""The `jaxirl tabular` job end to end on a small gridworld: run folder, metrics, learning, errors."""

import json
import os

import numpy as np
import pytest

from jaxirl.cli import main as cli_main
from jaxirl.jobs.tabular import main

CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "maxent_gridworld.yaml")


def test_tabular_job_writes_run_folder_and_learns(tmp_path, capsys):
    assert cli_main(["tabular", CONFIG, "env.size=5", "env.horizon=12", "irl.num_steps=60", "irl.log_every=20",
                     f"run.root={tmp_path}"]) == 0
    out, err = capsys.readouterr()
    summary = json.loads(out)  # stdout is the JSON summary alone (the job's one-line report goes to stderr)
    assert "tabular MaxEnt IRL 5x5" in err
    run_dir = summary["run_dir"]
    for name in ("config.yaml", "metrics.jsonl", "figure.png", "summary.json"):
        assert os.path.getsize(os.path.join(run_dir, name)) > 0, name
    records = [json.loads(line) for line in open(os.path.join(run_dir, "metrics.jsonl"))]
    assert [r["iteration"] for r in records] == [20, 40, 60]
    assert {"loss", "evd", "correlation", "epic"} <= set(records[0])
    # The learned reward must be far better than knowing nothing (a zero reward), and correlated.
    assert summary["evd"] <= 0.2 * summary["evd_zero_reward"]
    assert summary["correlation"] > 0.8
    learned = np.load(os.path.join(run_dir, "reward.npy"))  # the learned reward itself, one value per cell
    assert learned.shape == (25,) and np.all(np.isfinite(learned)) and np.ptp(learned) > 0


def test_tabular_job_rejects_bad_config(tmp_path, capsys):
    with pytest.raises(ValueError, match="valid keys"):
        main(CONFIG, ["irl.no_such_key=1", f"run.root={tmp_path}"])
    assert cli_main(["tabular", CONFIG, "env.size=-3", f"run.root={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert "'env'" in err and "size" in err and "-3" in err
    assert not os.listdir(tmp_path)
