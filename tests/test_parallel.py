"""``jaxirl.parallel``: vmapped runs (seeds × a swept learning rate) split over two CPU devices give the
single-device results, each device computing its own runs with no cross-device communication; one run's
envs split over two devices (``shard_envs``) give the one-device run, the envs stepped where they live, and
``jaxirl train run.devices=0`` (with the PPO epochs split too, ``ppo.shuffle_groups=2``) trains that way;
bad inputs raise (``jaxirl expert run.devices`` is checked here only for its errors).

The two devices come from ``XLA_FLAGS=--xla_force_host_platform_device_count=2``, which must be set before
JAX starts: the multi-device part runs in a subprocess.
"""

import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from jaxirl import envs
from jaxirl.parallel import envs_mesh, replicate, runs_mesh, shard_envs, shard_runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_SCRIPT = r"""
import re
import jax, jax.numpy as jnp, numpy as np
assert jax.device_count() == 2, jax.devices()
from jaxirl import envs
from jaxirl.data import collect_demos
from jaxirl.parallel import shard_envs, shard_runs
from jaxirl.train import make_train
from jaxirl.train_config import make_config

try:
    shard_runs(np.zeros(3))
    raise SystemExit("3 runs over 2 devices did not raise")
except ValueError as e:
    assert "3 runs cannot be split evenly over 2 devices" in str(e), e

COLLECTIVES = ("all-reduce", "all-gather", "all-to-all", "collective-permute", "reduce-scatter")

def collectives(compiled):
    # any instruction that moves data between devices
    return [line.strip()[:300] for line in compiled.as_text().splitlines()
            if re.search(r"\b(" + "|".join(COLLECTIVES) + r")(-start)?\(", line)]

# the detector sees a computation that does mix the runs (each run minus the mean over all runs)
assert collectives(jax.jit(lambda x: x - x.mean()).lower(*shard_runs((jnp.arange(4.0),))).compile())

def check(fn, args, name):
    single = jax.device_get(jax.jit(fn)(*args))                  # every run on device 0
    placed = shard_runs(args)
    compiled = jax.jit(fn).lower(*placed).compile()
    out = compiled(*placed)
    found = collectives(compiled)
    assert not found, (name, found)
    leaves = jax.tree.leaves(out)
    assert all(len(x.sharding.device_set) == 2 for x in leaves), name     # results stay split over both devices
    for a, b in zip(jax.tree.leaves(single), jax.tree.leaves(jax.device_get(out))):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6, err_msg=name)
    print(name, "ok", np.round(np.asarray(jax.tree.leaves(jax.device_get(out))[0]).reshape(-1)[:4], 4))
    return jax.device_get(out)

# GAIL with the PPO generator on pointmass: 4 runs, 2 per device, each its own seed (typed keys) and its own
# discriminator learning rate (traced: the trainer is built inside the vmapped function)
env = envs.make("pointmass", 8, episode_length=20)
demos, returns = collect_demos(env, lambda obs, key: envs.scripted_action(obs), jax.random.PRNGKey(1), 8)

def sweep(lrs, keys):
    def run(lr, key):
        config = make_config("gail", "ppo", num_iterations=3, eval_every=0,
                             discriminator=dict(learning_rate=lr, hidden=(16,), expert_batch_size=32, policy_batch_size=32),
                             generator_config=dict(num_steps=8, num_minibatches=2, update_epochs=2, hidden=(16,)))
        trainer = make_train(config, env, demos, expert_return=float(returns.mean()), random_return=-50.0)
        metrics = trainer.train(key)[1]
        return {k: metrics[k] for k in ("disc_loss", "gen_policy_loss", "true_reward_mean")}
    return jax.vmap(run)(lrs, keys)

out = check(sweep, (jnp.array([1e-4, 1e-3, 1e-2, 1e-1]), jax.random.split(jax.random.key(0), 4)), "pointmass GAIL sweep")
loss = out["disc_loss"]  # (run, iteration): the runs really differ
assert all(not np.allclose(loss[i, 1:], loss[j, 1:]) for i in range(4) for j in range(i)), loss

# ONE run (with a progress callback) with its 8 envs split 4 + 4 over the devices
try:
    shard_envs(env.reset(jax.random.key(0)).replace(obs=jnp.zeros((7, 4))))
    raise SystemExit("7 envs over 2 devices did not raise")
except ValueError as e:
    assert "7 envs cannot be split evenly over 2 devices" in str(e), e
calls = []
config = make_config("gail", "ppo", num_iterations=3, eval_every=0,  # the sweep's second run (lr 1e-3, keys[1])
                     discriminator=dict(learning_rate=1e-3, hidden=(16,), expert_batch_size=32, policy_batch_size=32),
                     generator_config=dict(num_steps=8, num_minibatches=2, update_epochs=2, hidden=(16,)))
on_device0 = jax.device_put(demos, jax.devices()[0])  # committed to one device: the trainer must still take them
trainer = make_train(config, env, on_device0, expert_return=float(returns.mean()), random_return=-50.0,
                     progress_fn=lambda it, m: calls.append(int(it)))
state = trainer.init(jax.random.split(jax.random.key(0), 4)[1])
split = shard_envs(state)
assert split.env_state.obs.sharding.spec == jax.sharding.PartitionSpec("envs")
pos = split.env_state.inner.pipeline_state["pos"]  # the base env's own state: split too
assert pos.shape == (8, 2) and pos.sharding.spec == jax.sharding.PartitionSpec("envs"), (pos.shape, pos.sharding)
assert all(x.sharding.is_fully_replicated for x in jax.tree.leaves((split.generator, split.reward, split.replay)))
final, metrics = trainer.run(split, 3)
assert final.env_state.obs.sharding.spec == jax.sharding.PartitionSpec("envs")  # still split after the run
metrics = jax.device_get(metrics)
assert calls == [1, 2, 3], calls
for k in ("disc_loss", "gen_policy_loss", "true_reward_mean"):  # = the same run on one device, in the sweep
    np.testing.assert_allclose(metrics[k], out[k][1], rtol=1e-4, atol=1e-5, err_msg=k)
print("one run over 2 devices ok", metrics["disc_loss"])

# stepping the split envs: each device steps its own; the only collective is the auto-reset's
# "did any env end" (one boolean all-reduce per step)
def rollout(env_state):
    def body(c, _):
        c, tr = env.step(c, jnp.clip(c.obs[:, :2], -1.0, 1.0))
        return c, tr.next_obs
    return jax.lax.scan(body, env_state, None, length=5)
found = collectives(jax.jit(rollout).lower(shard_envs(state.env_state)).compile())
assert found and all(re.search(r"= pred\[\] all-reduce", c) for c in found), found

# with a reset pool (env.reset_pool) of num_envs states, the pool is copied to both devices (any env may take any of
# its states), the envs stay split, and the split rollout is the one-device one; no pool state moves between devices
pooled = env.with_reset_pool(8)
def pooled_rollout(env_state):
    def body(c, _):
        c, tr = pooled.step(c, jnp.clip(c.obs[:, :2], -1.0, 1.0))
        return c, tr.next_obs
    return jax.lax.scan(body, env_state, None, length=45)  # staggered limits of 20: each env ends 2 or 3 times
start = pooled.reset(jax.random.key(3), stagger=True)
one = jax.device_get(jax.jit(pooled_rollout)(start))
placed = shard_envs(start)
assert placed.obs.sharding.spec == jax.sharding.PartitionSpec("envs")
assert all(x.sharding.is_fully_replicated for x in jax.tree.leaves(placed.pool)), placed.pool.obs.sharding
compiled = jax.jit(pooled_rollout).lower(placed).compile()
moved = [c for c in collectives(compiled) if not re.search(r"= (pred|s32)\[[0-9,]*\]", c)]
assert not moved, moved  # only flags / counts cross devices, never a state
two = jax.device_get(compiled(placed))
assert 16 <= int(one[0].pool_drawn) <= 24  # more than the pool's 8: it wrapped
for a, b in zip(jax.tree.leaves(one), jax.tree.leaves(two)):
    if jnp.issubdtype(a.dtype, jax.dtypes.prng_key):
        a, b = jax.random.key_data(a), jax.random.key_data(b)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
print("a reset pool over 2 devices ok")

# the train job with run.devices=0 (all devices: two) and the PPO epochs split too (ppo.shuffle_groups=2):
# the envs split, the run trains and records it
import tempfile
from jaxirl.jobs import train as train_job
summary = train_job.main("configs/gail_pointmass.yaml", [
    "train.num_iterations=2", "train.eval_every=2", "run.chunk=1", "run.progress=false", f"run.root={tempfile.mkdtemp()}",
    "env.num_envs=8", "ppo.num_steps=8", "ppo.hidden=[16]", "discriminator.hidden=[16]", "eval.num_envs=4",
    "discriminator.expert_batch_size=32", "discriminator.policy_batch_size=32", "run.devices=0", "ppo.shuffle_groups=2"])
assert summary["devices"] == 2 and summary["iterations"] == 2 and np.isfinite(summary["score_det"]), summary

print("train job over 2 devices ok", summary["score_det"])
"""


