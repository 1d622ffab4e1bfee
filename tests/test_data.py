"""Demonstration files: collection of complete episodes, save/load round trip, every validation error."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxirl.data import (collect_demos, env_metadata, first_episodes, load_demos, save_demos,
                         terminations_as_truncations)
from jaxirl.envs import BaseState, PointMass, Transition, VecEnv, scripted_action


class Faller:
    """Tiny env that terminates at random (probability 0.3 per step): episodes of varied length."""

    observation_size = 2
    action_size = 1
    backend = "jax"

    def reset(self, rng):
        z = jnp.zeros((), jnp.float32)
        return BaseState(pipeline_state={"key": rng, "t": z}, obs=jnp.stack([z, z]), reward=z, done=z)

    def step(self, state, action):
        key, sub = jax.random.split(state.pipeline_state["key"])
        t = state.pipeline_state["t"] + 1.0
        done = (jax.random.uniform(sub) < 0.3).astype(jnp.float32)
        reward = 1.0 + action[0]
        return state.replace(pipeline_state={"key": key, "t": t}, obs=jnp.stack([t, action[0]]),
                             reward=reward, done=done)


def point_env(num_envs=3, episode_length=10):
    return VecEnv(PointMass(), num_envs, episode_length, name="pointmass")


@pytest.fixture(scope="module")
def demos():
    env = point_env()
    tr, returns = collect_demos(env, lambda obs, key: scripted_action(obs), jax.random.PRNGKey(0), 5)
    return env, tr, returns


def test_collect_gives_exactly_n_complete_episodes(demos):
    env, tr, returns = demos
    assert returns.shape == (5,)
    assert tr.obs.shape == (50, 6) and tr.action.shape == (50, 2)   # no termination: 5 x 10 steps
    ends = tr.truncated.reshape(5, 10)
    np.testing.assert_array_equal(ends[:, -1], 1.0)
    np.testing.assert_array_equal(ends[:, :-1], 0.0)
    np.testing.assert_allclose(tr.reward.reshape(5, 10).sum(1), returns, rtol=1e-6)
    # consecutive transitions of an episode chain: next_obs[t] == obs[t+1]
    o = tr.obs.reshape(5, 10, 6)
    no = tr.next_obs.reshape(5, 10, 6)
    np.testing.assert_array_equal(no[:, :-1], o[:, 1:])
    # the scripted expert is much better than doing nothing
    assert returns.mean() > -8.0


def test_collect_with_terminations_keeps_whole_episodes():
    env = VecEnv(Faller(), 2, 8, name="faller")
    tr, returns = collect_demos(env, lambda obs, key: jax.random.uniform(key, (2, 1)), jax.random.PRNGKey(1), 7)
    done = np.asarray((tr.terminated > 0) | (tr.truncated > 0))
    assert done.sum() == 7 and done[-1]
    starts = np.concatenate([[0], np.flatnonzero(done)[:-1] + 1])
    np.testing.assert_array_equal(tr.obs[starts, 0], 0.0)              # every episode starts at t=0
    np.testing.assert_allclose(np.add.reduceat(tr.reward, starts), returns, rtol=1e-6)
    lengths = np.diff(np.concatenate([starts, [len(done)]]))
    # step counter inside each episode runs 1..length
    for s, n in zip(starts, lengths):
        np.testing.assert_array_equal(tr.next_obs[s:s + n, 0], np.arange(1, n + 1))
    assert (tr.truncated > 0).sum() == (lengths == 8).sum()
    with pytest.raises(ValueError, match="num_episodes"):
        collect_demos(env, lambda obs, key: obs[:, :1], jax.random.PRNGKey(1), 0)


def test_terminations_as_truncations_keeps_episodes_and_ends_none():
    """``demos.terminations: truncate``: every episode ends where it ended, but as a truncation."""
    env = VecEnv(Faller(), 2, 3, name="faller")   # short episodes: some fall, some reach the time limit
    tr, _ = collect_demos(env, lambda obs, key: jax.random.uniform(key, (2, 1)), jax.random.PRNGKey(2), 9)
    assert (tr.terminated > 0).sum() >= 3 and (tr.truncated > 0).sum() >= 1   # both kinds of ending present
    out = terminations_as_truncations(tr)
    np.testing.assert_array_equal(out.terminated, 0.0)
    np.testing.assert_array_equal(out.truncated, np.asarray((tr.terminated > 0) | (tr.truncated > 0), np.float32))
    for name in ("obs", "action", "reward", "next_obs"):
        np.testing.assert_array_equal(np.asarray(getattr(out, name)), np.asarray(getattr(tr, name)))
    with pytest.raises(ValueError, match="demos: expected a jaxirl.envs.Transition"):
        terminations_as_truncations({"terminated": tr.terminated})


def test_train_job_applies_demos_terminations(tmp_path, demos):
    """The ``demos.terminations`` key of ``jaxirl train``: validated, and ``truncate`` rewrites the file's
    terminations on loading (here a pointmass file whose episodes are marked as terminated)."""
    import jaxirl.jobs.train as train_job
    from jaxirl.config import load_config
    from jaxirl.jobs.evaluate import make_env

    env, tr, returns = demos
    path = str(tmp_path / "falls.npz")
    save_demos(path, tr.replace(terminated=tr.truncated, truncated=np.zeros_like(tr.truncated)), returns,
               env_metadata(env))
    base = ["env.num_envs=3", "env.episode_length=10", f"demos.path={path}"]
    for mode, want_terminated in (("keep", 5.0), ("truncate", 0.0)):
        cfg = load_config(None, base + [f"demos.terminations={mode}"], train_job.defaults())
        train_job._check(cfg)
        loaded, _ = train_job._load_demos(cfg, make_env(cfg["env"]))
        assert float(loaded.terminated.sum()) == want_terminated
        assert float((loaded.terminated + loaded.truncated).sum()) == 5.0
    cfg = load_config(None, base + ["demos.terminations=drop"], train_job.defaults())
    with pytest.raises(ValueError, match="demos.terminations: expected one of keep, truncate, got 'drop'"):
        train_job._check(cfg)


def test_first_episodes_keeps_whole_episodes_and_the_normaliser(tmp_path):
    """``demos.episodes: N``: the first N complete episodes (varied lengths), their metadata cut to match, the
    whole file's expert return kept; out-of-range counts raise, also through the train job's checks."""
    import jaxirl.jobs.train as train_job
    from jaxirl.config import load_config

    env = VecEnv(Faller(), 2, 4, name="faller")
    tr, returns = collect_demos(env, lambda obs, key: jax.random.uniform(key, (2, 1)), jax.random.PRNGKey(3), 7)
    path = str(tmp_path / "faller.npz")
    save_demos(path, tr, returns, env_metadata(env))
    full, meta = load_demos(path)
    lengths = np.asarray(meta["episode_lengths"])
    assert len(set(lengths.tolist())) > 1  # episodes of different lengths
    for n in (1, 3, 7):
        part, pmeta = first_episodes(full, meta, n)
        m = int(lengths[:n].sum())
        assert part.obs.shape[0] == m == pmeta["num_transitions"] and pmeta["num_episodes"] == pmeta["episodes_used"] == n
        np.testing.assert_array_equal(np.asarray(part.action), np.asarray(full.action)[:m])
        ends = np.asarray(part.terminated) + np.asarray(part.truncated)
        assert int((ends > 0).sum()) == n and ends[-1] > 0  # n complete episodes, the last one ending at the cut
        np.testing.assert_array_equal(pmeta["episode_returns"], np.asarray(meta["episode_returns"])[:n])
        assert pmeta["expert_return"] == meta["expert_return"]  # the normaliser is the whole file's
        # ... also where the file records none: the whole set's mean, not the cut's
        assert first_episodes(full, {**meta, "expert_return": None}, n)[1]["expert_return"] == \
            pytest.approx(float(np.mean(meta["episode_returns"])))
    # non-finite metadata returns are refused when saving (they were written as ±1e308 or null)
    for key in ("expert_return", "random_return", "eval_return_deterministic", "eval_return_stochastic"):
        for bad in (float("inf"), float("nan"), np.float32(-np.inf)):
            with pytest.raises(ValueError, match=f"metadata {key}: expected a finite number"):
                save_demos(str(tmp_path / "bad.npz"), tr, returns, {**env_metadata(env), key: bad})
    for bad in (0, 8, 2.5, True):
        with pytest.raises(ValueError, match=r"demos.episodes: expected an int in \[1, 7\]"):
            first_episodes(full, meta, bad)
    with pytest.raises(ValueError, match="metadata: no episode_starts / episode_lengths"):  # not load_demos' output
        first_episodes(full, {"env": "faller"}, 1)
    cfg = load_config(None, ["demos.episodes=0"], train_job.defaults())
    with pytest.raises(ValueError, match="demos.episodes: expected an int >= 1"):
        train_job._check(cfg)


def test_round_trip_equal(tmp_path, demos):
    env, tr, returns = demos
    path = str(tmp_path / "d.npz")
    save_demos(path, tr, returns, {**env_metadata(env), "source": "scripted"})
    loaded, meta = load_demos(path, env)
    assert isinstance(loaded, Transition)
    for a, b in zip(jax.tree.leaves(loaded), jax.tree.leaves(tr)):
        assert a.dtype == jnp.float32
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert meta["env"] == "pointmass" and meta["backend"] == "jax" and meta["source"] == "scripted"
    assert meta["num_episodes"] == 5 and meta["num_transitions"] == 50 and meta["episode_length"] == 10
    assert meta["expert_return"] == pytest.approx(float(returns.mean()))
    np.testing.assert_array_equal(meta["episode_starts"], np.arange(0, 50, 10))
    np.testing.assert_array_equal(meta["episode_lengths"], np.full(5, 10))
    assert meta["jaxirl_version"] and meta["created"]


def test_discrete_round_trip(tmp_path):
    m = 6
    tr = Transition(obs=np.eye(3, dtype=np.float32)[np.arange(m) % 3], action=np.arange(m, dtype=np.int32) % 2,
                    reward=np.ones(m, np.float32), next_obs=np.eye(3, dtype=np.float32)[(np.arange(m) + 1) % 3],
                    terminated=np.zeros(m, np.float32), truncated=np.array([0, 0, 1, 0, 0, 1], np.float32))
    path = str(tmp_path / "t.npz")
    save_demos(path, tr, [3.0, 3.0], {"env": "tabular", "episode_length": 3, "num_actions": 2})
    loaded, meta = load_demos(path)
    assert loaded.action.dtype == jnp.int32 and loaded.action.shape == (m,)
    assert meta["discrete"] is True and meta["action_size"] == 1


def _meta(arrays, **changes):
    arrays["metadata"] = np.array(json.dumps({**json.loads(str(arrays["metadata"])), **changes}))


def arrays_of(path):
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


@pytest.mark.parametrize("change, message", [
    (lambda a: a.update(observations=a["observations"][:0], next_observations=a["next_observations"][:0]), "empty"),
    (lambda a: a.pop("rewards"), "missing array.*rewards"),
    (lambda a: a.pop("metadata"), "missing array.*metadata"),
    (lambda a: a.update(metadata=np.array("{not json")), "JSON"),
    (lambda a: a.update(metadata=np.array(json.dumps({"env": "pointmass"}))), "metadata is missing 'episode_length'"),
    (lambda a: a["observations"].__setitem__((3, 1), np.nan), "'observations' contains 1 NaN"),
    (lambda a: a["actions"].__setitem__((0, 0), np.inf), "'actions' contains 1 NaN/inf"),
    (lambda a: a.update(observations=a["observations"].astype(np.int32)), "'observations' must be float32"),
    (lambda a: a.update(actions=a["actions"].astype(np.int64)), "'actions' of shape .M, act_dim. must be float32"),
    (lambda a: a.update(actions=a["actions"][:, 0]), "discrete indices and must be int32"),
    (lambda a: a.update(rewards=a["rewards"][:-1]), "'rewards' must have shape \\(50,\\)"),
    (lambda a: a.update(next_observations=a["next_observations"][:, :4]), "'next_observations' must have shape"),
    (lambda a: a.update(observations=a["observations"][:, :, None]), "'observations' must have shape \\(M, obs_dim\\)"),
    (lambda a: a["truncated"].__setitem__(49, 0.0), "last episode is incomplete"),
    (lambda a: a["terminated"].__setitem__(4, 0.5), "only 0 and 1"),
    (lambda a: a["episode_returns"].__setitem__(0, 123.0), "differ from the sums"),
    # each episode against its own scale (one tolerance from the largest return let a small episode's 1.5 % pass)
    (lambda a: a["episode_returns"].__setitem__(0, a["episode_returns"][0] * 1.015), "differ from the sums.*episode 0"),
    (lambda a: a.update(episode_starts=a["episode_starts"].astype(np.float64)), "'episode_starts' must be integers"),
    (lambda a: _meta(a, discrete=True), "metadata discrete=True but the actions are vectors"),
    (lambda a: _meta(a, num_actions=4), "metadata num_actions=4 but the actions are continuous"),
    (lambda a: a.update(episode_starts=a["episode_starts"][:-1]), "'episode_starts' does not match"),
    (lambda a: a.update(episode_returns=a["episode_returns"][:-1]), "'episode_returns' must have shape \\(5,\\)"),
    (lambda a: a["terminated"].__setitem__(49, 1.0), "both 'terminated' and 'truncated' set"),
    (lambda a: a.update(observations=a["observations"].astype(np.float64) * np.where(np.arange(6) == 2, 1e39, 1.0)),
     "'observations' contains [0-9]+ NaN/inf value.s. .as float32."),       # finite in float64, inf once loaded
    (lambda a: a.update(episode_returns=a["episode_returns"].astype(str)), "'episode_returns' must be float32"),
    # the metadata jaxirl reads, with the types it reads them as
    (lambda a: _meta(a, expert_return=float("nan")), "metadata expert_return: expected a finite number or null"),
    (lambda a: _meta(a, random_return="low"), "metadata random_return"),
    (lambda a: _meta(a, episode_length=10.0), "metadata episode_length: expected a positive int, got 10.0"),
    (lambda a: _meta(a, observation_size=True), "metadata observation_size"),
    (lambda a: _meta(a, env=None), "metadata env: expected an environment name"),
    (lambda a: _meta(a, env_kwargs=[1]), "metadata env_kwargs: expected a mapping"),
    (lambda a: _meta(a, backend=3), "metadata backend"),
    (lambda a: _meta(a, num_episodes=999), "metadata num_episodes=999 but the arrays hold 5"),
    (lambda a: _meta(a, num_transitions=49), "metadata num_transitions=49 but the arrays hold 50"),
    # the metadata's sizes against the arrays (episodes of 10 steps, 6 observation columns, 2 action columns)
    (lambda a: _meta(a, episode_length=9), "an episode has 10 steps, more than metadata episode_length=9"),
    (lambda a: _meta(a, observation_size=5), "metadata observation_size=5 but observations have 6 columns"),
    (lambda a: _meta(a, action_size=3), "metadata action_size=3 but actions have size 2"),
])
def test_corrupted_files_raise(tmp_path, demos, change, message):
    env, tr, returns = demos
    good = str(tmp_path / "good.npz")
    save_demos(good, tr, returns, env_metadata(env))
    arrays = arrays_of(good)
    change(arrays)
    bad = str(tmp_path / "bad.npz")
    np.savez(bad, **arrays)
    with pytest.raises(ValueError, match=message):
        load_demos(bad)


@pytest.mark.parametrize("env_kwargs, message", [
    (dict(name="pointmass2"), "env='pointmass' but the target environment has env='pointmass2'"),
    (dict(episode_length=20), "episode_length=10 but the target environment has episode_length=20"),
    (dict(base=Faller()), "observation_size=6"),
])
def test_env_mismatch_raises(tmp_path, demos, env_kwargs, message):
    env, tr, returns = demos
    path = str(tmp_path / "d.npz")
    save_demos(path, tr, returns, env_metadata(env))
    kw = dict(base=PointMass(), num_envs=2, episode_length=10, name="pointmass")
    kw.update(env_kwargs)
    with pytest.raises(ValueError, match=message):
        load_demos(path, VecEnv(kw.pop("base"), **kw))


def test_backend_and_action_mismatch(tmp_path, demos):
    env, tr, returns = demos
    path = str(tmp_path / "d.npz")
    save_demos(path, tr, returns, {**env_metadata(env), "backend": "spring"})
    with pytest.raises(ValueError, match="backend='spring' but the target environment has backend='jax'"):
        load_demos(path, env)
    save_demos(path, tr.replace(action=tr.action[:, :1]), returns, {**env_metadata(env), "action_size": 1})
    with pytest.raises(ValueError, match="action_size=1 but the target environment has action_size=2"):
        load_demos(path, env)


def test_discrete_actions_must_be_indices_of_the_env(tmp_path):
    from jaxirl.envs import from_mdp
    from jaxirl.tabular import gridworld

    problem = gridworld(2)  # 4 states, 5 actions
    env = from_mdp(problem.mdp, problem.reward, num_envs=2, episode_length=3)
    m, eye = 6, np.eye(4, dtype=np.float32)
    tr = Transition(obs=eye[np.arange(m) % 4], action=np.array([0, 1, 2, 4, 0, 1], np.int32),
                    reward=np.ones(m, np.float32), next_obs=eye[(np.arange(m) + 1) % 4],
                    terminated=np.zeros(m, np.float32), truncated=np.array([0, 0, 1, 0, 0, 1], np.float32))
    meta = {k: v for k, v in env_metadata(env).items() if k != "num_actions"}
    path = str(tmp_path / "t.npz")
    with pytest.raises(ValueError, match=r"discrete 'actions': indices must lie in \[0, 4\), got values from 0 to 4"):
        save_demos(path, tr, [3.0, 3.0], {**meta, "num_actions": 4})
    with pytest.raises(ValueError, match=r"indices must lie in \[0, num_actions\), got values from -1 to 3"):
        save_demos(path, tr.replace(action=tr.action - 1), [3.0, 3.0], meta)
    save_demos(path, tr.replace(action=tr.action + 1), [3.0, 3.0], meta)  # no num_actions recorded: the env decides
    with pytest.raises(ValueError, match="discrete 'actions' go up to 5; the target environment has 5 actions"):
        load_demos(path, env)
    save_demos(path, tr, [3.0, 3.0], meta)
    assert load_demos(path, env)[0].action.max() == 4


def test_metadata_from_load_demos_saves_again(tmp_path, demos):
    """``load_demos``' metadata (with its episode arrays) and numpy scalars are written back as JSON."""
    env, tr, returns = demos
    path, again = str(tmp_path / "d.npz"), str(tmp_path / "again.npz")
    save_demos(path, tr, returns, {**env_metadata(env), "episode_length": np.int64(10)})
    loaded, meta = load_demos(path, env)
    few, few_meta = first_episodes(loaded, meta, 2)
    save_demos(again, few, few_meta["episode_returns"], few_meta)
    _, meta2 = load_demos(again, env)
    assert meta2["num_episodes"] == 2 and meta2["num_transitions"] == 20 and meta2["episodes_used"] == 2
    assert meta2["expert_return"] == meta["expert_return"]  # the expert's, not the subset's


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(ValueError, match="file not found"):
        load_demos(str(tmp_path / "nope.npz"))
    bad = tmp_path / "junk.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a .npz archive"):
        load_demos(str(bad))
    yaml_file = tmp_path / "c.yaml"                     # a config given where demonstrations belong
    yaml_file.write_text("env: {name: pointmass}\n")
    with pytest.raises(ValueError, match="not a .npz archive .expected a demonstrations file"):
        load_demos(str(yaml_file))
    z = np.zeros(2, np.float32)
    tr = Transition(obs=z[:, None], action=z[:, None], reward=z, next_obs=z[:, None], terminated=z, truncated=z + 1)
    with pytest.raises(ValueError, match="metadata: missing 'env'"):
        save_demos(str(tmp_path / "x.npz"), tr, [0.0, 0.0], {})


