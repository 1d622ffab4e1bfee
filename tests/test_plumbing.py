"""Plumbing the learning tests cannot see (found by a mutation audit: each test failed with a single-line bug that
the rest of the suite let through): override parsing, metrics JSON, resume rules, the train and expert summaries,
the quality report's arithmetic and the report header."""

import json
import os
import sys
from types import SimpleNamespace

import jax
import numpy as np
import pytest

from jaxirl import io
from jaxirl.cli import main

ROOT = os.path.join(os.path.dirname(os.path.abspath(__import__("jaxirl").__file__)), "..")
CONFIGS = os.path.join(ROOT, "configs")
TINY_ENV = ["env.num_envs=4", "env.episode_length=10"]
TINY_PPO = ["ppo.num_steps=10", "ppo.num_minibatches=2", "ppo.update_epochs=1", "ppo.hidden=[16]"]
TINY_TRAIN = [*TINY_ENV, *TINY_PPO, "eval.num_envs=4", "discriminator.hidden=[16]",
              "discriminator.potential_hidden=[16]", "discriminator.expert_batch_size=16",
              "discriminator.policy_batch_size=16", "discriminator.replay_rollouts=2", "run.progress=false"]


def _benchmark(name):
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import importlib
    return importlib.import_module(name)


# ------------------------------------------------------------------ config / io (cheap)

def test_an_override_value_may_contain_an_equals_sign():
    """``key=value`` splits at the FIRST '=': the value keeps any further ones (a prefix, a path)."""
    from jaxirl.config import load_config, parse_overrides

    assert parse_overrides(["run.prefix=a=b", "x=1"]) == {"run": {"prefix": "a=b"}, "x": 1}
    cfg = load_config(None, ["run.root=/tmp/k=v/runs"], {"run": {"root": "runs"}})
    assert cfg["run"]["root"] == "/tmp/k=v/runs"


def test_metrics_json_keeps_infinities_as_large_numbers_and_nan_as_null(tmp_path):
    """Strict JSON: NaN is written as null, ±inf as ±1e308 (a diverged loss stays visible as huge, not missing)."""
    path = str(tmp_path / "m.jsonl")
    with io.MetricsWriter(path) as log:
        log.write({"iteration": 1, "up": float("inf"), "down": np.float32(-np.inf), "nan": np.nan})
    (rec,) = io.read_metrics(path)
    assert rec == {"iteration": 1, "up": 1e308, "down": -1e308, "nan": None}
    assert io.to_python({"a": [np.inf, 1.5]}) == {"a": [1e308, 1.5]}


def _fake_run(path, cfg):
    os.makedirs(path)
    io.write_config(path, cfg)
    io.save_checkpoint(path, 2, {"x": np.zeros(2, np.float32)})
    return path


@pytest.mark.parametrize("override", ["run.seed=1", "run.devices=2", "run.root=elsewhere", "train.eval_steps=100",
                                      "eval.env_kwargs={dt: 0.2}"])
def test_train_resume_refuses_changed_run_settings(tmp_path, override):
    """`jaxirl train` resume: of the run, train and eval settings only what logs or evaluates may change (a changed
    seed or device count breaks the bit-identical continuation; the evaluation window and env the score's
    normaliser was measured with)."""
    import jaxirl.jobs.train as train_job
    from jaxirl.config import load_config

    d = train_job.defaults()
    run = _fake_run(str(tmp_path / "run"), load_config(None, [], d))
    ok = load_config(None, ["run.progress=false", "run.keep_checkpoints=5", "train.num_iterations=900", "run.chunk=5",
                            "imports=[json]",
                            "train.eval_every=3", "eval.num_envs=7", "eval.num_steps=200", "eval.seed=4"], d)
    io.check_resume(run, ok, d, train_job._RESUMABLE)
    key = override.split("=")[0]
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        io.check_resume(run, load_config(None, [override], d), d, train_job._RESUMABLE)


@pytest.mark.parametrize("job", ["train", "expert"])
def test_a_resume_may_name_the_imports_anew(job, tmp_path):
    """The modules that register a run's env may have moved: a resume may change `imports` (the names they register
    must still be found); only the missing checkpoint of this stand-in folder is refused."""
    import importlib

    mod = importlib.import_module(f"jaxirl.jobs.{job}")
    run = str(tmp_path / "run")
    os.makedirs(run)
    io.write_config(run, {**mod.defaults(), "imports": ["json"]})
    with pytest.raises(ValueError) as info:
        mod.main(os.path.join(run, "config.yaml"), [f"resume={run}", "imports=[string]"])
    assert "configuration differs" not in str(info.value) and "has no complete checkpoint" in str(info.value)


