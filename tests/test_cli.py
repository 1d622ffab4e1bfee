"""The `jaxirl` command on tiny settings: expert -> demonstrations -> eval, train with chunks, exact resume."""

import json
import os

import jax
import numpy as np
import pytest

from jaxirl import io
from jaxirl.cli import main
from jaxirl.data import load_demos

ROOT = os.path.join(os.path.dirname(__file__), "..")
CONFIGS = os.path.join(ROOT, "configs")

TINY_ENV = ["env.num_envs=4", "env.episode_length=10"]
TINY_PPO = ["ppo.num_steps=10", "ppo.num_minibatches=2", "ppo.update_epochs=1", "ppo.hidden=[16]"]


def run_cli(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def expert_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    argv = ["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), *TINY_ENV, *TINY_PPO,
            "train.num_updates=4", "train.log_every=2", "demos.num_episodes=3", "demos.num_envs=2",
            "eval.num_envs=4", f"run.root={root}"]
    code = main(argv)
    assert code == 0
    (run_dir,) = [os.path.join(root, d) for d in os.listdir(root)]
    return run_dir


def test_expert_writes_run_folder_and_demos(expert_run):
    for name in ("config.yaml", "metrics.jsonl", "learning_curve.png", "policy.msgpack", "summary.json", "demos.npz"):
        assert os.path.isfile(os.path.join(expert_run, name)), name
    records = io.read_metrics(os.path.join(expert_run, "metrics.jsonl"))
    assert [r["iteration"] for r in records] == [1, 2, 3, 4]       # 2 chunks of 2, one line per update
    assert all(np.isfinite(r["episode_return"]) for r in records)
    summary = io.read_json(os.path.join(expert_run, "summary.json"))
    demos, meta = load_demos(os.path.join(expert_run, "demos.npz"))
    assert demos.obs.shape == (30, 6) and meta["num_episodes"] == 3 and meta["episode_length"] == 10
    assert meta["expert_return"] == pytest.approx(summary["expert_return"])
    assert meta["expert_return"] == pytest.approx(float(np.mean(meta["episode_returns"])))
    assert meta["env"] == "pointmass" and meta["random_return"] == summary["random_return"]
    assert io.read_config(expert_run)["ppo"]["hidden"] == [16]


def test_eval_reproduces_and_reports(expert_run, capsys):
    code, out, _ = run_cli(capsys, ["eval", expert_run, "eval.seed=3"])
    assert code == 0
    result = json.loads(out)
    assert result["episodes"] == 4                                   # 4 envs x one episode length
    assert np.isfinite(result["return_deterministic"]) and np.isfinite(result["return_stochastic"])
    # deterministic evaluation with the same seed is reproducible, and matches eval.json
    code, out2, _ = run_cli(capsys, ["eval", expert_run, "eval.seed=3"])
    assert json.loads(out2)["return_deterministic"] == result["return_deterministic"]
    assert io.read_json(os.path.join(expert_run, "eval.json"))["return_deterministic"] == result["return_deterministic"]
    # with the run's own eval section, `jaxirl eval` reproduces the expert's summary (evaluated from eval.seed)
    code, out3, _ = run_cli(capsys, ["eval", expert_run])
    summary = io.read_json(os.path.join(expert_run, "summary.json"))
    for key in ("return_deterministic", "return_stochastic", "random_return", "episodes"):
        assert json.loads(out3)[key] == pytest.approx(summary[key], rel=1e-6), key
    assert load_demos(os.path.join(expert_run, "demos.npz"))[1]["eval_return_deterministic"] == \
        pytest.approx(summary["return_deterministic"], rel=1e-6)
    code, _, err = run_cli(capsys, ["eval", expert_run, "eval.num_steps=5"])
    assert code == 2 and "eval.num_steps: expected 0 (one episode length) or a window of at least" in err
    # eval.env_kwargs (listed by --help) works for an expert run too: the policy scored under other dynamics
    code, out4, _ = run_cli(capsys, ["eval", expert_run, "eval.env_kwargs={max_speed: 0.5}"])
    assert code == 0 and json.loads(out4)["return_deterministic"] != json.loads(out3)["return_deterministic"]


def test_expert_seeds_sweep_and_keep_best(capsys, tmp_path):
    """Two vmapped lanes with different discounts; the kept policy is the best chunk of the best lane."""
    argv = ["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), *TINY_ENV, *TINY_PPO,
            "train.num_updates=6", "train.log_every=2", "train.num_seeds=2", "train.sweep={discount: [0.9, 0.99]}",
            "train.keep_best=true", "demos.num_episodes=2", "demos.num_envs=2", "eval.num_envs=2",
            f"run.root={tmp_path}"]
    code, out, _ = run_cli(capsys, argv)
    assert code == 0
    summary = json.loads(out[out.index("{"):])
    (run_dir,) = [os.path.join(tmp_path, d) for d in os.listdir(tmp_path)]
    records = io.read_metrics(os.path.join(run_dir, "metrics.jsonl"))
    per_seed = np.array([r["episode_return_per_seed"] for r in records])        # (updates, lanes)
    assert per_seed.shape == (6, 2)
    np.testing.assert_allclose([r["episode_return"] for r in records], per_seed.mean(1), rtol=1e-5)
    chunk_means = per_seed.reshape(3, 2, 2).mean(1)                              # (chunks, lanes)
    chunk, lane = np.unravel_index(np.argmax(chunk_means), chunk_means.shape)
    assert (summary["best_seed"], summary["kept_update"], summary["updates"]) == (lane, 2 * (chunk + 1), 6)
    assert summary["sweep"] == {"discount": [0.9, 0.99][lane]}
    assert io.read_config(run_dir)["ppo"]["discount"] == [0.9, 0.99][lane]     # the kept lane's value
    _, meta = load_demos(os.path.join(run_dir, "demos.npz"))
    assert meta["ppo_updates"] == summary["kept_update"] and meta["ppo_updates_run"] == 6
    # lane 0 is the single run of the same seed with lane 0's value (its init and env keys differed before)
    single = [a for a in argv if not a.startswith(("train.num_seeds", "train.sweep", "run.root"))]
    code, _, _ = run_cli(capsys, single + ["ppo.discount=0.9", f"run.root={tmp_path / 'single'}"])
    assert code == 0
    (single_dir,) = [os.path.join(tmp_path, "single", d) for d in os.listdir(tmp_path / "single")]
    alone = [r["episode_return"] for r in io.read_metrics(os.path.join(single_dir, "metrics.jsonl"))]
    np.testing.assert_allclose(alone, per_seed[:, 0], rtol=1e-4)


def test_expert_resume_equals_uninterrupted_run(capsys, tmp_path):
    """`jaxirl expert RUN/config.yaml resume=RUN`: two vmapped lanes with keep_best, trained for 2 updates and then
    resumed with train.num_updates raised to 6, give the bytes of an uninterrupted 6-update run (the kept policy,
    the demonstrations) and its training curve; a changed training setting is refused."""
    argv = ["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), *TINY_ENV, *TINY_PPO, "train.log_every=2",
            "train.num_seeds=2", "train.sweep={discount: [0.9, 0.99]}", "train.keep_best=true",
            "demos.num_episodes=2", "demos.num_envs=2", "eval.num_envs=2", "run.progress=false"]
    assert main(argv + ["train.num_updates=6", f"run.root={tmp_path / 'a'}"]) == 0
    assert main(argv + ["train.num_updates=2", f"run.root={tmp_path / 'b'}"]) == 0
    (straight,) = [os.path.join(tmp_path, "a", d) for d in os.listdir(tmp_path / "a")]
    (partial,) = [os.path.join(tmp_path, "b", d) for d in os.listdir(tmp_path / "b")]
    config = os.path.join(partial, "config.yaml")
    capsys.readouterr()
    code, _, err = run_cli(capsys, ["expert", config, "train.num_updates=6", "ppo.learning_rate=0.1", f"resume={partial}"])
    assert code == 2 and "ppo.learning_rate" in err and "Traceback" not in err
    code, out, _ = run_cli(capsys, ["expert", config, "train.num_updates=6", f"resume={partial}"])
    assert code == 0 and json.loads(out[out.index("{"):])["resumed_from"] == 2
    with open(os.path.join(partial, "policy.msgpack"), "rb") as a, open(os.path.join(straight, "policy.msgpack"), "rb") as b:
        assert a.read() == b.read()
    (demos_a, meta_a), (demos_b, meta_b) = (load_demos(os.path.join(d, "demos.npz")) for d in (partial, straight))
    for x, y in zip(jax.tree.leaves(demos_a), jax.tree.leaves(demos_b)):
        np.testing.assert_array_equal(x, y)
    assert set(meta_a) == set(meta_b)
    for key in set(meta_a) - {"expert_run", "created"}:
        np.testing.assert_equal(meta_a[key], meta_b[key], err_msg=key)
    drop = ("wall_s",)
    curves = [[{k: v for k, v in r.items() if k not in drop} for r in io.read_metrics(os.path.join(d, "metrics.jsonl"))]
              for d in (partial, straight)]
    assert len(curves[0]) == 6 and curves[0] == curves[1]
    a, b = (io.read_json(os.path.join(d, "summary.json")) for d in (partial, straight))
    for key in ("best_seed", "kept_update", "updates", "return_deterministic", "expert_return", "final_train_return",
                "last_chunk_return_per_seed", "sweep"):
        assert a[key] == b[key], key
    assert sorted(os.listdir(os.path.join(partial, "checkpoints"))) == ["checkpoint-6.json", "checkpoint-6.msgpack"]
    code, _, err = run_cli(capsys, ["expert", config, "train.num_updates=4", f"resume={partial}"])
    assert code == 2 and "beyond train.num_updates=4" in err
    # past the saved run's annealing schedule (ppo.anneal_lr_updates: 200): one message that names the way out (the
    # generic check's advice, to raise ppo.anneal_lr_updates, was then refused as a changed setting)
    code, _, err = run_cli(capsys, ["expert", config, "train.num_updates=300", f"resume={partial}"])
    assert code == 2 and "annealed to 0 at update 200" in err and "a new run" in err


def test_expert_keep_best_before_any_episode_ends_keeps_the_newest_chunk(capsys, tmp_path):
    """Episodes of 60 steps, 2 chunks of 20: no chunk completes an episode, every score is −inf, and keep_best keeps
    the newest (most trained) chunk, as without keep_best (it kept the first, untrained one)."""
    argv = ["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), "env.num_envs=4", "env.episode_length=60",
            *TINY_PPO, "train.num_updates=4", "train.log_every=2", "ppo.anneal_lr_updates=0", "train.keep_best=true",
            "demos.num_episodes=2", "demos.num_envs=2", "eval.num_envs=2", f"run.root={tmp_path}"]
    code, out, _ = run_cli(capsys, argv)
    summary = json.loads(out[out.index("{"):])
    assert code == 0 and summary["kept_update"] == 4 and summary["final_train_return"] is None


def test_expert_keeps_a_finite_lane_and_stops_when_none_is_left(capsys, tmp_path):
    """A swept learning rate of 1e30 makes lane 1's PPO state NaN / inf within the first chunk: lane 0 is kept and the
    job finishes (its learning curve drawn without the diverged values, which matplotlib cannot scale: it used to
    fail there, after training). With that rate alone every lane diverges: status 3 after the first chunk, naming
    the first non-finite metric, with no checkpoint saved from the NaN state."""
    expert = os.path.join(CONFIGS, "expert_pointmass.yaml")
    tiny = [expert, *TINY_ENV, *TINY_PPO, "train.num_updates=4", "train.log_every=2", "demos.num_episodes=2",
            "demos.num_envs=2", "eval.num_envs=4", "run.progress=false"]
    code, out, err = run_cli(capsys, ["expert", *tiny, f"run.root={tmp_path / 'sweep'}", "train.num_seeds=2",
                                      "train.sweep={learning_rate: [0.0003, 1.0e+30]}"])
    assert code == 0, err
    summary = json.loads(out[out.index("{"):])
    assert summary["best_seed"] == 0 and summary["last_chunk_return_per_seed"][1] is None
    assert os.path.isfile(os.path.join(summary["run_dir"], "learning_curve.png")) and "not drawn" not in err
    assert summary["diverged_lanes"] == [1] and "lane 1 (learning_rate=1e+30) diverged by update 2" in err, err
    records = io.read_metrics(os.path.join(summary["run_dir"], "metrics.jsonl"))
    assert all(np.isfinite(r["episode_return"]) and np.isfinite(r["entropy"]) for r in records)  # lane 0's
    demos, _ = load_demos(summary["demos_path"])
    assert np.all(np.isfinite(demos.action))
    root = tmp_path / "alone"
    code, out, err = run_cli(capsys, ["expert", *tiny, f"run.root={root}", "ppo.learning_rate=1.0e+30"])
    assert code == 3 and out == "" and "Traceback" not in err
    assert "training diverged: non-finite values (NaN or inf) in the PPO state after update 2; the first " \
           "non-finite metric: " in err and "keeps no checkpoint (the first chunk diverged)" in err, err
    (run_dir,) = [os.path.join(root, d) for d in os.listdir(root)]
    assert not os.path.exists(os.path.join(run_dir, "checkpoints")) and len(io.read_metrics(
        os.path.join(run_dir, "metrics.jsonl"))) == 2


def test_expert_resume_realigns_chunks_to_log_every(capsys, tmp_path):
    """A run that ended on a short chunk (3 updates, log_every 2) resumed to 6 trains 3-4 and 4-6, the chunks of
    one run, and its curve equals the uninterrupted run's."""
    argv = ["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), *TINY_ENV, *TINY_PPO, "train.log_every=2",
            "demos.num_episodes=2", "demos.num_envs=2", "eval.num_envs=2", "run.progress=false",
            "run.keep_checkpoints=0"]
    assert main(argv + ["train.num_updates=6", f"run.root={tmp_path / 'a'}"]) == 0
    assert main(argv + ["train.num_updates=3", f"run.root={tmp_path / 'b'}"]) == 0
    (straight,) = [os.path.join(tmp_path, "a", d) for d in os.listdir(tmp_path / "a")]
    (partial,) = [os.path.join(tmp_path, "b", d) for d in os.listdir(tmp_path / "b")]
    capsys.readouterr()
    code, _, _ = run_cli(capsys, ["expert", os.path.join(partial, "config.yaml"), "train.num_updates=6",
                                  f"resume={partial}"])
    assert code == 0
    done = sorted(int(n.split("-")[1].split(".")[0]) for n in os.listdir(os.path.join(partial, "checkpoints"))
                  if n.endswith(".json"))
    assert done == [2, 3, 4, 6]
    curves = [[{k: v for k, v in r.items() if k != "wall_s"} for r in io.read_metrics(os.path.join(d, "metrics.jsonl"))]
              for d in (partial, straight)]
    assert curves[0] == curves[1]


def test_expert_time_limit_stops_after_first_chunk(capsys, tmp_path):
    argv = ["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), *TINY_ENV, *TINY_PPO,
            "train.num_updates=8", "train.log_every=2", "train.time_limit_s=0.001", "demos.num_episodes=2",
            "demos.num_envs=2", "eval.num_envs=2", f"run.root={tmp_path}"]
    code, out, _ = run_cli(capsys, argv)
    summary = json.loads(out[out.index("{"):])
    assert code == 0 and summary["updates"] == 2 and summary["env_steps"] == 2 * 10 * 4


@pytest.mark.parametrize("argv, message", [
    (["expert", "missing.yaml"], "config file not found"),
    (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), "ppo.lr=1"], "unknown config key 'ppo.lr'"),
    (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), "env.num_envs=two"], "env.num_envs"),
    (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), "env.name=nope"], "unknown environment 'nope'"),
    (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), "ppo.activation=cube"], "activation"),
    (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), "train.num_updates=0"], "train.num_updates"),
    (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), "train.sweep={hidden: [1]}"], "not a traced PPO field"),
    (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), "train.num_seeds=2", "train.sweep={discount: [0.9]}"],
     "train.sweep.discount"),
    (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), "train.num_seeds=2", "train.sweep={discount: [0.9, x]}"],
     "train.sweep.discount: expected numbers"),
    (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), "train.num_seeds=2", "train.sweep={discount: [0.9, 1.5]}"],
     "train.sweep.discount: value 1 (1.5) is refused: ppo.discount"),
    (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), "train.sweep={learning_rate: [0.5]}"],
     "train.sweep: with train.num_seeds = 1 there is one lane"),
    (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), "train.time_limit_s=-1"], "train.time_limit_s"),
    (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), "resume=no/such/run"], "run folder not found"),
    (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), "resume=5"], "resume: expected a run folder, got 5"),
    (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), "run.keep_checkpoints=-1"], "run.keep_checkpoints"),
    (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), "novalue"], "key=value"),
    (["eval", "no/such/run"], "run folder not found"),
    (["tabular", os.path.join(CONFIGS, "maxent_gridworld.yaml"), "irl.bogus=1"], "irl.bogus"),
    (["train", os.path.join(CONFIGS, "gail_pointmass.yaml"), "demos.path=no/such.npz"],
     "file not found (a relative path is read from the current directory"),
    (["train", os.path.join(CONFIGS, "gail_pointmass.yaml"), "demos.path=no/such.npz"],
     "`jaxirl expert CONFIG demos.path=no/such.npz` trains a PPO expert for 'pointmass'"),
    (["train", os.path.join(CONFIGS, "gail_pointmass.yaml"), "resume=no/such/run"], "run folder not found"),
    (["train", os.path.join(CONFIGS, "gail_pointmass.yaml"), "resume=5"], "resume: expected a run folder, got 5"),
    (["train", os.path.join(CONFIGS, "gail_pointmass.yaml"), "bc.steps=-1"], "bc.steps: expected an int >= 0"),
    (["train", os.path.join(CONFIGS, "gail_pointmass.yaml"), "bc.stpes=1"], "unknown config key 'bc.stpes'"),
    # an evaluation window shorter than an episode counts none (or only short ones): refused, before training
    (["train", os.path.join(CONFIGS, "gail_pointmass.yaml"), "train.eval_steps=3"],
     "train.eval_steps: expected 0 (one episode length) or a window of at least env.episode_length = 50 steps, got 3"),
    (["train", os.path.join(CONFIGS, "gail_pointmass.yaml"), "eval.num_steps=49"], "eval.num_steps: expected 0"),
    (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), "eval.num_steps=-1"], "eval.num_steps: expected 0"),
    (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), "eval.num_envs=0"], "eval.num_envs: expected an int >= 1"),
    (["bc", os.path.join(CONFIGS, "bc_pointmass.yaml"), "eval.num_steps=10"], "eval.num_steps: expected 0"),
    # a field several sections share is named with its section
    (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), "ppo.num_steps=0"], "ppo.num_steps: expected"),
    (["train", os.path.join(CONFIGS, "gail_pointmass.yaml"), "discriminator.num_steps=0"], "discriminator.num_steps"),
    (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), "env.kwargs={bogus: 1}"], "env.kwargs: "),
    (["train", os.path.join(CONFIGS, "gail_pointmass.yaml"), "train.algorithm=foo"], "train.algorithm: expected one of"),
    (["train", os.path.join(CONFIGS, "gail_pointmass.yaml"), "ppo.policy_head=x"], "ppo.policy_head: expected one of"),
    (["train", CONFIGS], "is a folder, not a YAML config file"),
    (["train", os.path.join(CONFIGS, "gail_pointmass.yaml"), "run.seed=99999999999999999999"], "run.seed: expected an int seed"),
    (["train", os.path.join(CONFIGS, "gail_pointmass.yaml"), "eval.seed=99999999999999999999"], "eval.seed: expected an int"),
    (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), "train.seed=-99999999999999999999"], "train.seed"),
    (["tabular", os.path.join(CONFIGS, "maxent_gridworld.yaml"), "run.seed=99999999999999999999"], "run.seed: expected an int"),
    # settings nothing would act on: an annealed rate at 0 for the last updates, GAIL given AIRL's entropy weight
    (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), "train.num_updates=300"],
     "ppo.anneal_lr_updates: the learning rate would reach 0 after 200 of the run's 300 updates"),
    (["train", os.path.join(CONFIGS, "gail_pointmass.yaml"), "ppo.anneal_lr_updates=10"], "anneal_lr_updates: the"),
    (["train", os.path.join(CONFIGS, "gail_pointmass.yaml"), "discriminator.entropy_weight=0.1"],
     "discriminator.entropy_weight: only AIRL"),
    (["train", os.path.join(CONFIGS, "gail_pointmass.yaml"), "demos.expert_return=1e3", "demos.path=no/such.npz"],
     "file not found"),                                               # 1e3 (a YAML 1.1 string) read as a number
    # errors that name the field they came from, found before any compiling (2026-11-28 review)
    (["train", os.path.join(CONFIGS, "gail_pointmass.yaml"), "eval.env_kwargs={foo: 1}"], "eval.env_kwargs: 'pointmass'"),
    (["train", os.path.join(CONFIGS, "gail_pointmass.yaml"), "env.kwargs.dt=-1"], "env.kwargs.dt: expected"),
    (["train", os.path.join(CONFIGS, "gail_pointmass.yaml"), "eval.env_kwargs.dt=-2"], "eval.env_kwargs.dt: expected"),
    (["train", os.path.join(CONFIGS, "gail_pointmass.yaml"), "run.prefix=a/b"], "run.prefix: expected a non-empty name"),
    (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), "run.prefix=a/b"], "run.prefix: expected a non-empty"),
    (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), "train.time_limit_s=nan"], "train.time_limit_s"),
    (["train", os.path.join(CONFIGS, "gail_pointmass.yaml"), "demos.expert_return=" + "1" * 400],
     "demos.expert_return: expected a finite number"),
    (["tabular", os.path.join(CONFIGS, "maxent_gridworld.yaml"), "irl.log_every=7"], "config section 'irl': log_every"),
    (["tabular", os.path.join(CONFIGS, "maxent_gridworld.yaml"), "irl.l2=-1"], "config section 'irl': l2"),
    (["tabular", os.path.join(CONFIGS, "maxent_gridworld.yaml"), "expert.reward_scale=inf"],
     "'expert.reward_scale': expected a finite positive value"),
])
def test_config_errors_exit_2_without_traceback(capsys, tmp_path, argv, message):
    code, out, err = run_cli(capsys, argv + ([f"run.root={tmp_path}"] if argv[0] in ("expert", "train", "bc") else []))
    assert code == 2
    assert message in err and "Traceback" not in err and out == ""
    assert not os.listdir(tmp_path)                                   # nothing created on a config error


