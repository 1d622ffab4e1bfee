"""The exact MaxEnt generator for tabular environments: soft value iteration on the known model.

Where PPO improves a policy from samples, this generator re-solves the soft-optimal policy of the
current reward exactly (Ziebart et al. 2008; :func:`jaxirl.tabular.soft_value_iteration`)::

    Q(s, a) = Σ_s' T(s, a, s') [r(s, a, s') + γ V(s')],   V = α logsumexp(Q / α),   π = exp((Q − V) / α)

Its state is the stationary policy table ``(S, A)`` of an infinite-horizon MDP (a finite-horizon policy
is time-dependent, which a one-hot-state observation cannot express). :func:`update` takes a reward table
``(S, A, S)``; :func:`reward_table` builds one by evaluating any reward function on all one-hot
``(s, a, s')``, so this module never needs to know about reward models. Acting and ``log_prob`` are table
look-ups; :func:`rollout` has PPO's interface and returns a :class:`jaxirl.rl.ppo.Rollout` whose
``value``/``next_value`` are the soft values ``V(s)``, ``V(s')``.
"""

from __future__ import annotations

from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxirl.rl.ppo import Rollout
from jaxirl.tabular.soft_vi import soft_value_iteration

_STATIC = dict(pytree_node=False)


@struct.dataclass
class SoftVIConfig:
    """``temperature`` α (traced); ``num_steps`` rollout length T, solver ``tol``/``max_iter`` (static; ``max_iter``
    ``None``: as many backups as the MDP's discount needs, :func:`jaxirl.tabular.mdp.iteration_cap`)."""

    temperature: float = 1.0
    num_steps: int = struct.field(default=64, **_STATIC)
    tol: float = struct.field(default=1e-6, **_STATIC)
    max_iter: Optional[int] = struct.field(default=None, **_STATIC)

    def validate(self) -> "SoftVIConfig":
        t = self.temperature
        if not isinstance(t, jax.core.Tracer):
            a = np.asarray(t)
            if not np.issubdtype(a.dtype, np.number) or not np.all(np.isfinite(a)) or np.any(a <= 0):
                raise ValueError(f"temperature: expected a finite number > 0, got {t!r}")
        for name, nullable in (("num_steps", False), ("max_iter", True)):
            v = getattr(self, name)
            if (v is not None or not nullable) and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
                raise ValueError(f"{name}: expected a positive int{' or null' if nullable else ''}, got {v!r}")
        if isinstance(self.tol, bool) or not isinstance(self.tol, (int, float)) or not 0 < self.tol < float("inf"):
            raise ValueError(f"tol: expected a finite positive number, got {self.tol!r}")
        return self


@struct.dataclass
class SoftVIState:
    """``log_policy (S, A)``, soft values ``value (S,)`` (warm start of the next solve), update count."""

    log_policy: jax.Array
    value: jax.Array
    step: jax.Array


def check_env(env) -> None:
    """The env must be a tabular env (``env.mdp``) of an infinite-horizon MDP."""
    mdp = getattr(env, "mdp", None)
    if mdp is None or not getattr(env, "discrete", False):
        raise ValueError(f"generator: soft_vi needs a tabular env (jaxirl.envs.from_mdp), got {env!r}")
    if mdp.horizon is not None:
        raise ValueError(
            f"generator: soft_vi keeps a stationary policy and needs an infinite-horizon MDP (horizon=None), "
            f"got horizon={mdp.horizon}"
        )


def init(config: SoftVIConfig, env, key: jax.Array) -> SoftVIState:
    """The uniform policy (the soft-optimal policy of a zero reward)."""
    del key
    config.validate()
    check_env(env)
    S, A = env.mdp.num_states, env.mdp.num_actions
    dt = env.mdp.dtype  # float64 for a float64 MDP under jax_enable_x64 (update's outputs: a float32 carry crashed)
    return SoftVIState(
        log_policy=jnp.full((S, A), -jnp.log(A), dt),
        value=jnp.zeros((S,), dt),
        step=jnp.zeros((), jnp.int32),
    )


