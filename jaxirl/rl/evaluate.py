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

    Averages the true returns of the first ``k = max(1, num_steps // env.episode_length)`` episodes of every
    env — the episodes chosen before their outcomes are known, so the mean estimates the expected return from
    the initial state distribution. (Averaging every episode that ends inside the window instead is biased
    towards short episodes: an env whose policy falls early fits several falls into the window, while a long
    episode started late is cut off and dropped — for a policy that falls at step 100 or survives 1000 steps
    with equal odds, long episodes would be a third of the count instead of half. :func:`jaxirl.data.collect_demos`
    picks its episodes the same way.) ``num_steps`` defaults to ``env.episode_length``: then every env
    completes exactly one counted episode. With ``num_steps < env.episode_length`` an episode longer than the
    window is not counted, and the mean leans to short episodes again (the jobs refuse such windows); where no
    episode is counted at all the mean, std and length are NaN. Pure (a ``lax.scan``), so it can be
    jitted or called inside a jitted training loop. Returns ``mean_return``, ``std_return``, ``num_episodes``
    (counted), ``mean_length`` (of the counted episodes) and ``mean_reward`` (per step, every step of the window).
    """
    num_steps = env.episode_length if num_steps is None else num_steps
    if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 1:
        raise ValueError(f"num_steps: expected a positive int, got {num_steps!r}")
    per_env = max(1, num_steps // env.episode_length)
    if getattr(env, "reset_pool", 0):  # every counted episode, and every step of `mean_reward`, from its own reset
        env = env.with_reset_pool(0)
    k_reset, k_run = jax.random.split(key)
    num_envs = env.num_envs

    def step(carry, k):
        env_state, ended, returns, lengths, seen = carry
        action = act_fn(env_state.obs, k)
        env_state, tr = env.step(env_state, action)
        done = (tr.terminated + tr.truncated) > 0
        counted = done & (ended < per_env)  # one of the env's first `per_env` episodes
        at = (jnp.arange(num_envs), jnp.minimum(ended, per_env - 1))
        carry = (
            env_state,
            ended + done.astype(ended.dtype),
            returns.at[at].set(jnp.where(counted, env_state.last_return, returns[at])),
            lengths.at[at].set(jnp.where(counted, env_state.last_length.astype(jnp.float32), lengths[at])),
            seen.at[at].set(seen[at] | counted),
        )
        return carry, tr.reward.mean()

    def run(k_reset, k_run):
        slots = jnp.zeros((num_envs, per_env), jnp.float32)
        init = (env.reset(k_reset), jnp.zeros((num_envs,), jnp.int32), slots, slots, slots > 0)
        (_, _, *kept), rewards = jax.lax.scan(step, init, jax.random.split(k_run, num_steps))
        return kept, rewards

    # One compiled program (eager op-by-op resets of physics envs are slow); inlined if already traced.
    # Each counted episode's return is kept, and the spread taken about the mean afterwards (two passes): a
    # float32 mean of squares minus the squared mean loses the spread of returns in the thousands.
    (returns, lengths, seen), rewards = jax.jit(run)(k_reset, k_run)
    count = seen.sum().astype(jnp.float32)
    n = jnp.maximum(count, 1.0)
    none = count == 0  # a window shorter than every episode: no estimate (NaN), not a return of 0
    mean = jnp.where(seen, returns, 0.0).sum() / n
    var = jnp.where(seen, (returns - mean) ** 2, 0.0).sum() / n
    return {
        "mean_return": jnp.where(none, jnp.nan, mean),
        "std_return": jnp.where(none, jnp.nan, jnp.sqrt(var)),
        "num_episodes": count,
        "mean_length": jnp.where(none, jnp.nan, jnp.where(seen, lengths, 0.0).sum() / n),
        "mean_reward": rewards.mean(),
    }