def test_shipped_pointmass_demos_load_for_the_config_env():
    import os

    from jaxirl.envs import make

    path = os.path.join(os.path.dirname(__file__), "..", "demos", "pointmass.npz")
    demos, meta = load_demos(path, make("pointmass", 4, episode_length=50))
    assert meta["num_episodes"] >= 16 and demos.obs.shape == (50 * meta["num_episodes"], 6)
    # a PPO expert: far above the uniformly random policy (about -51), near the scripted controller (about -3)
    assert meta["expert_return"] > -6.0 and meta["random_return"] < -40.0
    assert meta["env_kwargs"] == {}


# Shipped Brax experts: config stem -> (env, backend, minimum mean return). The generalized-backend ones
# (episode length 1000, made on an H100; halfcheetah's on an H200) carry the targets; the spring-backend ones were trained
# on a CPU for the CPU GAIL/AIRL runs (inverted_pendulum: return = steps upright, at most 1000).
BRAX_EXPERT_TARGETS = {
    "hopper": ("hopper", "generalized", 2000.0),
    "walker2d": ("walker2d", "generalized", 2000.0),
    "halfcheetah": ("halfcheetah", "generalized", 4000.0),
    "ant": ("ant", "generalized", 5000.0),
    "inverted_pendulum": ("inverted_pendulum", "spring", 950.0),
    "hopper_spring": ("hopper", "spring", 1400.0),  # a CPU expert: runs, then falls after ~280 steps
    "halfcheetah_spring": ("halfcheetah", "spring", 2800.0),  # a CPU expert (never terminates)
}