def test_outputs_that_cannot_be_written_are_refused_before_training(capsys, tmp_path):
    """A file where the run folders (or an expert's demonstrations) would go: a one-line error before anything
    is compiled or trained, not a traceback after it."""
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    for argv, message in (
        (["train", os.path.join(CONFIGS, "gail_pointmass.yaml"), f"run.root={a_file}"], "run.root: "),
        (["bc", os.path.join(CONFIGS, "bc_pointmass.yaml"), f"run.root={a_file / 'sub'}"], "run.root: "),
        (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), f"run.root={tmp_path}",
          f"demos.path={a_file / 'x.npz'}"], "demos.path: "),
        (["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), f"run.root={tmp_path}", f"demos.path={tmp_path}"],
         "is a folder; expected the path of a .npz file"),
        (["tabular", os.path.join(CONFIGS, "maxent_gridworld.yaml"), f"run.root={a_file}"], "run.root: "),
    ):
        code, out, err = run_cli(capsys, argv)
        assert code == 2 and message in err and ("is a file" in err or "is a folder" in err), err
        assert "Traceback" not in err and out == ""
    assert os.listdir(tmp_path) == ["a_file"]  # nothing was written


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc (a folder no run folder can go in)")
def test_a_run_root_that_cannot_be_made_is_named_before_the_tabular_job_computes(capsys):
    """A root the OS refuses (under /proc: no file is a blocker, so check_folder passes) fails with the field named
    and before the job's work: the tabular job made its folder only after the IRL, and lost it with an [Errno 2]."""
    code, out, err = run_cli(capsys, ["tabular", os.path.join(CONFIGS, "maxent_gridworld.yaml"),
                                      "run.root=/proc/jaxirl-no-such-root", "irl.num_steps=400000"])
    assert code == 2 and "run.root: cannot make the run folder" in err and "Traceback" not in err and out == ""