# ------------------------------------------------------------------ benchmark report arithmetic (cheap)

def test_quality_time_to_09_is_the_first_chunk_whose_seed_mean_reaches_it():
    """'to 0.9' reads the SEED-MEAN curve: one seed at 0.95 while the other is at 0.5 is not yet 0.9."""
    quality = _benchmark("quality")
    config = SimpleNamespace(generator=SimpleNamespace(num_steps=10))
    env, trainer = SimpleNamespace(num_envs=4), SimpleNamespace(expert_return=1.0)

    def rec(det, s, it):
        return {"det": np.array(det), "stoch": np.array(det), "train_s": s, "eval_s": 0.1, "iters": it, "diag": {}}

    run = [rec([0.95, 0.5], 1.0, 2), rec([0.95, 0.9], 2.0, 4), rec([0.2, 0.99], 3.0, 6)]
    row = quality._timed_row("e", "gail", config, env, trainer, 1.0, [run], False)
    assert row["to_0.9_s"] == 2.0
    assert row["worst_det"] == pytest.approx(0.2) and row["final_det"] == pytest.approx(0.595)
    never = [rec([0.95, 0.5], 1.0, 2)]
    assert quality._timed_row("e", "gail", config, env, trainer, 1.0, [never], False)["to_0.9_s"] is None


def test_report_header_quotes_the_command_line():
    """The report's command line is shell-quoted: it pastes into a shell as is."""
    report = _benchmark("report")
    lines = report.header("T", "quality.py", ["--envs", "pointmass", "train.sweep={discount: [0.9, 0.99]}"])
    assert "- command: `python benchmarks/quality.py --envs pointmass 'train.sweep={discount: [0.9, 0.99]}'`" in lines


# ------------------------------------------------------------------ CLI runs (tiny)

@pytest.fixture(scope="module")
def random_demos(tmp_path_factory):
    """Pointmass demonstrations of a uniformly random policy, episode length 10 (the tiny env's)."""
    from jaxirl.data import collect_demos, env_metadata, save_demos
    from jaxirl.envs import make

    env = make("pointmass", 2, episode_length=10)
    act = lambda obs, key: jax.random.uniform(key, obs.shape[:-1] + (env.action_size,), minval=-1.0, maxval=1.0)  # noqa
    tr, ret = collect_demos(env, act, jax.random.PRNGKey(0), 4)
    path = str(tmp_path_factory.mktemp("demos") / "random.npz")
    save_demos(path, tr, ret, {**env_metadata(env), "env_kwargs": {}})
    return path


def _train(demos, root, *extra):
    return main(["train", os.path.join(CONFIGS, "gail_pointmass.yaml"), *TINY_TRAIN, f"demos.path={demos}",
                 f"run.root={root}", *extra])


def test_train_summary_evaluates_a_last_iteration_the_scan_did_not(random_demos, tmp_path):
    """3 iterations with eval_every=2: the in-scan evaluation is of iteration 2, so the summary's final evaluation is
    a fresh one of the final policy (eval_iteration 3), scored under the run's normaliser."""
    assert _train(random_demos, tmp_path, "train.num_iterations=3", "train.eval_every=2", "run.chunk=3") == 0
    (run,) = [os.path.join(tmp_path, d) for d in os.listdir(tmp_path)]
    records = io.read_metrics(os.path.join(run, "metrics.jsonl"))
    assert [r["eval_iteration"] for r in records] == [-1, 2, 2]
    summary = io.read_json(os.path.join(run, "summary.json"))
    assert summary["iterations"] == 3 and summary["eval_iteration"] == 3
    assert summary["return_det"] != records[-1]["return_det"]  # not the stale in-scan evaluation of iteration 2
    assert summary["score_det"] == pytest.approx((summary["return_det"] - summary["random_return"])
                                                 / (summary["expert_return"] - summary["random_return"]), rel=1e-4)


