"""Demonstrations in tabular MDPs: sampling trajectories and their empirical statistics.

Trajectories are rolled out by ancestral sampling, ``s_0 ~ p0``, ``a_t ~ π_t(·|s_t)``,
``s_{t+1} ~ T(s_t, a_t, ·)``, as one jitted ``lax.scan`` per trajectory, ``vmap``-ped over trajectories.
The empirical statistics are the sample estimates used by MaxEnt IRL (Ziebart et al. 2008, the expert's
"feature counts" f̃) and apprenticeship learning (Abbeel & Ng 2004, Sec. 2, μ̂_E).
"""

from __future__ import annotations

from functools import partial
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxirl.tabular.mdp import TabularMDP, _concrete, check_policy_rows, float_dtype, known_scalar

__all__ = ["Trajectories", "sample_trajectories", "feature_expectations", "empirical_visitation", "empirical_initial"]


@struct.dataclass
class Trajectories:
    """``states (N, L+1)`` int32 (``states[:, L]`` is the state after the last action), ``actions (N, L)``."""

    states: jax.Array
    actions: jax.Array

    @property
    def num_trajectories(self) -> int:
        return self.actions.shape[0]

    @property
    def length(self) -> int:
        return self.actions.shape[1]


def _check_count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: expected a positive int, got {value!r}")
    return int(value)


def _check_policy(mdp: TabularMDP, policy, length: int) -> None:
    S, A = mdp.num_states, mdp.num_actions
    shape = tuple(policy.shape)
    if shape == (S, A):
        pass
    elif len(shape) == 3 and shape[1:] == (S, A):
        if shape[0] < length:
            raise ValueError(f"policy: a time-indexed policy needs at least length={length} steps, got {shape[0]}")
    else:
        raise ValueError(f"policy: expected shape ({S}, {A}) or (T, {S}, {A}), got {shape}")
    check_policy_rows(policy)


def sample_trajectories(
    mdp: TabularMDP, policy: jax.Array, key: jax.Array, num_trajectories: int, length: Optional[int] = None
) -> Trajectories:
    """Sample ``num_trajectories`` trajectories of ``length`` actions (default: ``mdp.horizon``).

    ``policy`` is stationary ``(S, A)`` or time-indexed ``(T, S, A)`` with ``T >= length`` (``policy[t]`` is
    used at step t). Works for dense and sparse MDPs; the result depends only on ``key``.
    """
    num_trajectories = _check_count("num_trajectories", num_trajectories)
    if length is None:
        if mdp.horizon is None:
            raise ValueError("length: required for an infinite-horizon MDP (horizon=None)")
        length = mdp.horizon
    length = _check_count("length", length)
    _check_policy(mdp, policy, length)
    return _sample(mdp, jnp.asarray(policy), key, num_trajectories, length)


@partial(jax.jit, static_argnums=(3, 4))
def _sample(mdp: TabularMDP, policy: jax.Array, key: jax.Array, n: int, length: int) -> Trajectories:
    log_p0 = jnp.log(mdp.initial)
    log_pi = jnp.log(policy)
    log_t = jnp.log(mdp.transition)
    time_indexed = policy.ndim == 3

    def one(k):
        k0, k_steps = jax.random.split(k)
        s0 = jax.random.categorical(k0, log_p0).astype(jnp.int32)

        def step(s, inp):
            t, kt = inp
            ka, ks = jax.random.split(kt)
            logits = log_pi[t, s] if time_indexed else log_pi[s]
            a = jax.random.categorical(ka, logits).astype(jnp.int32)
            slot = jax.random.categorical(ks, log_t[s, a]).astype(jnp.int32)
            s_next = mdp.next_states[s, a, slot].astype(jnp.int32) if mdp.is_sparse else slot
            return s_next, (s, a)

        s_last, (ss, aa) = jax.lax.scan(step, s0, (jnp.arange(length), jax.random.split(k_steps, length)))
        return jnp.concatenate([ss, s_last[None]]), aa

    states, actions = jax.vmap(one)(jax.random.split(key, n))
    return Trajectories(states, actions)


def _check_traj(traj: Trajectories) -> None:
    if not isinstance(traj, Trajectories):
        raise ValueError(f"traj: expected a Trajectories, got {type(traj).__name__}")
    n, length = traj.actions.shape
    if traj.states.shape != (n, length + 1):
        raise ValueError(f"traj.states: expected shape ({n}, {length + 1}), got {tuple(traj.states.shape)}")


