"""Monte-Carlo evaluation of a policy on a :class:`~jaxirl.envs.base.VecEnv`'s true reward."""

from __future__ import annotations

from typing import Callable, Optional

import jax
import jax.numpy as jnp

from jaxirl.envs.base import VecEnv


def evaluate(
    env: VecEnv,
    act_fn: Callable[[jax.Array, jax.Array], jax.Array],
    key: jax.Array,
    num_steps: Optional[int] = None,
) -> dict:
    """Run ``act_fn(obs, key) -> action`` from fresh episodes for ``num_steps`` steps of all envs.

    Averages the true returns of the episodes completed during the run. ``num_steps`` defaults to
    ``env.episode_length`` so that every env completes at least one episode. Pure (a ``lax.scan``), so it can
    be jitted or called inside a jitted training loop. Returns ``mean_return``, ``std_return``,
    ``num_episodes``, ``mean_length`` and ``mean_reward`` (per step).
    """
    num_steps = env.episode_length if num_steps is None else num_steps
    if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 1:
        raise ValueError(f"num_steps: expected a positive int, got {num_steps!r}")
    k_reset, k_run = jax.random.split(key)

    def step(carry, k):
        env_state, ret_sum, ret_sq, length_sum, count = carry
        action = act_fn(env_state.obs, k)
        env_state, tr = env.step(env_state, action)
        done = ((tr.terminated + tr.truncated) > 0).astype(jnp.float32)
        ret = env_state.last_return * done
        carry = (
            env_state,
            ret_sum + ret.sum(),
            ret_sq + (ret**2).sum(),
            length_sum + (env_state.last_length * done).sum(),
            count + done.sum(),
        )
        return carry, tr.reward.mean()

    def run(k_reset, k_run):
        zero = jnp.zeros((), jnp.float32)
        init = (env.reset(k_reset), zero, zero, zero, zero)
        (_, *sums), rewards = jax.lax.scan(step, init, jax.random.split(k_run, num_steps))
        return sums, rewards

    # One compiled program (eager op-by-op resets of physics envs are slow); inlined if already traced.
    (ret_sum, ret_sq, length_sum, count), rewards = jax.jit(run)(k_reset, k_run)
    n = jnp.maximum(count, 1.0)
    mean = ret_sum / n
    return {
        "mean_return": mean,
        "std_return": jnp.sqrt(jnp.maximum(ret_sq / n - mean**2, 0.0)),
        "num_episodes": count,
        "mean_length": length_sum / n,
        "mean_reward": rewards.mean(),
    }