@pytest.mark.parametrize("name", sorted(BRAX_EXPERT_TARGETS))
def test_shipped_brax_demos_match_their_config_and_target(name):
    """demos/<name>.npz (made by configs/expert_<name>.yaml) loads against the env its GAIL/AIRL configs
    build; at least 16 complete episodes whose recorded mean return reaches the expert target."""
    from jaxirl.config import load_config
    from jaxirl.jobs import expert as expert_job
    from jaxirl.jobs import train as train_job
    from jaxirl.jobs.evaluate import make_env

    env_name, backend, target = BRAX_EXPERT_TARGETS[name]
    root = os.path.join(os.path.dirname(__file__), "..")
    expert_cfg = load_config(os.path.join(root, "configs", f"expert_{name}.yaml"), [], expert_job.defaults())
    for algorithm in ("gail", "airl"):
        cfg = load_config(os.path.join(root, "configs", f"{algorithm}_{name}.yaml"), ["env.num_envs=2"],
                          train_job.defaults())
        assert cfg["demos"]["path"] == f"demos/{name}.npz"
        assert {k: cfg["env"][k] for k in ("name", "backend", "episode_length")} == \
            {k: expert_cfg["env"][k] for k in ("name", "backend", "episode_length")}
        transitions, meta = load_demos(os.path.join(root, cfg["demos"]["path"]), make_env(cfg["env"]))
    assert meta["env"] == env_name and meta["backend"] == backend and meta["episode_length"] == 1000
    assert meta["num_episodes"] >= 16 and meta["deterministic"] is True              # the issue: >= 16 episodes
    returns = np.asarray(meta["episode_returns"])
    assert meta["expert_return"] == pytest.approx(float(returns.mean()), rel=1e-5)
    assert meta["expert_return"] >= target
    # far above the random policy (the CPU hopper expert: 1465 vs 114)
    assert meta["random_return"] < 0.1 * meta["expert_return"]
    assert np.all(np.isfinite(transitions.obs)) and transitions.obs.shape[0] == meta["num_transitions"]
    assert np.asarray(transitions.reward).sum() == pytest.approx(returns.sum(), rel=1e-4)