def test_usage_without_config_names_only_what_is_missing(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "required: CONFIG" in err and "key=value" not in err.splitlines()[-1]


def test_expert_keeps_a_chunk_by_the_returns_of_completed_episodes_only():
    """``keep_best`` and the lane choice: an update at which no env had completed an episode reports a return of 0
    (no data: on pointmass, whose returns are negative, the untrained first chunk won), and a diverged lane's NaN
    won ``argmax``; both are now out of the running."""
    from jaxirl.jobs.expert import chunk_scores

    returns = np.array([[0.0, 0.0, -50.0, -40.0],        # lane 0: two updates before any episode ended
                        [-30.0, np.nan, -20.0, -20.0],   # lane 1: diverged
                        [0.0, 0.0, 0.0, 0.0]])           # lane 2: no episode ended in the chunk
    lengths = np.array([[0, 0, 50, 50], [50, 50, 50, 50], [0, 0, 0, 0]])
    means, scores = chunk_scores(returns, lengths)
    np.testing.assert_allclose(means[0], -45.0)
    assert np.isnan(means[1]) and np.isnan(means[2])
    assert scores[0] == -45.0 and scores[1] == -np.inf and scores[2] == -np.inf and int(np.argmax(scores)) == 0


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("tabular", "expert", "train", "bc", "eval", "demos"):
        assert command in out


@pytest.mark.parametrize("command, keys", [("expert", ["time_limit_s: 0.0", "resume: null", "keep_checkpoints: 1"]),
                                           ("train", ["algorithm: gail", "entropy_weight:", "coef_decay_iterations: 0"]),
                                           ("bc", ["validation_fraction:"]), ("tabular", ["num_reward_cells: 4"])])
def test_command_help_lists_every_config_key_with_its_default(capsys, command, keys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and "configuration keys and their defaults" in out
    for key in keys:
        assert key in out, key


def test_demos_help_lists_its_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demos", "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and "FILE" in out
    assert "options (key=value) and their defaults:\n  check_env: false\n  episodes: true" in out


TINY_TRAIN = [*TINY_ENV, *TINY_PPO, "train.eval_every=2", "eval.num_envs=4", "discriminator.hidden=[16]",
              "discriminator.potential_hidden=[16]", "discriminator.expert_batch_size=16",
              "discriminator.policy_batch_size=16", "discriminator.replay_rollouts=2", "run.chunk=2"]


def train_argv(expert_run, root, algorithm, *extra):
    return ["train", os.path.join(CONFIGS, f"{algorithm}_pointmass.yaml"), *TINY_TRAIN,
            f"demos.path={os.path.join(expert_run, 'demos.npz')}", f"run.root={root}", *extra]


@pytest.fixture(scope="module")
def airl_run(expert_run, tmp_path_factory):
    root = tmp_path_factory.mktemp("airl")
    assert main(train_argv(expert_run, root, "airl", "train.num_iterations=4", "run.progress=false")) == 0
    (run_dir,) = [os.path.join(root, d) for d in os.listdir(root)]
    return run_dir


def test_train_chunks_outputs_and_reward_loader(airl_run):
    import jaxirl.jobs.train as train_job

    records = io.read_metrics(os.path.join(airl_run, "metrics.jsonl"))
    assert [r["iteration"] for r in records] == [1, 2, 3, 4]
    assert [r["eval_iteration"] for r in records] == [-1, 2, 2, 4]    # evaluated inside the scan every 2
    cfg = io.read_config(airl_run)
    per_iteration = cfg["env"]["num_envs"] * cfg["ppo"]["num_steps"]
    assert [r["env_steps"] for r in records] == [i * per_iteration for i in (1, 2, 3, 4)]
    assert all(np.isfinite(r["disc_loss"]) and np.isfinite(r["score_det"]) for r in records[1:])
    ckpts = sorted(os.listdir(os.path.join(airl_run, "checkpoints")))
    assert ckpts == ["checkpoint-2.json", "checkpoint-2.msgpack", "checkpoint-4.json", "checkpoint-4.msgpack"]
    assert io.read_json(os.path.join(airl_run, "checkpoints", "checkpoint-4.json"))["iteration"] == 4
    summary = io.read_json(os.path.join(airl_run, "summary.json"))
    assert summary["iterations"] == 4 and summary["algorithm"] == "airl" and summary["eval_iteration"] == 4
    for key in ("return_det", "return_stoch", "score_det", "score_stoch", "expert_return", "random_return"):
        assert np.isfinite(summary[key]), key
    assert summary["score_det"] == pytest.approx(
        (summary["return_det"] - summary["random_return"]) / (summary["expert_return"] - summary["random_return"]), rel=1e-4)
    for name in ("learning_curve.png", "policy.msgpack", "reward.msgpack", "reward_model.json"):
        assert os.path.isfile(os.path.join(airl_run, name)), name
    # the learned reward in one call: AIRL's state-only g(s), a function of the observation alone
    reward = train_job.load_reward(airl_run)
    obs = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)
    act = np.zeros((5, 2), np.float32)
    r = np.asarray(reward(obs, act))
    assert r.shape == (5,) and np.all(np.isfinite(r))
    np.testing.assert_allclose(np.asarray(reward(obs, act + 0.5)), r, rtol=1e-6)
    assert not np.allclose(r, r[0])
    # a damaged reward_model.json is named, not a raw KeyError / TypeError / JSONDecodeError
    import json as json_lib
    import shutil

    broken = os.path.join(os.path.dirname(airl_run), "broken-reward")
    shutil.copytree(airl_run, broken)
    spec_path = os.path.join(broken, train_job.REWARD_MODEL_FILE)
    spec = io.read_json(spec_path)
    for text, message in ((json_lib.dumps({**spec, "model": {**spec["model"], "newfield": 1}}),
                           "unknown reward model field.s. newfield"),
                          (json_lib.dumps({"algorithm": "airl"}), "expected a mapping with a 'model' mapping"),
                          ("{not json", "is not valid JSON")):
        with open(spec_path, "w") as f:
            f.write(text)
        with pytest.raises(ValueError, match=message):
            train_job.load_reward(broken)
    shutil.rmtree(broken)


def test_a_diverging_run_stops_and_keeps_its_last_finite_outputs(expert_run, tmp_path, capsys, monkeypatch):
    """When the training state stops being finite (here made NaN after the second chunk, as a diverged
    discriminator update would), `jaxirl train` stops after that chunk with status 3, naming the part and the first
    non-finite metric; the folder keeps the policy, reward and checkpoint of the last finite chunk, and metrics.jsonl
    every iteration up to the bad chunk's last. Nothing is saved from the bad state and no summary is written."""
    import jax.numpy as jnp

    import jaxirl.train as train_lib
    from jaxirl.jobs import first_nonfinite

    real = train_lib.make_train

    def poisoned(*args, **kwargs):
        trainer = real(*args, **kwargs)
        run = trainer.run

        def run_then_poison(state, n):
            state, metrics = run(state, n)
            if int(state.iteration) > 2:  # the reward NaN; Adam's moments inf (the parameters stay finite then)
                state = state.replace(reward=jax.tree.map(lambda x: x * jnp.nan, state.reward),
                                      disc_opt_state=jax.tree.map(lambda x: x * jnp.inf if jnp.issubdtype(
                                          x.dtype, jnp.floating) else x, state.disc_opt_state))
                metrics = dict(metrics, disc_loss=metrics["disc_loss"].at[-1].set(jnp.inf))
            return state, metrics

        trainer.run = run_then_poison
        return trainer

    monkeypatch.setattr(train_lib, "make_train", poisoned)
    root = tmp_path / "runs"
    code, out, err = run_cli(capsys, train_argv(expert_run, root, "gail", "train.num_iterations=6",
                                                "run.progress=false"))
    assert code == 3 and out == "" and "Traceback" not in err
    assert "training diverged: non-finite values (NaN or inf) in the reward, disc_opt_state state after iteration " \
           "4" in err, err
    assert "the first non-finite metric: disc_loss at iteration 4" in err and "checkpoint of iteration 2" in err
    (run_dir,) = [os.path.join(root, d) for d in os.listdir(root)]
    assert [r["iteration"] for r in io.read_metrics(os.path.join(run_dir, "metrics.jsonl"))] == [1, 2, 3, 4]
    assert sorted(os.listdir(os.path.join(run_dir, "checkpoints"))) == ["checkpoint-2.json", "checkpoint-2.msgpack"]
    assert not os.path.exists(os.path.join(run_dir, "summary.json"))
    from jaxirl import load_reward

    r = load_reward(run_dir)(np.zeros((3, 6), np.float32), np.zeros((3, 2), np.float32))
    assert np.all(np.isfinite(np.asarray(r)))  # iteration 2's reward, not the NaN one
    # the metric scan: the earliest non-finite row over the keys, skipped keys left out
    m = {"a": np.array([1.0, np.nan, np.nan]), "b": np.array([[1.0, 2.0], [3.0, 4.0], [np.inf, 0.0]]),
         "c": np.array([np.nan, 1.0, 1.0])}
    assert first_nonfinite(m, 11, skip=("c",)) == ("a", 12)
    assert first_nonfinite(m, 11) == ("c", 11) and first_nonfinite({"a": np.ones(2)}, 1) is None


PLUGIN = """
import jax.numpy as jnp
from jaxirl import reward
from jaxirl.envs import PointMass, register_env
from jaxirl.objectives import get_objective, register_objective


def init(model, key):  # a linear logit w . [s, a] + b
    return {"w": jnp.zeros((reward.input_width(model),)), "b": jnp.zeros(())}


def score(model, net, inputs, discount):
    return reward.input_vector(model, inputs) @ net["w"] + net["b"]


register_env("slow_pointmass", lambda **kw: PointMass(**{"max_speed": 0.5, **kw}))
reward.register_reward_kind(reward.RewardKind(name="linear_logit", init=init, score=score))
register_objective(get_objective("gail")._replace(name="gail_copy", reward_kind="linear_logit"))
"""


def test_imports_register_an_env_and_an_objective_for_the_command(tmp_path, monkeypatch, capsys, env_registry,
                                                                  objective_registry, reward_kind_registry):
    """A config's top-level `imports` names a module of one's own (here in the current directory, which the
    `jaxirl` script does not put on sys.path) that registers an env, a reward network and an objective that trains
    it: `jaxirl expert` and `jaxirl train` use them by name, and `jaxirl eval` and `jaxirl.load_reward` of the run,
    with nothing registered (as in a new process), import the module again from the run's config.yaml. Bad imports
    are named."""
    import sys

    from jaxirl import plugins

    monkeypatch.setattr(plugins, "_IMPORTED", {})  # what this test's imports registered stays with it
    (tmp_path / "my_plugin.py").write_text(PLUGIN)
    (tmp_path / "bad_plugin.py").write_text("raise RuntimeError('boom')\n")
    (tmp_path / "needs_missing.py").write_text("import no_such_dependency_xyz\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    for name in ("my_plugin", "bad_plugin", "needs_missing"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    expert = os.path.join(CONFIGS, "expert_pointmass.yaml")
    # without the import the names are unknown, and the message says how to register one
    code, _, err = run_cli(capsys, ["expert", expert, "env.name=slow_pointmass"])
    assert code == 2 and "unknown environment 'slow_pointmass'" in err and "register_env" in err, err
    for imports, message in (("[no_such_module_xyz]", "imports: cannot import 'no_such_module_xyz'"),
                             ("[my_plugin.py]", "imports: expected dotted module names"),
                             ("[bad_plugin]", "bad_plugin.py, line 1: RuntimeError: boom"),
                             ("[needs_missing]", "needs_missing.py, line 1: ModuleNotFoundError: No module named 'no_such_dependency_xyz'"),
                             ("my_plugin", "config key 'imports': expected list, got str")):
        code, _, err = run_cli(capsys, ["expert", expert, f"imports={imports}"])
        assert code == 2 and message in err and "Traceback" not in err, (imports, err)
    root = tmp_path / "runs"
    assert main(["expert", expert, *TINY_ENV, *TINY_PPO, "train.num_updates=2", "train.log_every=2",
                 "demos.num_episodes=2", "demos.num_envs=2", "eval.num_envs=4", "env.name=slow_pointmass",
                 "env.kwargs.arena=2.0", "imports=[my_plugin]", f"run.root={root}"]) == 0
    assert sys.path[-1] == str(tmp_path)  # the current directory, added for the import
    (expert_dir,) = [os.path.join(root, d) for d in os.listdir(root)]
    _, meta = load_demos(os.path.join(expert_dir, "demos.npz"))
    assert meta["env"] == "slow_pointmass"
    capsys.readouterr()
    code, out, _ = run_cli(capsys, train_argv(expert_dir, tmp_path / "airl", "gail", "env.name=slow_pointmass",
                                              "env.kwargs.arena=2.0", "imports=[my_plugin]",
                                              "train.algorithm=gail_copy", "train.num_iterations=2",
                                              "run.progress=false"))
    assert code == 0
    summary = json.loads(out[out.index("{"):])
    assert (summary["algorithm"], summary["env"]) == ("gail_copy", "slow_pointmass")
    assert os.path.basename(summary["run_dir"]).startswith("gail_copy-slow_pointmass-")
    assert io.read_config(summary["run_dir"])["imports"] == ["my_plugin"]
    # as in a new process: nothing registered, the module not imported
    from jaxirl.envs import registry

    env_registry.clear()
    del objective_registry["gail_copy"], reward_kind_registry["linear_logit"]
    del sys.modules["my_plugin"]
    # the demonstrations record the imports their env needs: `jaxirl demos` checks them with no option
    code, out, err = run_cli(capsys, ["demos", os.path.join(expert_dir, "demos.npz"), "check_env=true",
                                      "episodes=false"])
    assert code == 0 and json.loads(out)["env_check"].startswith("matches slow_pointmass"), err
    env_registry.clear()
    del objective_registry["gail_copy"], reward_kind_registry["linear_logit"]
    del sys.modules["my_plugin"]
    code, out, err = run_cli(capsys, ["eval", summary["run_dir"], "eval.num_envs=2"])
    assert code == 0, err
    assert json.loads(out[out.index("{"):])["env"] == "slow_pointmass"
    assert "slow_pointmass" in registry.env_names() and "gail_copy" in objective_registry
    # the learned reward is the module's network (its parameters), loaded where nothing registered it
    from jaxirl import load_reward, load_reward_model

    env_registry.clear()
    del objective_registry["gail_copy"], reward_kind_registry["linear_logit"], sys.modules["my_plugin"]
    model, params, which = load_reward_model(summary["run_dir"])
    assert (model.kind, which) == ("linear_logit", "logit") and sorted(params.net) == ["b", "w"]
    assert np.any(np.asarray(params.net["w"]) != 0)  # trained: the discriminator's steps moved it from its zeros
    r = load_reward(summary["run_dir"])(np.zeros((3, 6), np.float32), np.zeros((3, 2), np.float32))
    assert r.shape == (3,) and np.all(np.isfinite(np.asarray(r)))
    # the module moved: `imports=` of the eval command replaces the run's list
    os.makedirs(tmp_path / "pkg")
    (tmp_path / "pkg" / "__init__.py").write_text("")
    os.rename(tmp_path / "my_plugin.py", tmp_path / "pkg" / "my_plugin.py")
    env_registry.clear()
    del objective_registry["gail_copy"], reward_kind_registry["linear_logit"]
    del sys.modules["my_plugin"]
    code, _, err = run_cli(capsys, ["eval", summary["run_dir"], "eval.num_envs=2"])
    assert code == 2 and "config.yaml: imports: cannot import 'my_plugin'" in err, err
    code, _, err = run_cli(capsys, ["eval", summary["run_dir"], "eval.num_envs=2", "imports=[pkg.my_plugin]"])
    assert code == 0, err
    for name in ("pkg.my_plugin", "pkg", "my_plugin", "bad_plugin", "needs_missing"):  # this test's own modules
        sys.modules.pop(name, None)


def test_resume_with_other_chunk_and_evaluation_trains_the_same(expert_run, airl_run, tmp_path, capsys):
    """A resume may change what only logs or evaluates (run.chunk, train.eval_every, eval.num_envs / seed): the
    policy, the reward and every training metric are those of the uninterrupted run (chunk 2, eval every 2,
    4 eval envs); the evaluations follow the new settings, and config.yaml records them."""
    root = tmp_path / "runs"
    assert main(train_argv(expert_run, root, "airl", "train.num_iterations=2", "run.progress=false")) == 0
    (partial,) = [os.path.join(root, d) for d in os.listdir(root)]
    # not the evaluation window: the run's random return (its score's 0) was measured with it
    code, _, err = run_cli(capsys, ["train", os.path.join(partial, "config.yaml"), "train.num_iterations=4",
                                    "train.eval_steps=400", f"resume={partial}"])
    assert code == 2 and "train.eval_steps: saved 0, now 400" in err and "run.chunk" in err, err
    assert main(["train", os.path.join(partial, "config.yaml"), "train.num_iterations=4", "run.chunk=1",
                 "train.eval_every=1", "eval.num_envs=3", "eval.seed=7", f"resume={partial}"]) == 0
    for name in ("policy.msgpack", "reward.msgpack"):
        with open(os.path.join(partial, name), "rb") as a, open(os.path.join(airl_run, name), "rb") as b:
            assert a.read() == b.read(), name
    resumed = io.read_metrics(os.path.join(partial, "metrics.jsonl"))
    straight = io.read_metrics(os.path.join(airl_run, "metrics.jsonl"))
    evaluated = {"eval_iteration", "return_det", "return_stoch", "score_det", "score_stoch"}
    assert set(resumed[0]) == set(straight[0]) and evaluated < set(straight[0])
    for a, b in zip(resumed, straight, strict=True):
        assert {k: v for k, v in a.items() if k not in evaluated} == {k: v for k, v in b.items() if k not in evaluated}
    assert [r["eval_iteration"] for r in resumed] == [-1, 2, 3, 4]   # every iteration after the resume
    assert resumed[2]["score_det"] != straight[2]["score_det"]       # iteration 3: evaluated now, not before
    assert resumed[3]["score_det"] != straight[3]["score_det"]       # 3 eval envs instead of 4
    ckpts = sorted(f for f in os.listdir(os.path.join(partial, "checkpoints")) if f.endswith(".msgpack"))
    assert ckpts == ["checkpoint-3.msgpack", "checkpoint-4.msgpack"]  # one per chunk of 1 (keep_checkpoints 2)
    saved = io.read_config(partial)
    assert (saved["run"]["chunk"], saved["train"]["eval_every"], saved["eval"]["num_envs"], saved["eval"]["seed"]) \
        == (1, 1, 3, 7)


def test_resume_equals_uninterrupted_run(expert_run, airl_run, tmp_path, capsys):
    root = tmp_path / "runs"
    assert main(train_argv(expert_run, root, "airl", "train.num_iterations=2", "run.progress=false")) == 0
    (partial,) = [os.path.join(root, d) for d in os.listdir(root)]
    config = os.path.join(partial, "config.yaml")
    # a change to the training (here its learning rate) is refused
    code, _, err = run_cli(capsys, ["train", config, "train.num_iterations=4", "ppo.learning_rate=0.1", f"resume={partial}"])
    assert code == 2 and "ppo.learning_rate" in err and "Traceback" not in err
    capsys.readouterr()
    info2 = os.path.join(partial, "checkpoints", "checkpoint-2.json")
    io.write_json(info2, {**io.read_json(info2), "seconds": 1000.0})
    assert main(["train", config, "train.num_iterations=4", f"resume={partial}"]) == 0
    for name in ("policy.msgpack", "reward.msgpack", os.path.join("checkpoints", "checkpoint-4.msgpack")):
        with open(os.path.join(partial, name), "rb") as a, open(os.path.join(airl_run, name), "rb") as b:
            assert a.read() == b.read(), name
    resumed = io.read_metrics(os.path.join(partial, "metrics.jsonl"))
    straight = io.read_metrics(os.path.join(airl_run, "metrics.jsonl"))
    assert resumed == straight
    summary = io.read_json(os.path.join(partial, "summary.json"))
    assert summary["resumed_from"] == 2 and summary["iterations"] == 4
    # the training seconds add up over the invocations (the first one's are in its checkpoint, set to 1000 s below)
    assert summary["train_seconds"] >= 1000.0
    # a lower count than the checkpoint's is refused from its file name, before compiling
    code, _, err = run_cli(capsys, ["train", config, "train.num_iterations=3", f"resume={partial}"])
    assert code == 2 and "the checkpoint is at iteration 4, beyond train.num_iterations=3" in err
    # the run folder's config.yaml reproduces the run from the start; it does not resume the finished run in place
    assert io.read_config(partial)["resume"] is None
    # a resume trains on the demonstrations the run started with: other data at the same path is refused
    demos_path = os.path.join(expert_run, "demos.npz")
    with open(demos_path, "rb") as f:
        original = f.read()
    try:
        from jaxirl.data import first_episodes, load_demos, save_demos

        few, meta = first_episodes(*load_demos(demos_path), 2)
        save_demos(demos_path, few, meta["episode_returns"], meta)
        code, _, err = run_cli(capsys, ["train", config, "train.num_iterations=8", f"resume={partial}"])
        assert code == 2 and "resume: the demonstrations differ from those the run was trained on" in err, err
    finally:
        with open(demos_path, "wb") as f:
            f.write(original)
    # a corrupt checkpoint is named as such (not as a structure of another version), its JSON too
    info = os.path.join(partial, "checkpoints", "checkpoint-4.json")
    with open(info) as f:
        info_text = f.read()
    with open(info, "w") as f:
        f.write("{not json")
    code, _, err = run_cli(capsys, ["train", config, "train.num_iterations=8", f"resume={partial}"])
    assert code == 2 and "checkpoint-4.json' is not valid JSON" in err and "Traceback" not in err
    with open(info, "w") as f:
        f.write(info_text)
    latest = os.path.join(partial, "checkpoints", "checkpoint-4.msgpack")
    with open(latest, "rb") as f:
        ckpt = f.read()
    with open(latest, "wb") as f:
        f.write(ckpt[: len(ckpt) // 2])
    code, _, err = run_cli(capsys, ["train", config, "train.num_iterations=8", f"resume={partial}"])
    assert code == 2 and "cannot be read: truncated or corrupt" in err and "Traceback" not in err
    with open(latest, "wb") as f:
        f.write(ckpt)
    # a checkpoint of an earlier version (its replay buffer held the transitions alone, no draws) is refused clearly
    raw = io.load_pytree(latest)
    raw["replay"]["data"] = raw["replay"]["data"]["0"]
    io.save_pytree(latest, raw)
    code, _, err = run_cli(capsys, ["train", config, "train.num_iterations=8", f"resume={partial}"])
    assert code == 2 and "does not fit this version of jaxirl" in err and "replay/data" in err and "Traceback" not in err


def test_eval_of_train_run(airl_run, capsys):
    code, out, _ = run_cli(capsys, ["eval", airl_run])  # eval.num_envs=4 from the saved config
    assert code == 0
    result = json.loads(out)
    assert result["episodes"] == 4 and np.isfinite(result["return_deterministic"])
    # scored under the run's own normaliser (its summary's expert and random returns, not the eval's own random rollout)
    summary = io.read_json(os.path.join(airl_run, "summary.json"))
    norm = result["normaliser"]
    assert (norm["expert_return"], norm["random_return"]) == (summary["expert_return"], summary["random_return"])
    assert result["score_deterministic"] == pytest.approx(
        (result["return_deterministic"] - summary["random_return"]) / (summary["expert_return"] - summary["random_return"]))
    assert io.read_json(os.path.join(airl_run, "eval.json"))["score_stochastic"] == result["score_stochastic"]
    # any number of evaluation envs: PPO's minibatch settings do not bind a policy that only acts (a run trained
    # with 50 steps in 4 minibatches was refused with eval.num_envs=3: 150 is not divisible by 4)
    code, out, err = run_cli(capsys, ["eval", airl_run, "eval.num_envs=3"])
    assert code == 0 and json.loads(out)["episodes"] == 3, err
    from jaxirl.envs import make
    from jaxirl.jobs.evaluate import acting_config, ppo_config

    section = {"num_steps": 50, "num_minibatches": 4, "hidden": [16]}
    with pytest.raises(ValueError, match="ppo.num_minibatches: must divide"):
        ppo_config(section, make("pointmass", 3))
    assert acting_config(section, make("pointmass", 3)).hidden == (16,)


def test_eval_env_kwargs_train_on_one_env_score_on_another(expert_run, airl_run, tmp_path, capsys):
    """``eval.env_kwargs`` gives the evaluation env (and the demonstrations' check) its own constructor
    arguments; ``jaxirl eval`` of a saved run uses them too."""
    import shutil

    import jaxirl.jobs.train as train_job
    from jaxirl.config import load_config
    from jaxirl.jobs.evaluate import eval_env_section, make_env

    def cfg_of(*extra):
        argv = train_argv(expert_run, tmp_path, "airl", *extra)
        cfg = load_config(argv[1], argv[2:], train_job.defaults())
        train_job._check(cfg)
        return cfg

    # demos recorded on the standard env: fine for training with other kwargs when evaluation uses the standard ones
    cfg = cfg_of("env.kwargs={action_cost: 0.5}", "eval.env_kwargs={}")
    assert eval_env_section(cfg["env"], cfg["eval"])["kwargs"] == {}
    train_job._load_demos(cfg, make_env(cfg["env"]))
    cfg = cfg_of("env.kwargs={action_cost: 0.5}")
    with pytest.raises(ValueError, match=r"env\.kwargs \(the evaluation env's\)"):
        train_job._load_demos(cfg, make_env(cfg["env"]))
    cfg = cfg_of("eval.env_kwargs={action_cost: 0.5}")
    with pytest.raises(ValueError, match=r"eval\.env_kwargs \(the evaluation env's\)"):
        train_job._load_demos(cfg, make_env(cfg["env"]))
    with pytest.raises(ValueError, match="eval.env_kwargs: expected a mapping"):
        cfg_of("eval.env_kwargs=3")
    # jaxirl eval follows the saved eval.env_kwargs: a copy of a run whose training env had another action
    # cost evaluates exactly like the original (whose env was the standard one) when eval.env_kwargs={}
    code, out, _ = run_cli(capsys, ["eval", airl_run])
    reference = json.loads(out)
    run = str(tmp_path / "copy")
    shutil.copytree(airl_run, run)
    saved = io.read_config(run)
    saved["env"]["kwargs"] = {"action_cost": 0.5}
    for env_kwargs, same in (({}, True), (None, False)):
        saved["eval"]["env_kwargs"] = env_kwargs
        io.write_config(run, saved)
        code, out, _ = run_cli(capsys, ["eval", run])
        assert code == 0
        got = json.loads(out)
        assert (got["return_deterministic"] == reference["return_deterministic"]) == same


@pytest.mark.parametrize("name", sorted(n for n in os.listdir(CONFIGS) if n.endswith(".yaml") and n[:4] in ("gail", "gaif", "airl", "expe", "bc_p", "bc_w", "bc_h", "bc_a")))
def test_shipped_configs_are_valid(name):
    """Every shipped expert/gail/airl/bc config loads and builds its validated config structs (no env is made)."""
    import jaxirl.jobs.bc as bc_job
    import jaxirl.jobs.expert as expert_job
    import jaxirl.jobs.train as train_job
    from jaxirl.config import load_config
    from jaxirl.envs import env_names
    from jaxirl.jobs.evaluate import ppo_config

    path = os.path.join(CONFIGS, name)
    stem = name.split("_", 1)[1][: -len(".yaml")]
    if name.startswith("expert"):
        cfg = load_config(path, [], expert_job.defaults())
        expert_job._check(cfg)
        ppo_config(cfg["ppo"])
    elif name.startswith("bc_"):
        from jaxirl.bc import BCConfig
        from jaxirl.config import to_struct

        cfg = load_config(path, [], bc_job.defaults())
        bc_job._check(cfg, to_struct(BCConfig, cfg["bc"], name="bc").validate())
        ppo_config(cfg["ppo"])
        assert cfg["demos"]["path"] == f"demos/{stem}.npz"
        # the policy network of a GAIL or AIRL config of the same env (a clone can warm-start it)
        keys = ("hidden", "activation", "policy_head", "normalize_obs")
        others = [load_config(os.path.join(CONFIGS, f"{alg}_{stem}.yaml"), [], train_job.defaults())["ppo"]
                  for alg in ("gail", "airl")]
        assert any(all(cfg["ppo"][k] == o[k] for k in keys) for o in others)
    else:
        cfg = load_config(path, [], train_job.defaults())
        train_job._check(cfg)
        config = train_job._train_config(cfg)
        if name.startswith("gaifo_"):  # GAIL from observations only: D(s, s'), the actions dropped
            assert config.algorithm == "gail" and cfg["discriminator"]["inputs"] == "ss" and cfg["demos"]["drop_actions"]
            assert config.bc.steps == 0 and config.bc.coef == 0
        else:
            assert config.algorithm == name.split("_")[0]
        assert cfg["demos"]["path"] == f"demos/{stem}.npz"
    # configs/<kind>_<env>.yaml, or <kind>_<env>_<backend>.yaml for a variant on another physics backend
    assert stem in (cfg["env"]["name"], f"{cfg['env']['name']}_{cfg['env']['backend']}") and cfg["env"]["name"] in env_names()
    if not name.startswith("bc_"):
        assert (cfg["ppo"]["num_steps"] * cfg["env"]["num_envs"]) % cfg["ppo"]["num_minibatches"] == 0


def test_train_rejects_mismatched_demos(expert_run, tmp_path, capsys):
    code, _, err = run_cli(capsys, train_argv(expert_run, tmp_path, "gail", "env.episode_length=20"))
    assert code == 2 and "episode_length=10 but the target environment has episode_length=20" in err
    code, _, err = run_cli(capsys, train_argv(expert_run, tmp_path, "gail", "env.kwargs.dt=0.2"))
    assert code == 2 and "env kwargs" in err
    code, _, err = run_cli(capsys, train_argv(expert_run, tmp_path, "gail", "train.algorithm=bc"))
    assert code == 2 and "algorithm" in err
    assert not os.listdir(tmp_path)


# ------------------------------------------------------------------ run-folder helpers and progress bar

def test_run_dirs_are_unique(tmp_path):
    dirs = {io.make_run_dir(tmp_path, "gail-pointmass") for _ in range(3)}
    assert len(dirs) == 3 and all(os.path.isdir(d) for d in dirs)
    assert all(os.path.basename(d).startswith("gail-pointmass-20") for d in dirs)
    with pytest.raises(ValueError, match="prefix"):
        io.make_run_dir(tmp_path, "a/b")


def test_pytree_and_checkpoint_round_trip_exactly(tmp_path):
    import jax
    import jax.numpy as jnp
    import optax
    from flax import struct

    @struct.dataclass
    class State:
        params: dict
        opt_state: object
        key: jax.Array
        typed_key: jax.Array
        step: jax.Array
        name: str = struct.field(pytree_node=False, default="s")

    params = {"w": jax.random.normal(jax.random.PRNGKey(0), (3, 2)), "b": jnp.arange(2, dtype=jnp.int32)}
    opt = optax.adam(1e-3)
    state = State(params, opt.init(params), jax.random.PRNGKey(7), jax.random.key(3), jnp.asarray(5, jnp.int32))
    template = State(jax.tree.map(jnp.zeros_like, params), opt.init(params), jax.random.PRNGKey(0),
                     jax.random.key(0), jnp.asarray(0, jnp.int32))
    path = io.save_checkpoint(str(tmp_path), 5, state, {"note": "x"})
    io.save_checkpoint(str(tmp_path), 12, state)
    assert io.latest_checkpoint(str(tmp_path)) == (12, os.path.join(str(tmp_path), "checkpoints", "checkpoint-12.msgpack"))
    restored, info = io.load_checkpoint(path, template)
    assert info["iteration"] == 5 and info["note"] == "x" and info["rng"] == [0, 7]
    for a, b in zip(jax.tree.leaves(restored), jax.tree.leaves(state)):
        if jnp.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    raw = io.load_pytree(os.path.join(str(tmp_path), "checkpoints", "checkpoint-12.msgpack"))
    np.testing.assert_array_equal(raw["params"]["w"], np.asarray(params["w"]))
    with pytest.raises(io.StructureMismatch, match="expected"):  # a ValueError: the jobs report it as a usage error
        io.load_pytree(path, {"params": {"w": jnp.zeros((4, 2)), "b": jnp.zeros(2, jnp.int32)}})
    with pytest.raises(io.StructureMismatch, match="array of shape"):
        io.load_pytree(path, template.replace(params={"w": jnp.zeros((2, 2)), "b": jnp.zeros(2, jnp.int32)}))
    # dtypes are the template's: a float of another width is cast, another kind is a mismatch
    half = io.load_pytree(path, template.replace(params={"w": jnp.zeros((3, 2), jnp.bfloat16), "b": jnp.zeros(2, jnp.int32)}))
    assert half.params["w"].dtype == jnp.bfloat16
    with pytest.raises(io.StructureMismatch, match="array of dtype int32 where float32 was expected"):
        io.load_pytree(path, template.replace(params={"w": jnp.zeros((3, 2)), "b": jnp.zeros(2)}))
    io.save_pytree(str(tmp_path / "np.msgpack"), {"a": np.arange(3)})  # NumPy int64 (32-bit in JAX outside x64)
    back = io.load_pytree(str(tmp_path / "np.msgpack"), {"a": np.arange(3)})
    np.testing.assert_array_equal(np.asarray(back["a"]), np.arange(3))


def test_prune_keeps_complete_checkpoints_and_resume_names_its_field(tmp_path):
    """An unfinished checkpoint (its .msgpack without the .json written last) never counts towards
    ``keep_checkpoints``: a newer one cannot push out the only complete one, an older one is deleted."""
    import jax.numpy as jnp

    run = str(tmp_path / "run")
    for it in (2, 4, 6):
        io.save_checkpoint(run, it, {"x": jnp.zeros(2)})
    folder = os.path.join(run, "checkpoints")
    os.remove(os.path.join(folder, "checkpoint-6.json"))  # interrupted between the two writes
    os.remove(os.path.join(folder, "checkpoint-2.json"))
    # a hard kill mid-write leaves atomic_write's temporary file: a dead process's is deleted, a live one's kept
    import subprocess
    import sys
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    for where in (folder, run):
        for pid in (dead_pid, os.getpid(), 1):
            open(os.path.join(where, f"checkpoint-8.msgpack.tmp-{pid}"), "wb").close()
    io.prune_checkpoints(run, 1)
    for where in (folder, run):
        left = [n for n in os.listdir(where) if ".tmp-" in n]
        assert sorted(left) == sorted(f"checkpoint-8.msgpack.tmp-{p}" for p in (os.getpid(), 1)), left
        for pid in (os.getpid(), 1):
            os.remove(os.path.join(where, f"checkpoint-8.msgpack.tmp-{pid}"))
    assert sorted(os.listdir(folder)) == ["checkpoint-4.json", "checkpoint-4.msgpack", "checkpoint-6.msgpack"]
    assert io.latest_checkpoint(run)[0] == 4
    with pytest.raises(ValueError, match="resume: .* is not a run folder .no config.yaml."):
        io.check_resume(run, {}, {}, set())
    io.write_config(run, {"demos": {"expert_return": 1.0}})  # e.g. a `jaxirl train` run given to `jaxirl expert`
    with pytest.raises(ValueError, match="resume: .* is not a run of this job .its config.yaml does not fit"):
        io.check_resume(run, {"demos": {"path": None}}, {"demos": {"path": None}}, set())


def test_metrics_writer_truncates_on_resume(tmp_path):
    path = str(tmp_path / "metrics.jsonl")
    with io.MetricsWriter(path) as log:
        for i in range(1, 6):
            log.write({"iteration": np.int32(i), "loss": np.float32(1.0 / i), "nan": float("nan")})
    with io.MetricsWriter(path, truncate_after=3) as log:
        log.write({"iteration": 4, "loss": 9.0})
    records = io.read_metrics(path)
    assert [r["iteration"] for r in records] == [1, 2, 3, 4] and records[-1]["loss"] == 9.0
    assert records[0]["nan"] is None                                 # strict JSON: NaN written as null
    assert io.plot_learning_curve(records, str(tmp_path / "c.png"), ["loss", "absent"]) is not None
    assert io.plot_learning_curve(records, str(tmp_path / "d.png"), ["absent"]) is None


def test_progress_bar_without_tty_prints_every_tenth(tmp_path):
    import io as pyio

    import jax
    import jax.numpy as jnp

    from jaxirl.progress import ProgressBar

    stream = pyio.StringIO()
    bar = ProgressBar(50, desc="t", score_key="score", stream=stream)

    def body(i, _):
        jax.debug.callback(bar.callback, i + 1, {"score": i * 2.0})
        return i + 1, None

    jax.block_until_ready(jax.jit(lambda: jax.lax.scan(body, jnp.int32(0), None, length=50))())
    bar.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10 and "\r" not in stream.getvalue()
    assert lines[0].startswith("t [") and "5/50" in lines[0] and "score=8" in lines[0]
    assert "50/50 100.0%" in lines[-1] and "score=98" in lines[-1]
    bar2 = ProgressBar(10, stream=stream)
    bar2.start_at(4)
    bar2.update(3)                                                    # going backwards is ignored
    assert bar2.done == 4


def test_compile_cache_folder_choice(monkeypatch, tmp_path):
    """``JAXIRL_COMPILE_CACHE`` picks the persistent compilation cache folder or turns it off; the default is
    under ``XDG_CACHE_HOME``; a folder already set for JAX (here: the test suite's) is left as it is."""
    import jax

    from jaxirl import cli

    monkeypatch.delenv("JAXIRL_COMPILE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cli.compile_cache_dir() == os.path.join(str(tmp_path), "jaxirl", "xla")
    for off in ("off", "0", "", "none"):
        monkeypatch.setenv("JAXIRL_COMPILE_CACHE", off)
        assert cli.compile_cache_dir() is None
    monkeypatch.setenv("JAXIRL_COMPILE_CACHE", str(tmp_path / "c"))
    assert cli.compile_cache_dir() == str(tmp_path / "c")
    before = jax.config.jax_compilation_cache_dir
    assert before  # set by conftest.py
    cli._enable_compile_cache()
    assert jax.config.jax_compilation_cache_dir == before


def test_compile_cache_is_written_in_a_fresh_process(tmp_path):
    """In a process where nobody configured JAX's cache, the CLI's set-up makes compiled programs land in the
    chosen folder (so a second run of the same configuration loads them instead of compiling)."""
    import subprocess
    import sys

    code = ("from jaxirl.cli import _enable_compile_cache; _enable_compile_cache(); import jax; "
            "print(jax.jit(lambda x: x * 2 + 1)(1.0))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")}
    env.update(PYTHONPATH=os.path.abspath(ROOT), JAXIRL_COMPILE_CACHE=str(tmp_path / "xla"),
               JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "3.0"
    assert any(name.startswith("jit_") for name in os.listdir(tmp_path / "xla"))
    env["JAXIRL_COMPILE_CACHE"] = "off"
    env["XDG_CACHE_HOME"] = str(tmp_path / "home")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0 and not (tmp_path / "home").exists()


# --- reward transfer: PPO on a learned reward (jaxirl expert train.reward_run=RUN_DIR) ------------------------------

def _reward_folder(path, kind, absorbing_param, reward_type=None):
    """A run folder holding only a reward model (the two files `jaxirl train` writes for it)."""
    import dataclasses

    import jax

    import jaxirl.jobs.train as train_job
    from jaxirl import reward as reward_lib

    model = reward_lib.RewardModel(kind=kind, obs_size=3, action_size=2, inputs="s" if kind == "airl" else "sa",
                                   hidden=(8,), potential_hidden=(8,), absorbing=True, absorbing_scale=10.0).validate()
    params = reward_lib.init(model, jax.random.PRNGKey(1))
    params = params.replace(net={**params.net, "absorbing": jax.numpy.asarray(absorbing_param, jax.numpy.float32)})
    os.makedirs(path)
    io.save_pytree(os.path.join(path, train_job.REWARD_FILE), params)
    io.write_json(os.path.join(path, train_job.REWARD_MODEL_FILE),
                  {"model": dataclasses.asdict(model), "algorithm": kind, "reward_type": reward_type, "discount": 0.9})
    return model, params


@pytest.mark.parametrize("kind, reward_type", [("airl", None), ("gail", "gail")])
def test_transfer_reward_adds_the_absorbing_states_future_at_terminations(tmp_path, kind, reward_type):
    """load_transfer_reward: the learned r(s, a) everywhere, plus r_abs · γ / (1 − γ) where the episode terminated
    (r_abs: AIRL's learned f of the absorbing state; GAIL: its logit in the run's reward form, here softplus)."""
    import jax
    import jax.numpy as jnp

    import jaxirl.jobs.train as train_job
    from jaxirl import reward as reward_lib
    from jaxirl.envs import Transition

    model, params = _reward_folder(str(tmp_path / "run"), kind, -0.3, reward_type)
    k = jax.random.split(jax.random.PRNGKey(2), 3)
    tr = Transition(obs=jax.random.normal(k[0], (5, 3)), action=jax.random.uniform(k[1], (5, 2)),
                    reward=jnp.zeros(5), next_obs=jax.random.normal(k[2], (5, 3)),
                    terminated=jnp.array([0.0, 1.0, 0.0, 0.0, 1.0]), truncated=jnp.array([0.0, 0.0, 1.0, 0.0, 0.0]))
    got = np.asarray(train_job.load_transfer_reward(str(tmp_path / "run"))(tr, 0.9))
    base = np.asarray(reward_lib.reward_fn(model, params, reward_type)(tr.obs, tr.action, tr.next_obs))
    score = 10.0 * -0.3
    r_abs = score if kind == "airl" else float(jax.nn.softplus(score))
    want = base + np.asarray(tr.terminated) * r_abs * 0.9 / 0.1
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert not np.allclose(got, base)  # the bonus is there, at the two terminations only (not at the truncation)
    without = np.asarray(train_job.load_transfer_reward(str(tmp_path / "run"), absorbing=False)(tr, 0.9))
    np.testing.assert_allclose(without, base, rtol=1e-6)  # the ablation: no absorbing term
    # the term is added only where an episode terminated: γ = 1 (which the expert job refuses for it: the
    # absorbing state's worth is infinite) left NaN (0 · inf) on every other transition
    transfer = train_job.load_transfer_reward(str(tmp_path / "run"))
    assert transfer.absorbing and not train_job.load_transfer_reward(str(tmp_path / "run"), absorbing=False).absorbing
    at_one = np.asarray(transfer(tr, 1.0))
    np.testing.assert_allclose(at_one[np.asarray(tr.terminated) == 0], base[np.asarray(tr.terminated) == 0], rtol=1e-6)


def test_expert_job_trains_on_a_learned_reward(airl_run, tmp_path, capsys):
    """`jaxirl expert ... train.reward_run=RUN`: PPO trains on the run's learned reward (logged as reward_mean, the
    true one beside it), is evaluated on the TRUE reward and scored with the run's own normaliser."""
    code, out, err = run_cli(capsys, ["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), *TINY_ENV, *TINY_PPO,
                                      "train.num_updates=4", "train.log_every=2", "demos.num_episodes=2",
                                      "demos.num_envs=2", "eval.num_envs=4", f"run.root={tmp_path}",
                                      f"train.reward_run={airl_run}"])
    assert code == 0, err
    summary = json.loads(out)
    assert summary["reward_run"] == airl_run
    ref = json.load(open(os.path.join(airl_run, "summary.json")))
    want = (summary["return_deterministic"] - ref["random_return"]) / (ref["expert_return"] - ref["random_return"])
    assert summary["score_det"] == pytest.approx(want)
    records = io.read_metrics(os.path.join(summary["run_dir"], "metrics.jsonl"))
    assert all(np.isfinite(r["reward_mean"]) and np.isfinite(r["true_reward_mean"]) for r in records)
    assert any(abs(r["reward_mean"] - r["true_reward_mean"]) > 1e-3 for r in records)  # not the true reward
    assert load_demos(summary["demos_path"])[1]["reward_run"] == airl_run
    # jaxirl eval of that run scores it on the same (the reward run's) scale, not its own demonstrations' mean
    code, out, _ = run_cli(capsys, ["eval", summary["run_dir"]])
    result = json.loads(out)
    assert code == 0 and result["normaliser"]["expert_return"] == ref["expert_return"]
    assert result["score_deterministic"] == pytest.approx(summary["score_det"], rel=1e-5)


@pytest.mark.parametrize("extra, message", [
    (["train.reward_run=no/such/run"], "train.reward_run: expected the folder of a `jaxirl train` run"),
    (["train.reward_which=logit"], "train.reward_which: only with train.reward_run"),
    (["train.keep_best=true", "RUN"], "train.keep_best: with train.reward_run the policy must not be chosen by its TRUE"),
    (["train.num_seeds=2", "RUN"], "train.num_seeds: with train.reward_run"),
    (["train.reward_run=MISMATCH"], "its reward takes observations of size 3"),
    (["RUN", "train.reward_which=log_d"], "train.reward_which: for a 'airl' reward model expected one of g"),
])
def test_expert_job_reward_run_errors(airl_run, tmp_path, capsys, extra, message):
    if "train.reward_run=MISMATCH" in extra:  # a reward model made for another env's sizes
        _reward_folder(str(tmp_path.parent / f"{tmp_path.name}-reward"), "airl", 0.0)
        extra = [f"train.reward_run={tmp_path.parent / (tmp_path.name + '-reward')}"]
    extra = [f"train.reward_run={airl_run}" if e == "RUN" else e for e in extra]
    code, out, err = run_cli(capsys, ["expert", os.path.join(CONFIGS, "expert_pointmass.yaml"), *TINY_ENV,
                                      f"run.root={tmp_path}", *extra])
    assert code == 2 and message in err and "Traceback" not in err
    assert not os.listdir(tmp_path)


def test_chunk_lengths_and_the_note_on_extra_compiles(capsys):
    """A chunk length is static in the compiled program: a run whose chunks differ in length compiles once per
    length (a short last chunk of a Brax run: as long again as the first compile), and the jobs say so up front."""
    from jaxirl.jobs import chunk_lengths, note_extra_compiles

    assert chunk_lengths(0, 7, 2) == [2, 2, 2, 1] and chunk_lengths(4, 7, 2) == [2, 1]
    assert chunk_lengths(3, 9, 2, aligned=True) == [1, 2, 2, 1]  # the expert job's realigned chunks
    assert chunk_lengths(0, 6, 2) == [2, 2, 2] and chunk_lengths(6, 6, 2) == []
    note_extra_compiles("train", [2, 2, 2], "run.chunk", "train.num_iterations")
    note_extra_compiles("train", [], "run.chunk", "train.num_iterations")
    assert capsys.readouterr().err == ""
    note_extra_compiles("train", [2, 2, 1], "run.chunk", "train.num_iterations")
    err = capsys.readouterr().err
    assert "2 lengths (2, 1 iterations)" in err and "run.chunk that divides train.num_iterations" in err


# --- from a third mutation audit -------------------------------------------------------------------------------------

# M4 (cli.py): a file that cannot be read or written (OSError) exits with status 2 and one error line, no traceback
def test_cli_reports_an_os_error_with_status_2(monkeypatch, capsys):
    import jaxirl.jobs.tabular as job

    def fail(config, overrides):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(job, "main", fail)
    assert main(["tabular", "whatever.yaml"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("jaxirl tabular: error: ") and "No space left on device" in err and "Traceback" not in err


# M15 (jobs/evaluate.py): `jaxirl eval` of a `jaxirl train` run evaluates over the run's own train.eval_steps window
# (unless eval.num_steps is given); a run folder is faked: config.yaml + an untrained policy.msgpack
def test_eval_of_a_train_run_uses_its_eval_steps_window(tmp_path):
    import os

    from jaxirl.jobs import evaluate as ev
    from jaxirl.rl import ppo

    run = str(tmp_path / "run")
    os.makedirs(run)
    env_section = {**ev.ENV_DEFAULTS, "num_envs": 2, "episode_length": 10}
    ppo_section = {**ev.ppo_defaults(), "hidden": [8], "num_steps": 10, "num_minibatches": 1}
    io.write_config(run, {"env": env_section, "ppo": ppo_section, "train": {"eval_steps": 25},
                          "eval": {"num_envs": 2, "seed": 0, "num_steps": 0, "env_kwargs": None}})
    env = ev.make_env(env_section)
    config = ev.acting_config(ppo_section, env)
    io.save_pytree(os.path.join(run, ev.POLICY_FILE), ppo.init(config, env, jax.random.PRNGKey(0)))
    assert ev.main(run)["eval"]["num_steps"] == 25
    assert ev.main(run, ["eval.num_steps=30"])["eval"]["num_steps"] == 30