def test_train_resume_drops_metrics_written_after_the_checkpoint(random_demos, tmp_path):
    """A run killed between writing a chunk's metrics and its checkpoint left lines past the checkpoint: the resumed
    run drops them before appending, so metrics.jsonl holds each iteration once."""
    assert _train(random_demos, tmp_path, "train.num_iterations=2", "train.eval_every=2", "run.chunk=2") == 0
    (run,) = [os.path.join(tmp_path, d) for d in os.listdir(tmp_path)]
    with open(os.path.join(run, "metrics.jsonl"), "a") as f:  # the lost chunk's lines
        for i in (3, 4):
            f.write(json.dumps({"iteration": i, "stale": True}) + "\n")
    assert main(["train", os.path.join(run, "config.yaml"), "train.num_iterations=4", f"resume={run}"]) == 0
    records = io.read_metrics(os.path.join(run, "metrics.jsonl"))
    assert [r["iteration"] for r in records] == [1, 2, 3, 4]
    assert not any("stale" in r for r in records)


def test_expert_final_train_return_is_the_kept_lanes(tmp_path, capsys):
    """Two lanes: summary.final_train_return is the kept (best) lane's last training return, not lane 0's."""
    argv = ["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), *TINY_ENV, *TINY_PPO,
            "train.num_updates=4", "train.log_every=2", "train.num_seeds=2", "train.sweep={discount: [0.9, 0.99]}",
            "demos.num_episodes=2", "demos.num_envs=2", "eval.num_envs=2", "run.progress=false",
            f"run.root={tmp_path}", "train.seed=0"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    summary = json.loads(out[out.index("{"):])
    (run,) = [os.path.join(tmp_path, d) for d in os.listdir(tmp_path)]
    last = io.read_metrics(os.path.join(run, "metrics.jsonl"))[-1]["episode_return_per_seed"]
    assert last[0] != last[1]
    assert summary["best_seed"] == 1  # (so lane 0's value would differ: the test can tell them apart)
    assert summary["final_train_return"] == pytest.approx(last[summary["best_seed"]], rel=1e-6)


def test_check_folder_accepts_several_levels_of_new_folders_and_refuses_one_under_a_file(tmp_path):
    """check_folder walks up to the nearest EXISTING ancestor: a run root two or more levels below it is fine; one
    below a file is refused whatever the depth."""
    from jaxirl.config import check_folder

    deep = str(tmp_path / "new" / "deeper" / "runs")
    assert check_folder("run.root", deep) == deep
    (tmp_path / "afile").write_text("x")
    for bad in (tmp_path / "afile" / "runs", tmp_path / "afile" / "a" / "b"):
        with pytest.raises(ValueError, match="run.root: .*afile' is a file"):
            check_folder("run.root", str(bad))


def test_quality_whole_run_time_to_09_counts_the_iteration_that_reached_it(tmp_path, monkeypatch):
    """quality.run_one: a score >= 0.9 at the first iteration's evaluation is reached after one iteration's share of
    the run's seconds (init call + run_s / iterations), not at the init call's end. (The demonstrations record a
    normaliser that puts every return far above 0.9.) The script's clock is a stand-in whose intervals grow (the
    k-th reading is k²), so the whole run is timed longer than its init call: real timings of these tiny programs
    can put the init call above the whole run (seen with jax 0.5.3 beside another test worker)."""
    import itertools

    from jaxirl.data import collect_demos, env_metadata, save_demos
    from jaxirl.envs import make

    quality = _benchmark("quality")
    readings = itertools.count()
    monkeypatch.setattr(quality, "time", SimpleNamespace(perf_counter=lambda: float(next(readings)) ** 2))
    env = make("pointmass", 2, episode_length=10)
    act = lambda obs, key: jax.random.uniform(key, obs.shape[:-1] + (env.action_size,), minval=-1.0, maxval=1.0)  # noqa
    tr, ret = collect_demos(env, act, jax.random.PRNGKey(0), 4)
    path = str(tmp_path / "d.npz")
    save_demos(path, tr, ret, {**env_metadata(env), "env_kwargs": {}, "random_return": -1e6, "expert_return": -1e6 + 1})
    row = quality.run_one("pointmass", "gail", 1, [
        "env.num_envs=4", "env.episode_length=10", "ppo.num_steps=10", "ppo.num_minibatches=2", "ppo.update_epochs=1",
        "ppo.hidden=[16]", "discriminator.hidden=[16]", "discriminator.num_steps=1", "discriminator.expert_batch_size=16",
        "discriminator.policy_batch_size=16", "train.num_iterations=2", "train.eval_every=1", "eval.num_envs=4",
        f"demos.path={path}"])
    assert row["final_det"] > 0.9
    run_s = row["train_s"] - row["init_s"]
    assert run_s > 0
    assert row["to_0.9_s"] == pytest.approx(row["init_s"] + run_s / 2)


# --- from a mutation audit: pruning keeps the newest checkpoints; writes are atomic ----------------------------------

def test_prune_keeps_the_newest_complete_checkpoints(tmp_path):
    run = str(tmp_path / "run")
    for it in (2, 4, 6, 8):
        io.save_checkpoint(run, it, {"x": np.zeros(2, np.float32)})
    io.prune_checkpoints(run, 2)
    assert sorted(os.listdir(os.path.join(run, "checkpoints"))) == [
        "checkpoint-6.json", "checkpoint-6.msgpack", "checkpoint-8.json", "checkpoint-8.msgpack"]
    io.prune_checkpoints(run, 1)
    assert io.latest_checkpoint(run)[0] == 8
    assert sorted(os.listdir(os.path.join(run, "checkpoints"))) == ["checkpoint-8.json", "checkpoint-8.msgpack"]


def test_a_failed_write_leaves_the_old_file_whole_and_no_temporary(tmp_path, monkeypatch):
    path = str(tmp_path / "summary.json")
    io.write_json(path, {"a": 1})

    def fail(fd):
        raise OSError("disk full")

    monkeypatch.setattr(io.os, "fsync", fail)
    with pytest.raises(OSError, match="disk full"):
        io.write_json(path, {"a": 2, "b": list(range(100))})
    monkeypatch.undo()
    assert io.read_json(path) == {"a": 1}
    assert os.listdir(tmp_path) == ["summary.json"]


def test_write_config_writes_resume_as_null(tmp_path):
    io.write_config(str(tmp_path), {"resume": str(tmp_path / "old"), "run": {"seed": 3}})
    assert io.read_config(str(tmp_path)) == {"resume": None, "run": {"seed": 3}}


# --- from a third mutation audit -------------------------------------------------------------------------------------

# M1 (progress.py): ETA = remaining steps / measured rate; the rate counts from the first report, not from start_at
def test_progress_bar_rate_and_eta_from_a_fake_clock(monkeypatch):
    import io as pyio

    from jaxirl import progress

    clock = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    bar = progress.ProgressBar(100, stream=pyio.StringIO())
    bar.start_at(10)             # resumed: 10 steps already done, they do not count for the rate
    bar.update(20)               # first report (after compiling): the rate is measured from here
    clock[0] = 110.0
    bar.update(40)               # 20 steps in 10 s: 2 it/s, 60 steps left: 30 s
    assert bar.rate() == pytest.approx(2.0)
    line = bar.line()
    assert "40/100" in line and " 2.00 it/s" in line and "ETA 00:30" in line, line
    clock[0] = 112.0
    bar.update(100)              # done: ETA 0
    assert "ETA 00:00" in bar.line()
    assert progress.format_duration(3725) == "1:02:05" and progress.format_duration(65) == "01:05"
    assert progress.format_duration(float("inf")) == "?" and progress.format_duration(-1) == "?"


# M16 (jobs/train.py): resuming a run whose checkpoint is AT train.num_iterations is allowed (it re-reports the finished
# run); only a checkpoint beyond it is refused. make_env, the first step after the check, is stubbed out.
def test_train_resume_at_exactly_num_iterations_passes_the_check(tmp_path, monkeypatch):
    import os

    from jaxirl.config import load_config
    from jaxirl.jobs import train as train_job

    run = str(tmp_path / "run")
    os.makedirs(run)
    cfg = load_config(None, ["train.num_iterations=4", f"run.root={tmp_path}"], train_job.defaults())
    io.write_config(run, cfg)
    io.save_checkpoint(run, 4, {"x": np.zeros(2, np.float32)})

    class PastTheCheck(Exception):
        pass

    def stop(*a, **k):
        raise PastTheCheck

    monkeypatch.setattr(train_job, "make_env", stop)
    with pytest.raises(PastTheCheck):
        train_job.main(None, ["train.num_iterations=4", f"run.root={tmp_path}", f"resume={run}"])
    with pytest.raises(ValueError, match="checkpoint is at iteration 4, beyond train.num_iterations=3"):
        train_job.main(None, ["train.num_iterations=3", f"run.root={tmp_path}", f"resume={run}"])