def test_runs_or_one_runs_envs_split_over_two_devices_equal_one_device():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, env=env, timeout=600,
                         cwd=ROOT)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "pointmass GAIL sweep ok" in out.stdout, out.stdout
    for part in ("one run over 2 devices ok", "train job over 2 devices ok"):
        assert part in out.stdout, out.stdout


def test_shard_runs_on_one_device_and_its_errors():
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    placed = shard_runs({"keys": keys, "lr": np.arange(3.0)})  # 3 runs over the one CPU device
    np.testing.assert_array_equal(np.asarray(placed["keys"]), np.asarray(keys))
    assert placed["lr"].sharding.spec == jax.sharding.PartitionSpec("runs")
    with pytest.raises(ValueError, match="same leading"):
        shard_runs((keys, np.zeros(4)))
    with pytest.raises(ValueError, match="scalar"):
        shard_runs((keys, 1.0))
    with pytest.raises(ValueError, match="at least one array"):
        shard_runs({})
    with pytest.raises(ValueError, match="devices: expected a non-empty"):
        runs_mesh([])
    with pytest.raises(ValueError, match="each device at most once"):
        runs_mesh(jax.devices() * 2)
    with pytest.raises(ValueError, match="mesh: expected"):
        shard_runs(keys, mesh="cpu")
    two = jax.sharding.Mesh(np.array(jax.devices() * 1), ("runs",))
    assert shard_runs(keys, two).sharding.mesh is two
    assert replicate(keys, two).sharding.spec == jax.sharding.PartitionSpec()
    with pytest.raises(ValueError, match="mesh: expected a jax.sharding.Mesh"):
        replicate(keys, None)  # a TypeError from inside JAX before


