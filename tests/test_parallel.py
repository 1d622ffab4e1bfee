"""``jaxirl.parallel``: vmapped runs (seeds × a swept learning rate) split over two CPU devices give the
single-device results, each device computing its own runs with no cross-device communication; bad inputs raise.

The two devices come from ``XLA_FLAGS=--xla_force_host_platform_device_count=2``, which must be set before
JAX starts: the multi-device part runs in a subprocess.
"""

import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from jaxirl.parallel import runs_mesh, shard_runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_SCRIPT = r"""
import re
import jax, jax.numpy as jnp, numpy as np
assert jax.device_count() == 2, jax.devices()
from jaxirl import envs
from jaxirl.data import collect_demos
from jaxirl.parallel import shard_runs
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
"""


def test_runs_split_over_two_devices_equal_one_device_and_do_not_communicate():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "pointmass GAIL sweep ok" in out.stdout, out.stdout


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