def _check_range(name: str, x, n: int, what: str) -> None:
    """Indices ``x`` (when concrete) must lie in ``[0, n)``: JAX would clamp or drop the others silently."""
    if _concrete(x):
        a = np.asarray(x)
        if a.size and (a.min() < 0 or a.max() >= n):
            raise ValueError(f"{name}: expected indices in [0, {n}) ({what} = {n}), got values in "
                             f"[{int(a.min())}, {int(a.max())}]")


def _discounts(length: int, discount) -> jax.Array:
    concrete = known_scalar(discount)
    if isinstance(discount, bool) or (concrete and not 0.0 <= float(discount) <= 1.0):
        raise ValueError(f"discount: expected a number in [0, 1], got {discount!r}")
    # a float64 array discount (under jax_enable_x64) keeps float64 weights; a Python number float32 ones
    dt = float_dtype(discount) if hasattr(discount, "dtype") else jnp.float32
    return jnp.asarray(discount, dt) ** jnp.arange(length, dtype=dt)


def feature_expectations(traj: Trajectories, features: jax.Array, discount=1.0) -> jax.Array:
    """Empirical ``μ̂ = (1/N) Σ_i Σ_{t<L} γ^t f(s_t^i)`` (Abbeel & Ng 2004, Eq. 2 / Sec. 3); shape ``(F,)``."""
    _check_traj(traj)
    features = jnp.asarray(features)
    if features.ndim != 2:
        raise ValueError(f"features: expected shape (S, F), got {tuple(features.shape)}")
    _check_range("traj.states", traj.states, features.shape[0], "features' rows")
    w = _discounts(traj.length, discount)
    return jnp.einsum("t,ntf->f", w, features[traj.states[:, :-1]]) / traj.num_trajectories


def empirical_visitation(
    traj: Trajectories, num_states: int, num_actions: int, *, per_step: bool = False, discount=1.0
) -> jax.Array:
    """State-action visitation counts of the decisions ``(s_t, a_t)``, ``t < L``, divided by N.

    ``per_step=True``: ``(L, S, A)`` frequencies per step (each step sums to 1); otherwise the
    (``discount``-weighted) sum over steps ``(S, A)``, i.e. ``Σ_t γ^t P̂(s_t = s, a_t = a)``, the
    empirical counterpart of ``VisitationResult.discounted_state_action``.
    """
    _check_traj(traj)
    S = _check_count("num_states", num_states)
    A = _check_count("num_actions", num_actions)
    _check_range("traj.states", traj.states, S, "num_states")
    _check_range("traj.actions", traj.actions, A, "num_actions")
    idx = traj.states[:, :-1] * A + traj.actions  # (N, L)
    if per_step:
        if not known_scalar(discount) or float(discount) != 1.0:  # a traced discount cannot be shown to be 1: refused as well
            raise ValueError(f"discount: per_step=True returns undiscounted frequencies per step; expected the "
                             f"default 1.0, got {discount!r}")
        counts = jax.vmap(lambda col: jnp.zeros(S * A, jnp.float32).at[col].add(1.0), in_axes=1)(idx)
        return counts.reshape(traj.length, S, A) / traj.num_trajectories
    w = jnp.broadcast_to(_discounts(traj.length, discount), idx.shape)
    counts = jnp.zeros(S * A, w.dtype).at[idx.reshape(-1)].add(w.reshape(-1))
    return counts.reshape(S, A) / traj.num_trajectories


def empirical_initial(traj: Trajectories, num_states: int) -> jax.Array:
    """Start-state frequencies ``(S,)`` of the trajectories.

    MaxEnt IRL with ``mdp.replace(initial=empirical_initial(demos, S))`` compares the expert with the
    model from the same start states (as in Ziebart et al. 2008), which keeps the expert visitation
    feasible for the model and the loss bounded (see :mod:`jaxirl.tabular.maxent`).
    """
    _check_traj(traj)
    S = _check_count("num_states", num_states)
    _check_range("traj.states", traj.states[:, 0], S, "num_states")
    return jnp.zeros(S, jnp.float32).at[traj.states[:, 0]].add(1.0) / traj.num_trajectories
