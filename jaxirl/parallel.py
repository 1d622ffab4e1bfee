"""Independent runs over several devices: ``jax.sharding`` along the vmapped axis of seeds and sweeps.

A batch of independent runs — seeds, or one value per run of a swept hyperparameter — is a ``jax.vmap`` over
a leading axis (``jax.vmap(trainer.train)(keys)``). Placing that axis split over the devices
(:func:`shard_runs`) is all ``jax.jit`` needs to compile the vmapped program once for all devices, each
device training its own runs: the runs never read each other's data, so the compiled program holds no
cross-device communication (a test checks its HLO for collectives) and the results equal the single-device
ones. One exception, measured on a tabular soft-VI sweep: a vmapped ``while_loop`` whose trip count depends
on the data (soft VI's convergence loop) makes the devices agree on the number of trips, one boolean
all-reduce per trip. ::

    keys = jax.random.split(jax.random.key(0), 8)                  # 8 seeds
    final, metrics = jax.jit(jax.vmap(trainer.train))(shard_runs(keys))   # 8 / len(jax.devices()) per device

Swept numbers go the same way: ``shard_runs((keys, learning_rates))`` places both, and a function
``vmap``-ed over them runs each (seed, value) pair on its device. Outputs stay on the devices that
computed them, split the same way; ``jax.device_get`` gathers them.

On a CPU, ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` (set before JAX starts) gives ``N``
devices to try this with.
"""

from __future__ import annotations

from typing import Optional, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["runs_mesh", "shard_runs", "RUNS_AXIS"]

RUNS_AXIS = "runs"


def runs_mesh(devices: Optional[Sequence[jax.Device]] = None) -> Mesh:
    """A one-axis mesh (axis ``"runs"``) over ``devices`` (default: all of ``jax.devices()``)."""
    devices = list(jax.devices() if devices is None else devices)
    if not devices or not all(isinstance(d, jax.Device) for d in devices):
        raise ValueError(f"devices: expected a non-empty sequence of jax.Device, got {devices!r}")
    if len(set(devices)) != len(devices):
        raise ValueError(f"devices: each device at most once, got {devices!r}")
    return Mesh(np.array(devices), (RUNS_AXIS,))


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