def test_demos_command_describes_and_validates(tmp_path, capsys):
    """`jaxirl demos FILE`: the summary equals what the episodes hold (returns, lengths, how each ended), the
    expert policy's score follows its closed form, and a bad file, option or target env is a clear error."""
    from jaxirl.cli import main
    from jaxirl.data import expert_policy_score

    env = VecEnv(Faller(), 2, 3, name="faller")     # time limit 3: both kinds of ends
    tr, returns = collect_demos(env, lambda obs, key: jax.random.uniform(key, (2, 1)), jax.random.PRNGKey(1), 7)
    path = str(tmp_path / "f.npz")
    meta = {**env_metadata(env), "random_return": 1.0, "eval_return_deterministic": 4.0}
    save_demos(path, tr, returns, meta)
    assert main(["demos", path]) == 0
    out, err = capsys.readouterr()
    s = json.loads(out)
    done = np.asarray((tr.terminated > 0) | (tr.truncated > 0))
    ends = np.flatnonzero(done)
    lengths = np.diff(np.concatenate([[-1], ends]))
    assert s["episodes"] == 7 and s["transitions"] == len(done) and s["episode_lengths"] == lengths.tolist()
    np.testing.assert_allclose(s["episode_returns"], returns, rtol=1e-6)
    assert s["return_mean"] == pytest.approx(float(np.mean(returns)), rel=1e-6)
    assert s["return_max"] == pytest.approx(float(np.max(returns)), rel=1e-6)
    ended = ["terminated" if t else "truncated" for t in np.asarray(tr.terminated)[ends] > 0]
    assert s["episode_ends"] == ended and s["terminated_episodes"] == ended.count("terminated")
    assert 0 < s["terminated_episodes"] < 7 and s["truncated_episodes"] == 7 - s["terminated_episodes"]
    assert all(n == 3 for n, e in zip(lengths, ended) if e == "truncated")   # only the time limit truncates
    r_e = float(np.mean(returns))
    assert s["expert_policy_score"] == pytest.approx((4.0 - 1.0) / (r_e - 1.0), rel=1e-5)
    assert expert_policy_score(meta | {"expert_return": r_e}, random_return=0.0) == pytest.approx(4.0 / r_e, rel=1e-6)
    assert expert_policy_score({"expert_return": 3.0, "random_return": 1.0}) is None   # no evaluation recorded
    assert "7 episodes" in err and err.count("terminated") >= s["terminated_episodes"]

    # the shipped pointmass file, checked against the env its metadata names
    shipped = os.path.join(os.path.dirname(__file__), "..", "demos", "pointmass.npz")
    assert main(["demos", shipped, "check_env=true", "episodes=false"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["env_check"].startswith("matches pointmass") and "episode  length" not in err
    # a file whose metadata names pointmass but whose observations do not fit it
    bad = str(tmp_path / "bad.npz")
    save_demos(bad, tr, returns, {**env_metadata(env), "env": "pointmass", "backend": "jax"})
    assert main(["demos", bad]) == 0                                     # a valid file on its own
    capsys.readouterr()
    # metadata naming an env that does not exist, or arguments it does not take: the metadata's fields are named
    unknown, extra = str(tmp_path / "unknown.npz"), str(tmp_path / "extra.npz")
    save_demos(unknown, tr, returns, {**env_metadata(env), "env": "toy", "backend": "jax"})
    save_demos(extra, tr, returns, {**env_metadata(env), "env": "pointmass", "backend": "jax", "env_kwargs": {"foo": 1}})
    for file, message in ((unknown, "metadata env: unknown environment 'toy'"), (extra, "metadata env_kwargs: ")):
        assert main(["demos", file, "check_env=true"]) == 2
        err = capsys.readouterr().err
        assert message in err and repr(file) in err, err
    for argv, message in (([bad, "check_env=true"], "observation_size=2 but the target environment has observation_size=6"),
                          ([path, "check=true"], "unknown config key 'check'"),
                          ([path, "episodes=3"], "expected bool"),
                          ([str(tmp_path)], "is a folder"),
                          ([str(tmp_path / "none.npz")], "file not found")):
        assert main(["demos", *argv]) == 2, argv
        assert message in capsys.readouterr().err, argv


# --- from a mutation audit: every float array is checked for NaN; collect_demos' episode order -----------------------

def _tiny_demos_file(path):
    """Two episodes of 3 steps (1-d observations, 1-d actions), rewards 1: returns 3 and 3."""
    m = 6
    obs = np.arange(m, dtype=np.float32)[:, None]
    tr = Transition(obs=obs, action=np.zeros((m, 1), np.float32), reward=np.ones(m, np.float32), next_obs=obs + 1,
                    terminated=np.zeros(m, np.float32), truncated=np.array([0, 0, 1, 0, 0, 1], np.float32))
    save_demos(path, tr, [3.0, 3.0], {"env": "tiny", "episode_length": 3})
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


@pytest.mark.parametrize("name", ["rewards", "next_observations"])
def test_nan_in_rewards_or_next_observations_is_refused(tmp_path, name):
    """A NaN reward passes the episode-return check (NaN compares False), so only the NaN check catches it; a NaN
    next observation is only caught by it as well."""
    arrays = _tiny_demos_file(str(tmp_path / "good.npz"))
    arrays[name] = arrays[name].copy()
    arrays[name][(1, 0) if arrays[name].ndim == 2 else 1] = np.nan
    bad = str(tmp_path / "bad.npz")
    np.savez(bad, **arrays)
    with pytest.raises(ValueError, match=f"'{name}' contains 1 NaN"):
        load_demos(bad)


def test_collect_demos_takes_every_envs_first_episode_before_any_second_one():
    """The policy's action is the same for all envs at a step and differs between steps, so an episode's first action
    tells at which rollout step it started: with 3 envs and 4 episodes, the first three are the envs' first episodes
    (all starting at step 0) and only the fourth a second one."""
    env = VecEnv(PointMass(), 3, 5, name="pointmass")

    def act(obs, key):
        return jnp.broadcast_to(jax.random.uniform(key, (1, 2), minval=-1, maxval=1), (obs.shape[0], 2))

    tr, _ = collect_demos(env, act, jax.random.PRNGKey(0), 4)
    ends = np.flatnonzero((np.asarray(tr.terminated) + np.asarray(tr.truncated)) > 0)
    starts = np.concatenate([[0], ends[:-1] + 1])
    first = np.asarray(tr.action)[starts]
    assert len(starts) == 4
    np.testing.assert_array_equal(first[1], first[0])
    np.testing.assert_array_equal(first[2], first[0])
    assert not np.array_equal(first[3], first[0])