def _state(obs):
    return jnp.argmax(obs, axis=-1)


def act(config: SoftVIConfig, state: SoftVIState, obs, key):
    """Sample ``(action, log π(action|s))`` for one-hot observations ``(..., S)``."""
    logits = state.log_policy[_state(obs)]
    action = jax.random.categorical(key, logits, axis=-1).astype(jnp.int32)
    return action, jnp.take_along_axis(logits, action[..., None], axis=-1)[..., 0]


def act_deterministic(config: SoftVIConfig, state: SoftVIState, obs):
    return jnp.argmax(state.log_policy[_state(obs)], axis=-1).astype(jnp.int32)


def log_prob(config: SoftVIConfig, state: SoftVIState, obs, action):
    action = jnp.asarray(action)
    if action.ndim == obs.ndim:
        action = action[..., 0]
    logits = state.log_policy[_state(obs)]
    return jnp.take_along_axis(logits, action[..., None].astype(jnp.int32), axis=-1)[..., 0]


def raw_log_prob(config: SoftVIConfig, state: SoftVIState, obs, raw):
    """:func:`log_prob` (a discrete action is its own draw; PPO's interface)."""
    return log_prob(config, state, obs, raw)


def rollout(config: SoftVIConfig, state: SoftVIState, env, env_state, key):
    """``config.num_steps`` steps of all envs with the stochastic policy (``lax.scan``; a reset pool refilled
    first, as :func:`jaxirl.rl.ppo.rollout` does)."""
    if hasattr(env, "refill"):
        env_state = env.refill(env_state)

    def one(env_state, k):
        action, logp = act(config, state, env_state.obs, k)
        v = state.value[_state(env_state.obs)]
        env_state, tr = env.step(env_state, action)
        return env_state, (tr, logp, v)

    env_state, (tr, logp, v) = jax.lax.scan(one, env_state, jax.random.split(key, config.num_steps))
    return env_state, Rollout(transition=tr, log_prob=logp, value=v, next_value=state.value[_state(tr.next_obs)],
                              raw_action=tr.action)


def reward_table(fn: Callable, num_states: int, num_actions: int) -> jax.Array:
    """``R[s, a, s'] = fn(onehot(s), a, onehot(s'))`` for all triples, shape ``(S, A, S)``.

    ``fn(obs, action, next_obs)`` gets batches ``(A, S', S)`` one-hot obs, ``(A, S')`` int32 actions and
    ``(A, S', S)`` next obs; one state at a time (``lax.map``), so memory is ``O(A S²)``.
    """
    S, A = num_states, num_actions
    eye = jnp.eye(S, dtype=jnp.float32)
    actions = jnp.broadcast_to(jnp.arange(A, dtype=jnp.int32)[:, None], (A, S))
    next_obs = jnp.broadcast_to(eye[None], (A, S, S))

    def row(s):
        obs = jnp.broadcast_to(eye[s], (A, S, S))
        return fn(obs, actions, next_obs)

    return jax.lax.map(row, jnp.arange(S))


def update(config: SoftVIConfig, state: SoftVIState, env, reward) -> tuple[SoftVIState, dict]:
    """Re-solve the soft-optimal policy of ``reward`` (``(S,)``, ``(S, A)`` or ``(S, A, S)``) on ``env.mdp``.

    Warm-started from the previous values. Returns the new state and the solver's metrics.
    """
    res = soft_value_iteration(
        env.mdp, reward, config.temperature, tol=config.tol, max_iter=config.max_iter, init_v=state.value
    )
    log_policy = jax.nn.log_softmax(res.q / config.temperature, axis=-1)
    entropy = -jnp.sum(jnp.exp(log_policy) * log_policy, axis=-1).mean()
    metrics = {"vi_iterations": res.iterations, "vi_residual": res.residual, "policy_entropy": entropy}
    return SoftVIState(log_policy=log_policy, value=res.v, step=state.step + 1), metrics
