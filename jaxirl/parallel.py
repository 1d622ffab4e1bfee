"""Independent runs over several devices: ``jax.sharding`` along the vmapped axis of seeds and sweeps.

A batch of independent runs — seeds, or one value per run of a swept hyperparameter — is a ``jax.vmap`` over
a leading axis (``jax.vmap(trainer.train)(keys)``). Placing that axis split over the devices
(:func:`shard_runs`) is all ``jax.jit`` needs to compile the vmapped program once for all devices, each
device training its own runs: the runs never read each other's data, so the compiled program holds no
cross-device communication (a test checks its HLO for collectives) and the results equal the single-device
ones up to float rounding (each device compiles for its own, smaller batch: ~1e-7 apart after one iteration). One exception, measured on a tabular soft-VI sweep: a vmapped ``while_loop`` whose trip count depends
on the data (soft VI's convergence loop) makes the devices agree on the number of trips, one boolean
all-reduce per trip. ::

    keys = jax.random.split(jax.random.key(0), 8)                  # 8 seeds
    final, metrics = jax.jit(jax.vmap(trainer.train))(shard_runs(keys))   # 8 / len(jax.devices()) per device

Swept numbers go the same way: ``shard_runs((keys, learning_rates))`` places both, and a function
``vmap``-ed over them runs each (seed, value) pair on its device. Outputs stay on the devices that
computed them, split the same way; ``jax.device_get`` gathers them.

One run over several devices: :func:`shard_envs` splits a single run's environments (the ``num_envs`` axis of
its env state) over the devices and replicates everything else, and ``trainer.run`` compiled for that
placement (XLA's SPMD partitioner) steps each device's share of the envs on that device — the physics, the
bulk of a step on Brax, divides among the devices (without a reset pool their only exchange while stepping is the
auto-reset's "did any env end", one boolean all-reduce per step; with one, ``VecEnv(reset_pool=M)``, the pool is
copied to every device, and which of its states an ended env takes needs the end flags of the envs on the devices
before it: flags and counts cross devices, never a state — a test checks it). The rollout is then gathered onto
every device and the learning (reward relabelling, discriminator steps, PPO epochs over globally shuffled
minibatches) is done whole on each, so the run computes what it computes on one device (equal up to float rounding;
a test checks it). A PPO config with ``shuffle_groups`` = the number of devices draws every minibatch equally from
each device's envs (:func:`jaxirl.rl.ppo.minibatches`), and the PPO epochs then divide among the devices
too (gradients summed across them); the result is that of the same config on one device. ::

    state = shard_envs(trainer.init(key))                          # num_envs / len(jax.devices()) envs per device
    state, metrics = trainer.run(state, 100)

On a CPU, ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` (set before JAX starts) gives ``N``
devices to try this with.
"""

from __future__ import annotations

from typing import Optional, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["runs_mesh", "shard_runs", "envs_mesh", "shard_envs", "replicate", "pick_devices", "check_device_count", "RUNS_AXIS", "ENVS_AXIS"]

RUNS_AXIS = "runs"
ENVS_AXIS = "envs"


def _mesh(devices, axis: str) -> Mesh:
    devices = list(jax.devices() if devices is None else devices)
    if not devices or not all(isinstance(d, jax.Device) for d in devices):
        raise ValueError(f"devices: expected a non-empty sequence of jax.Device, got {devices!r}")
    if len(set(devices)) != len(devices):
        raise ValueError(f"devices: each device at most once, got {devices!r}")
    return Mesh(np.array(devices), (axis,))


def runs_mesh(devices: Optional[Sequence[jax.Device]] = None) -> Mesh:
    """A one-axis mesh (axis ``"runs"``) over ``devices`` (default: all of ``jax.devices()``)."""
    return _mesh(devices, RUNS_AXIS)


def envs_mesh(devices: Optional[Sequence[jax.Device]] = None) -> Mesh:
    """A one-axis mesh (axis ``"envs"``) over ``devices`` (default: all of ``jax.devices()``), for :func:`shard_envs`."""
    return _mesh(devices, ENVS_AXIS)


def shard_runs(tree, mesh: Optional[Mesh] = None):
    """Place every array of ``tree`` split along its leading (runs) axis over ``mesh``'s devices.

    Every leaf needs a leading axis of the same size ``R``, a multiple of the number of devices (each device
    gets ``R / devices`` consecutive runs). Typed PRNG keys (``jax.random.key``) and raw ``uint32`` keys both
    work. Returns the placed tree (``jax.Array`` leaves with a ``NamedSharding``)."""
    mesh = runs_mesh() if mesh is None else mesh
    if not isinstance(mesh, Mesh) or mesh.axis_names != (RUNS_AXIS,):
        raise ValueError(f"mesh: expected a jaxirl.parallel.runs_mesh() (one axis {RUNS_AXIS!r}), got {mesh!r}")
    leaves, treedef = jax.tree.flatten(tree)
    if not leaves:
        raise ValueError("tree: expected at least one array with a leading runs axis, got none")
    n_dev = mesh.devices.size
    sizes = set()
    for i, leaf in enumerate(leaves):
        shape = np.shape(leaf)
        if len(shape) == 0:
            raise ValueError(f"tree leaf {i}: expected a leading runs axis, got a scalar")
        sizes.add(shape[0])
    if len(sizes) != 1:
        raise ValueError(f"tree: every leaf needs the same leading (runs) size, got {sorted(sizes)}")
    runs = sizes.pop()
    if runs % n_dev:
        raise ValueError(f"runs: {runs} runs cannot be split evenly over {n_dev} devices; use a multiple of {n_dev} "
                         "(or a mesh over fewer devices: runs_mesh(jax.devices()[:k]))")
    sharding = NamedSharding(mesh, PartitionSpec(RUNS_AXIS))
    return jax.tree.unflatten(treedef, [jax.device_put(leaf, sharding) for leaf in leaves])