def test_shard_envs_on_one_device_and_its_errors(tmp_path):
    env = envs.make("pointmass", 6, episode_length=10)
    state = env.reset(jax.random.PRNGKey(0))
    placed = shard_envs(state)  # the 6 envs on the one CPU device
    assert placed.obs.sharding.spec == jax.sharding.PartitionSpec("envs")
    raw = envs.make("pointmass", 2, episode_length=10).reset(jax.random.PRNGKey(0))  # raw key of shape (2,) = N
    assert raw.key.shape == (2,) and shard_envs(raw).key.sharding.spec == jax.sharding.PartitionSpec()
    np.testing.assert_array_equal(np.asarray(placed.obs), np.asarray(state.obs))
    with pytest.raises(ValueError, match="mesh: expected a jaxirl.parallel.envs_mesh"):
        shard_envs(state, runs_mesh())
    with pytest.raises(ValueError, match="state: expected a TrainState"):
        shard_envs({"obs": state.obs})
    with pytest.raises(ValueError, match="each device at most once"):
        envs_mesh(jax.devices() * 2)
    from jaxirl.jobs import train as train_job

    with pytest.raises(ValueError, match="run.devices: 2 devices asked for, 1 present.*xla_force_host_platform"):
        train_job.main(os.path.join(ROOT, "configs", "gail_pointmass.yaml"), ["run.devices=2", f"run.root={tmp_path}"])
    with pytest.raises(ValueError, match="run.devices: expected an int >= 0"):
        train_job.main(os.path.join(ROOT, "configs", "gail_pointmass.yaml"), ["run.devices=-1", f"run.root={tmp_path}"])
    from jaxirl.jobs import expert as expert_job

    with pytest.raises(ValueError, match="run.devices: 2 devices asked for, 1 present"):
        expert_job.main(os.path.join(ROOT, "configs", "expert_pointmass.yaml"), ["run.devices=2", f"run.root={tmp_path}"])
    with pytest.raises(ValueError, match="runs=True"):
        shard_envs(jax.vmap(env.reset)(jax.random.split(jax.random.PRNGKey(0), 2)), runs=False)
    lanes = shard_envs(jax.vmap(env.reset)(jax.random.split(jax.random.PRNGKey(0), 2)), runs=True)
    assert lanes.obs.shape == (2, 6, env.observation_size) and lanes.obs.sharding.spec == jax.sharding.PartitionSpec(None, "envs")
    assert not list(tmp_path.iterdir())  # nothing written before the config was valid
