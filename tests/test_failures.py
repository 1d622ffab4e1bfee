"""When things go wrong the user loses nothing and is told where things stand: divergence, interrupts, a result
that cannot be written, out of memory, a corrupt checkpoint, a stream that goes away (pointmass, tiny settings)."""

import io as _io
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxirl import io
from jaxirl.cli import main

ROOT = os.path.join(os.path.dirname(__file__), "..")
CONFIGS = os.path.join(ROOT, "configs")
TINY = ["env.num_envs=4", "env.episode_length=10", "ppo.num_steps=10", "ppo.num_minibatches=2", "ppo.update_epochs=1",
        "ppo.hidden=[16]", "run.progress=false"]
EXPERT = [os.path.join(CONFIGS, "expert_pointmass.yaml"), *TINY, "train.num_updates=4", "train.log_every=2",
          "demos.num_episodes=2", "demos.num_envs=2", "eval.num_envs=4"]
TRAIN = [os.path.join(CONFIGS, "airl_pointmass.yaml"), *TINY, "eval.num_envs=4", "discriminator.hidden=[16]",
         "discriminator.potential_hidden=[16]", "discriminator.expert_batch_size=16",
         "discriminator.policy_batch_size=16", "discriminator.replay_rollouts=1", "train.eval_every=2",
         "train.num_iterations=4", "run.chunk=2"]