def check_device_count(count, field: str = "run.devices") -> None:
    """``count`` must be an int >= 0 (the jobs' ``run.devices``: 1, k, or 0 for all); a ``ValueError`` naming ``field``."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"{field}: expected an int >= 0 (1: one device, k: split the envs over k devices, "
                         f"0: over all devices), got {count!r}")


def pick_devices(count: int, num_envs: int, field: str = "run.devices") -> list:
    """The first ``count`` devices (0: all), checked against those present and ``num_envs`` (a ``ValueError``
    naming ``field`` / ``env.num_envs`` otherwise) — what the jobs' ``run.devices`` asks for."""
    check_device_count(count, field)
    have = jax.devices()
    want = len(have) if count == 0 else count
    if want > len(have):
        hint = (f"; on a CPU, start with XLA_FLAGS=--xla_force_host_platform_device_count={want} in the environment"
                if have[0].platform == "cpu" else "")
        raise ValueError(f"{field}: {want} devices asked for, {len(have)} present ({have[0].platform}){hint}")
    if num_envs % want:
        raise ValueError(f"env.num_envs: {num_envs} envs cannot be split evenly over {field}={want} devices; "
                         f"expected a multiple of {want}")
    return have[:want]


def replicate(tree, mesh: Mesh):
    """Every array of ``tree`` copied to every device of ``mesh``."""
    if not isinstance(mesh, Mesh):
        raise ValueError(f"mesh: expected a jax.sharding.Mesh (runs_mesh() / envs_mesh()), got {mesh!r}")
    return jax.tree.map(lambda x: jax.device_put(x, NamedSharding(mesh, PartitionSpec())), tree)


def shard_envs(state, mesh: Optional[Mesh] = None, runs: bool = False):
    """Place a run's ``state`` over ``mesh``'s devices: its environments split, everything else replicated.

    ``state`` is a :class:`jaxirl.train.TrainState` (or any pytree with an ``env_state`` field, or a
    :class:`jaxirl.envs.EnvState` itself) of ONE run (``runs=True``: of a vmapped batch of runs, each run's
    envs split the same way; to put whole runs on devices instead use :func:`shard_runs`).
    Every array of the env state whose (first after the runs) axis is the number of environments ``N``
    (``env_state.obs``'s) is split along it, ``N / devices`` consecutive envs per device; ``N`` must be a
    multiple of the number of devices. Every other array (networks, optimiser states, replay buffer, keys, a
    reset pool whatever its size) is copied to every device.
    ``trainer.run(shard_envs(state), n)`` then compiles for this placement and keeps it from call to call."""
    mesh = envs_mesh() if mesh is None else mesh
    if not isinstance(mesh, Mesh) or mesh.axis_names != (ENVS_AXIS,):
        raise ValueError(f"mesh: expected a jaxirl.parallel.envs_mesh() (one axis {ENVS_AXIS!r}), got {mesh!r}")
    if hasattr(state, "env_state"):
        env_state = state.env_state
    elif hasattr(state, "obs") and hasattr(state, "inner"):
        env_state = None
    else:
        raise ValueError(f"state: expected a TrainState (a pytree with an env_state field) or an EnvState, "
                         f"got {type(state).__name__}")
    obs = state.obs if env_state is None else env_state.obs
    lead = 1 if runs else 0
    if np.ndim(obs) != 2 + lead:
        want = "(runs, num_envs, obs_dim)" if runs else "(num_envs, obs_dim) (a vmapped batch of runs: runs=True)"
        raise ValueError(f"state: expected obs of shape {want}, got shape {np.shape(obs)}")
    num_envs, n_dev = np.shape(obs)[lead], mesh.devices.size
    if num_envs % n_dev:
        raise ValueError(f"num_envs: {num_envs} envs cannot be split evenly over {n_dev} devices; use a multiple of "
                         f"{n_dev} (or a mesh over fewer devices: envs_mesh(jax.devices()[:k]))")
    split = NamedSharding(mesh, PartitionSpec(*([None] * lead), ENVS_AXIS))
    copy = NamedSharding(mesh, PartitionSpec())

    def place(leaf, per_env):
        per_env = per_env and np.ndim(leaf) > lead and np.shape(leaf)[lead] == num_envs
        return jax.device_put(leaf, split if per_env else copy)

    def place_envs(es):
        placed = jax.tree.map(lambda x: place(x, True), es)
        if hasattr(es, "key") and hasattr(placed, "replace"):  # the resets' one key (raw: shape (2,)) is not per env
            placed = placed.replace(key=place(es.key, False))
        if getattr(es, "pool", None) is not None:  # a reset pool, even of num_envs states: taken from by any env
            placed = placed.replace(pool=jax.tree.map(lambda x: place(x, False), es.pool))
        return placed

    if env_state is None:
        return place_envs(state)
    placed = jax.tree.map(lambda x: place(x, False), state.replace(env_state=None))
    return placed.replace(env_state=place_envs(env_state))
