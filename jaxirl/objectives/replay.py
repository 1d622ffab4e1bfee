"""A small on-device ring buffer of the last few rollouts' transitions (policy samples for the discriminator).

Holds ``capacity = num_rollouts × rollout_size`` transitions (any pytree with a leading axis: the training step
stores a :class:`jaxirl.envs.base.Transition` and the draws behind its actions); :func:`add` overwrites the oldest rollout, :func:`sample` draws uniformly from the
rollouts stored so far. Everything is a fixed-shape pytree, so it lives inside a jitted ``lax.scan``.
With ``num_rollouts = 1`` the discriminator sees only the newest rollout (on-policy GAIL/AIRL).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class Replay:
    data: Any  # pytree (e.g. (Transition, raw actions)) with leading axis num_rollouts * rollout_size
    slot: jax.Array  # int32: the rollout slot written next
    filled: jax.Array  # int32: number of rollout slots holding data
    num_rollouts: int = struct.field(pytree_node=False, default=1)
    rollout_size: int = struct.field(pytree_node=False, default=1)


def create(example, num_rollouts: int) -> Replay:
    """An empty buffer for rollouts shaped like ``example`` (a flat ``(B, ...)`` pytree)."""
    if not isinstance(num_rollouts, int) or isinstance(num_rollouts, bool) or num_rollouts < 1:
        raise ValueError(f"replay_rollouts: expected a positive int, got {num_rollouts!r}")
    size = jax.tree.leaves(example)[0].shape[0]
    data = jax.tree.map(lambda x: jnp.zeros((num_rollouts * size,) + x.shape[1:], x.dtype), example)
    zero = jnp.zeros((), jnp.int32)
    return Replay(data=data, slot=zero, filled=zero, num_rollouts=num_rollouts, rollout_size=size)


def add(buffer: Replay, batch) -> Replay:
    """Write a flat rollout ``(rollout_size, ...)`` into the oldest slot."""
    start = buffer.slot * buffer.rollout_size
    data = jax.tree.map(
        lambda buf, x: jax.lax.dynamic_update_slice_in_dim(buf, x.astype(buf.dtype), start, axis=0),
        buffer.data,
        batch,
    )
    return buffer.replace(
        data=data,
        slot=(buffer.slot + 1) % buffer.num_rollouts,
        filled=jnp.minimum(buffer.filled + 1, buffer.num_rollouts),
    )


def sample(buffer: Replay, key: jax.Array, batch_size: int):
    """``batch_size`` transitions drawn uniformly (with replacement) from the filled slots."""
    high = jnp.maximum(buffer.filled, 1) * buffer.rollout_size
    idx = jax.random.randint(key, (batch_size,), 0, high)
    return jax.tree.map(lambda x: x[idx], buffer.data)