def run_cli(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def only_run(root) -> str:
    (run,) = [os.path.join(root, d) for d in os.listdir(root)]
    return run


@pytest.fixture(scope="module")
def expert_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("expert")
    assert main(["expert", *EXPERT, f"run.root={root}"]) == 0
    return only_run(root)


def test_a_diverged_expert_keeps_its_last_finite_policy_and_the_run_finishes_from_it(tmp_path, monkeypatch, capsys):
    """Every lane NaN after the second chunk: status 3; policy.msgpack is the first chunk's kept (finite) policy,
    and the command the message gives finishes the run from it (evaluation, demonstrations) without training."""
    from jaxirl.jobs import expert as expert_job

    real = expert_job.make_chunk

    def make_chunk(config, env, progress_fn=None, reward_fn=None):
        chunk = real(config, env, progress_fn, reward_fn)

        def poisoned(carry, keys):
            (state, env_state), metrics = chunk(carry, keys)
            bad = state.step > 2
            state = jax.tree.map(lambda x: jnp.where(bad, x * jnp.nan, x) if jnp.issubdtype(x.dtype, jnp.floating)
                                 else x, state)
            return (state, env_state), metrics

        return poisoned

    monkeypatch.setattr(expert_job, "make_chunk", make_chunk)
    code, out, err = run_cli(capsys, ["expert", *EXPERT, f"run.root={tmp_path}"])
    run = only_run(tmp_path)
    assert code == 3 and out == "" and "in the PPO state after update 4" in err, err
    command = f"`jaxirl expert {os.path.join(run, 'config.yaml')} resume={run} train.num_updates=2`"
    assert command in err and "checkpoint of update 2" in err, err
    assert os.path.isfile(os.path.join(run, "policy.msgpack")) and not os.path.exists(os.path.join(run, "summary.json"))
    code, out, err = run_cli(capsys, ["eval", run])  # the kept policy evaluates; no score without a summary, said
    assert code == 0 and "score_deterministic" not in json.loads(out) and "has no summary.json" in err, err
    monkeypatch.setattr(expert_job, "make_chunk", real)
    code, out, err = run_cli(capsys, ["expert", os.path.join(run, "config.yaml"), f"resume={run}",
                                      "train.num_updates=2"])
    assert code == 0, err
    summary = json.loads(out[out.index("{"):])
    assert summary["updates"] == 2 and np.isfinite(summary["return_deterministic"])
    assert os.path.isfile(os.path.join(run, "demos.npz"))


def test_an_interrupt_names_the_run_folder_and_whether_it_can_resume(expert_run, tmp_path, monkeypatch, capsys):
    """Ctrl-C in the first chunk: no checkpoint yet, so no resume is promised; in the second: the folder and the
    iteration it continues from, with the exact command."""
    import jaxirl.train as train_lib

    real = train_lib.make_train
    calls = {"n": 0, "interrupt_at": 1}

    def make_train(*args, **kwargs):
        trainer = real(*args, **kwargs)
        run = trainer.run

        def interrupted(state, n):
            calls["n"] += 1
            if calls["n"] == calls["interrupt_at"]:
                raise KeyboardInterrupt
            return run(state, n)

        trainer.run = interrupted
        return trainer

    monkeypatch.setattr(train_lib, "make_train", make_train)
    demos = f"demos.path={os.path.join(expert_run, 'demos.npz')}"
    code, _, err = run_cli(capsys, ["train", *TRAIN, demos, f"run.root={tmp_path / 'a'}"])
    run = only_run(tmp_path / "a")
    assert code == 130 and f"{run} has no checkpoint yet: there is nothing to resume" in err, err
    calls.update(n=0, interrupt_at=2)
    code, _, err = run_cli(capsys, ["train", *TRAIN, demos, f"run.root={tmp_path / 'b'}"])
    run = only_run(tmp_path / "b")
    assert code == 130, err
    assert (f"{run} continues from its checkpoint of iteration 2 with `jaxirl train "
            f"{os.path.join(run, 'config.yaml')} resume={run}`") in err, err
    # SIGTERM (a cluster's preemption) ends it the same way, and the handler is the previous one afterwards
    import signal

    before = signal.getsignal(signal.SIGTERM)
    calls.update(n=0, interrupt_at=-1)
    real_run = train_lib.Trainer.run

    def terminated(self, state, n):  # (called inside make_train's wrapper above, which counts the calls)
        if calls["n"] == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return real_run(self, state, n)

    monkeypatch.setattr(train_lib.Trainer, "run", terminated)
    code, _, err = run_cli(capsys, ["train", *TRAIN, demos, f"run.root={tmp_path / 'c'}"])
    run = only_run(tmp_path / "c")
    assert code == 130 and f"{run} continues from its checkpoint of iteration 2" in err, err
    assert signal.getsignal(signal.SIGTERM) is before


def test_eval_prints_its_result_when_eval_json_cannot_be_written(expert_run, tmp_path, capsys):
    import shutil

    run = str(tmp_path / "run")
    shutil.copytree(expert_run, run)
    if os.path.exists(os.path.join(run, "eval.json")):
        os.remove(os.path.join(run, "eval.json"))
    os.mkdir(os.path.join(run, "eval.json"))  # any write failure (a read-only or full folder; root ignores chmod)
    code, out, err = run_cli(capsys, ["eval", run])
    assert code == 0 and "return_deterministic" in json.loads(out)
    assert "jaxirl eval: note: eval.json was not written" in err


def test_out_of_memory_is_one_line_naming_the_sizes(expert_run, monkeypatch, capsys):
    from jaxirl.jobs import evaluate as evaluate_job

    def oom(*args, **kwargs):
        raise jax.errors.JaxRuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 166806252816 bytes.\nmore")

    monkeypatch.setattr(evaluate_job, "evaluate_policy", oom)
    code, _, err = run_cli(capsys, ["eval", expert_run])
    assert code == 2 and "Traceback" not in err
    assert ("jaxirl eval: error: out of memory (RESOURCE_EXHAUSTED: Out of memory allocating 166806252816 bytes.); "
            "lower eval.num_envs") in err, err


def test_out_of_memory_in_a_run_says_what_a_new_run_or_a_resume_can_lower(expert_run, tmp_path, monkeypatch,
                                                                          capsys):
    import jaxirl.train as train_lib

    real = train_lib.make_train

    def make_train(*args, **kwargs):
        trainer = real(*args, **kwargs)
        run, calls = trainer.run, []

        def oom_second(state, n):
            calls.append(n)
            if len(calls) == 2:
                raise jax.errors.JaxRuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate 9 GiB.")
            return run(state, n)

        trainer.run = oom_second
        return trainer

    monkeypatch.setattr(train_lib, "make_train", make_train)
    code, _, err = run_cli(capsys, ["train", *TRAIN, f"demos.path={os.path.join(expert_run, 'demos.npz')}",
                                    f"run.root={tmp_path}"])
    run = only_run(tmp_path)
    assert code == 2 and "Traceback" not in err
    assert "out of memory (RESOURCE_EXHAUSTED: Out of memory while trying to allocate 9 GiB.); lower env.num_envs" in err
    assert (f"a resume with a smaller eval.num_envs finishes it: {run} continues from its checkpoint of iteration 2 "
            f"with `jaxirl train {os.path.join(run, 'config.yaml')} resume={run}`") in err, err


def test_a_corrupt_newest_checkpoint_names_the_older_complete_one(expert_run, tmp_path, capsys):
    demos = f"demos.path={os.path.join(expert_run, 'demos.npz')}"
    assert main(["train", *TRAIN, demos, f"run.root={tmp_path}"]) == 0
    run = only_run(tmp_path)
    with open(os.path.join(run, "checkpoints", "checkpoint-4.msgpack"), "r+b") as f:
        f.truncate(100)
    capsys.readouterr()
    code, _, err = run_cli(capsys, ["train", os.path.join(run, "config.yaml"), f"resume={run}",
                                    "train.num_iterations=6"])
    assert code == 2 and "cannot be read: truncated or corrupt" in err
    assert ("the older checkpoint checkpoint-2.msgpack (iteration 2) is complete: move checkpoint-4.msgpack and "
            "checkpoint-4.json out of") in err, err
    # a resume whose demonstrations are gone is told to put them back (new ones would have another SHA-256)
    path = os.path.join(expert_run, "demos.npz")
    os.rename(path, path + ".away")
    try:
        code, _, err = run_cli(capsys, ["train", os.path.join(run, "config.yaml"), f"resume={run}"])
    finally:
        os.rename(path + ".away", path)
    assert code == 2 and "put that file back" in err and "trains a PPO expert" not in err, err


class _DeadStream(_io.StringIO):
    def isatty(self):
        return True

    def write(self, s):
        raise BrokenPipeError(32, "Broken pipe")


def test_a_progress_stream_that_goes_away_does_not_end_the_run(expert_run, tmp_path, monkeypatch):
    """stderr gone (`jaxirl train ... 2>&1 | head`, a lost ssh session): the bar stops drawing; the run goes on,
    also when the bar is driven from inside the scan (where an exception would end the program)."""
    from jaxirl.progress import ProgressBar

    bar = ProgressBar(10, desc="x", stream=_DeadStream())
    bar.update(5, 0.5)
    bar.callback(jnp.asarray(10), {})
    bar.close()
    monkeypatch.setattr("sys.stderr", _DeadStream())
    code = main(["train", *TRAIN, "run.progress=true", f"demos.path={os.path.join(expert_run, 'demos.npz')}",
                 f"run.root={tmp_path}"])
    assert code == 0 and os.path.isfile(os.path.join(only_run(tmp_path), "summary.json"))


def test_tabular_divergence_and_overflow_are_reported(tmp_path, capsys):
    tabular = ["tabular", os.path.join(CONFIGS, "maxent_gridworld.yaml"), "env.size=5", "irl.num_steps=20",
               "irl.log_every=5", "expert.num_demos=20"]
    code, out, err = run_cli(capsys, [*tabular, "irl.optimizer=sgd", "irl.learning_rate=1e30",
                                      f"run.root={tmp_path / 'a'}"])
    assert code == 3 and out == "" and "MaxEnt IRL diverged: the learned reward is not finite" in err, err
    run = only_run(tmp_path / "a")
    assert not os.path.exists(os.path.join(run, "reward.npy"))  # nothing saved from the diverged reward
    records = io.read_metrics(os.path.join(run, "metrics.jsonl"))
    first_bad = next(r for r in records if any(r[k] is None or abs(r[k]) >= 1e300 for k in ("loss", "evd",
                                                                                              "correlation")))
    assert f"at iteration {first_bad['iteration']}." in err, (err, records[:3])  # the logged iteration, not a row
    code, _, err = run_cli(capsys, [*tabular, "expert.reward_scale=1e38", f"run.root={tmp_path / 'b'}"])
    assert code == 2 and "expert.reward_scale: the expert's soft value iteration overflowed" in err, err
    assert not os.path.exists(tmp_path / "b")  # refused before a run folder is made


def test_small_failures(tmp_path, monkeypatch):
    """A run prefix too long for a folder name is refused up front; a demonstrations file is written atomically
    (an interrupt while it is written leaves neither a half file nor a temporary one)."""
    with pytest.raises(ValueError, match="run.prefix: expected a name of at most 200 bytes"):
        io.check_prefix("run.prefix", "x" * 201)
    from jaxirl import data

    src, meta = data.load_demos(os.path.join(ROOT, "demos", "pointmass.npz"))
    path = str(tmp_path / "d.npz")
    real = os.replace

    def interrupted(a, b):
        assert os.path.getsize(a) > 1000 and not os.path.exists(b)  # the whole file, under its temporary name
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        data.save_demos(path, src, meta["episode_returns"], meta)
    assert os.listdir(tmp_path) == []
    monkeypatch.setattr(os, "replace", real)
    data.save_demos(path, src, meta["episode_returns"], meta)
    assert os.listdir(tmp_path) == ["d.npz"] and data.load_demos(path)[1]["num_episodes"] == meta["num_episodes"]


# ---- the messages' facts and the small branches (unit tests; from a mutation audit of this code) ----------------

def _fake_checkpoints(run_dir, complete=(), incomplete=()):
    """checkpoint-N.msgpack (+ .json for the complete ones) with placeholder bytes: enough for latest_checkpoint."""
    folder = os.path.join(run_dir, "checkpoints")
    os.makedirs(folder, exist_ok=True)
    for n in (*complete, *incomplete):
        with open(os.path.join(folder, f"checkpoint-{n}.msgpack"), "wb") as f:
            f.write(b"x")
    for n in complete:
        io.write_json(os.path.join(folder, f"checkpoint-{n}.json"), {"iteration": n})


def test_hints_name_the_unit_the_sizes_and_only_a_resume_that_helps(tmp_path):
    from jaxirl.cli import _memory_hint, _resume_hint

    run = str(tmp_path / "run")
    _fake_checkpoints(run, complete=(2,))
    assert f"{run} continues from its checkpoint of update 2 with `jaxirl expert " in _resume_hint("expert", run)
    assert "checkpoint of iteration 2 with `jaxirl train " in _resume_hint("train", run)
    assert _memory_hint("bc", run) == "lower bc.batch_size or eval.num_envs"          # nothing a resume can lower
    assert _memory_hint("tabular", run) == "lower env.size or expert.num_demos"
    assert "a resume with a smaller eval.num_envs or demos.num_envs finishes it" in _memory_hint("expert", run)


def test_the_cli_recognises_any_out_of_memory_and_survives_a_closed_stdout(monkeypatch, capsys):
    import sys

    from jaxirl.jobs import evaluate

    def oom(run_dir, overrides=()):
        raise RuntimeError("INTERNAL: Out of memory while trying to allocate 12 GiB\ndetails")

    monkeypatch.setattr(evaluate, "main", oom)
    code, _, err = run_cli(capsys, ["eval", "some_run"])
    assert code == 2 and "jaxirl eval: error: out of memory (INTERNAL: Out of memory while trying to allocate " \
                         "12 GiB)" in err, err

    class Gone:
        def write(self, s):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(evaluate, "main", lambda run_dir, overrides=(): {"return_deterministic": 1.0})
    monkeypatch.setattr(sys, "stdout", Gone())
    assert main(["eval", "some_run"]) == 0  # `jaxirl ... | head`: a finished job is not failed by its last print


def test_the_diverged_expert_message_names_the_kept_update_and_its_checkpoint(tmp_path):
    from jaxirl.jobs import expert

    run = str(tmp_path / "run")
    _fake_checkpoints(run, complete=(4,))
    metrics = {"episode_return": np.array([1.0, np.nan]), "entropy": np.array([0.5, 0.5])}
    msg = str(expert._diverged(run, 6, 2, 1, metrics, (1.0, 1, 3, None)))  # kept: lane 1, update 3
    assert "(of update 3:" in msg and "train.num_updates=4`" in msg, msg
    assert "the first non-finite metric: episode_return at update 6" in msg, msg


def test_finiteness_helpers_name_the_right_part_and_row():
    from types import SimpleNamespace

    from jaxirl.jobs import first_nonfinite, nonfinite_parts

    state = SimpleNamespace(generator={"w": np.ones(3, np.float32)}, reward={"w": np.array([1.0, np.inf])},
                            disc_opt_state=(np.int32(3),))
    assert nonfinite_parts(state, ("generator", "reward")) == ["reward"]
    assert nonfinite_parts(state, ("reward", "generator", "disc_opt_state")) == ["reward"]
    m = {"value_loss": np.array([1.0, np.nan]), "entropy": np.array([1.0, np.inf]), "x": np.array([np.nan, 1.0])}
    assert first_nonfinite(m, 5, skip=("x",)) == ("entropy", 6)  # a tie: the sorted-first key, for stable messages


def test_edges_of_plots_prefixes_checkpoints_and_the_progress_stream(tmp_path, capsys):
    records = [{"iteration": 1, "loss": 1.0}, {"iteration": 2, "loss": np.float32(2.0)},
               {"iteration": 3, "loss": 1e308}, {"iteration": 4, "loss": -1e308}]  # ±1e308: an infinity, as written
    path = str(tmp_path / "curve.png")
    assert io.plot_learning_curve(records, path, ["loss"]) == path and os.path.isfile(path)
    assert "not drawn" not in capsys.readouterr().err
    assert io.check_prefix("run.prefix", "x" * 200) == "x" * 200
    with pytest.raises(ValueError, match="at most 200 bytes"):
        io.check_prefix("run.prefix", "é" * 101)  # 202 bytes in 101 characters
    run = str(tmp_path / "run")
    tree = {"w": np.ones(3, np.float32)}
    for it in (2, 3, 4):
        io.save_checkpoint(run, it, tree)
    os.remove(os.path.join(run, "checkpoints", "checkpoint-3.json"))  # 3: incomplete (its .json never written)
    with open(os.path.join(run, "checkpoints", "checkpoint-4.msgpack"), "r+b") as f:
        f.truncate(1)  # 4, the newest: one byte, which decodes as a msgpack scalar
    with pytest.raises(ValueError) as info:
        io.load_checkpoint(run, tree)
    msg = str(info.value)
    assert "cannot be read: truncated or corrupt" in msg, msg
    assert "the older checkpoint checkpoint-2.msgpack (iteration 2) is complete" in msg, msg
    from jaxirl.progress import ProgressBar

    class ClosedTty(_io.StringIO):
        def isatty(self):
            return True

    for stream in (ClosedTty(), _io.StringIO()):
        stream.close()  # writing to it raises ValueError
        bar = ProgressBar(10, desc="x", stream=stream, min_interval=0.0)
        bar.update(5, 0.5)
        bar.update(10, 1.0)
        bar.close()
