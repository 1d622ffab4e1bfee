"""The tabular MDP pytree and the two transition primitives every exact algorithm uses.

Dense transitions are ``(S, A, S)``; sparse ones store, for every (s, a), ``K`` next-state indices and
their probabilities, ``(S, A, K)`` each, so a 128×128 gridworld (16384 states) fits in memory. All code
above this module touches the dynamics only through :func:`expected_next` (a backup, ``Σ_s' T v``) and
:func:`push_forward` (a forward message, ``Σ_{s,a} d T``), so it is the same for both forms.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

_ATOL = 1e-4  # float32 rows built by users sum to 1 within a few ulps times S; 1e-4 catches real mistakes


def float_dtype(*xs):
    """float32, or the widest float dtype among ``xs`` (float64 arrays exist only under ``jax_enable_x64``)."""
    dtypes = [jnp.result_type(x) for x in xs if x is not None]
    return jnp.result_type(jnp.float32, *[d for d in dtypes if jnp.issubdtype(d, jnp.floating)])


def check_policy_rows(policy) -> None:
    """A concrete policy's rows ``policy[..., s, :]`` must be probability distributions over actions (finite,
    ``>= 0``, summing to 1 within 1e-3: rounding, e.g. to 4 decimals, is fine); else ``ValueError``."""
    if _concrete(policy):
        p = np.asarray(policy, np.float64)
        if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(np.abs(p.sum(-1) - 1.0) > 1e-3):
            raise ValueError("policy: every row must be a probability distribution over actions (finite, >= 0, "
                             "summing to 1)")


def _concrete(x) -> bool:
    """True for arrays whose values can be read now (not tracers, not vmap in_axes placeholders)."""
    if isinstance(x, jax.core.Tracer):
        return False
    return isinstance(x, (np.ndarray, jax.Array))


def known_scalar(x) -> bool:
    """A Python number or a concrete NumPy/JAX scalar: a value that can be checked now (not traced)."""
    return isinstance(x, (int, float, np.number)) or (_concrete(x) and np.ndim(x) == 0)


DEFAULT_MAX_ITER = 10_000
CAP_LIMIT = 10_000_000  # the most iterations a cap allows (γ ≈ 0.999997 at tol 1e-6; a traced γ of 1 stops here)


def iteration_cap(discount, tol: float, max_iter=None, floor: int = DEFAULT_MAX_ITER):
    """``max_iter`` when given, else enough iterations for a γ-contraction to shrink its step by ``tol``:
    ``min(10⁷, max(floor, ⌈2 ln(1/tol) / (1 − γ)⌉))``. A Python int for a known γ; for a traced γ (a jitted
    algorithm, ``jax.vmap`` over discounts) the same bound as a traced int32, which ``lax.while_loop`` takes."""
    if max_iter is not None:
        if not isinstance(max_iter, int) or isinstance(max_iter, bool) or max_iter < 1:
            raise ValueError(f"max_iter: expected a positive int or None, got {max_iter!r}")
        return max_iter
    if not 0 < tol < 1:
        return floor
    need = 2.0 * np.log(1.0 / tol)
    if known_scalar(discount):
        g = float(discount)
        if not 0 <= g < 1:
            return floor
        return int(min(CAP_LIMIT, max(floor, np.ceil(need / (1.0 - g)))))
    g = jnp.max(jnp.asarray(discount, jnp.float32))  # (one count: a batched array's largest γ)
    cap = jnp.ceil(need / jnp.maximum(1.0 - g, need / CAP_LIMIT))
    return jnp.clip(cap, floor, CAP_LIMIT).astype(jnp.int32)


def unit_scale(x: jax.Array) -> jax.Array:
    """``x / max|x|`` (``x`` itself when all zero): for quantities invariant to positive rescaling, computed where
    float32 neither overflows nor underflows."""
    return x / jnp.maximum(jnp.max(jnp.abs(x)), jnp.finfo(x.dtype).tiny)


def positive_number(name: str, value) -> None:
    """Raise ``ValueError`` unless ``value`` — a Python number or a concrete numpy/JAX scalar — is finite and > 0
    (traced values are left alone: they are checked nowhere, as every traced hyperparameter)."""
    if isinstance(value, bool):
        raise ValueError(f"{name}: expected a positive number, got {value!r}")
    if known_scalar(value):
        v = float(np.asarray(value))
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"{name}: expected a positive number, got {v!r}")


@struct.dataclass
class TabularMDP:
    """A finite MDP with a known model.

    Fields:
      transition: dense ``T[s, a, s']`` of shape ``(S, A, S)``, or, when ``next_states`` is given, the
        probabilities ``(S, A, K)`` of moving to ``next_states[s, a, k]``.
      initial: initial-state distribution ``(S,)``.
      discount: ``γ`` (a traced scalar: vmap over it works).
      horizon: number of decisions ``H`` (static), or ``None`` for the infinite-horizon discounted MDP.
      next_states: ``(S, A, K)`` integer next-state indices for the sparse form, else ``None``.
      shared_successors: static; ``True`` when ``next_states[s, a, k]`` does not depend on ``a`` (every
        action of a state draws from the same K successors, as in gridworlds), which lets the backup
        gather ``S·K`` values instead of ``S·A·K``. Detected on construction with concrete arrays; leave
        it ``None`` (unknown: the general path) unless you know it.

    Construction with concrete arrays validates shapes, finiteness, non-negativity and that every
    ``(s, a)`` row is a probability distribution; problems raise ``ValueError`` naming the field.
    """

    transition: jax.Array
    initial: jax.Array
    discount: jax.Array = 1.0
    horizon: Optional[int] = struct.field(pytree_node=False, default=None)
    next_states: Optional[jax.Array] = None
    shared_successors: Optional[bool] = struct.field(pytree_node=False, default=None)

    def __post_init__(self):
        for name in ("transition", "initial", "next_states"):  # plain Python sequences: arrays, then validated
            value = getattr(self, name)
            if isinstance(value, (list, tuple)):
                object.__setattr__(self, name, jnp.asarray(value, jnp.int32 if name == "next_states" else jnp.float32))
        if _concrete(self.transition) and _concrete(self.initial):
            validate_mdp(self)
        if self.next_states is None:
            object.__setattr__(self, "shared_successors", None)
        elif _concrete(self.next_states):  # always recomputed from the arrays, never trusted when known
            idx = np.asarray(self.next_states)
            object.__setattr__(self, "shared_successors", bool(np.all(idx == idx[..., :1, :])))

    @property
    def num_states(self) -> int:
        return self.transition.shape[-3]

    @property
    def num_actions(self) -> int:
        return self.transition.shape[-2]

    @property
    def dtype(self):
        """The float dtype of its computations: the transitions' (float32, or float64 for a float64 MDP under
        ``jax_enable_x64``)."""
        return float_dtype(self.transition)

    @property
    def is_sparse(self) -> bool:
        return self.next_states is not None

    def _replace(self, **updates) -> "TabularMDP":
        """A copy with ``updates``; new ``next_states`` (without an explicit ``shared_successors``) reset the flag
        to unknown, so traced indices (inside ``jit``/``vmap``) take the general path instead of a stale flag."""
        if "next_states" in updates and "shared_successors" not in updates:
            updates["shared_successors"] = None
        return dataclasses.replace(self, **updates)

    def dense_transition(self) -> jax.Array:
        """``(S, A, S)`` transition matrix (materialised from the sparse form if needed)."""
        if not self.is_sparse:
            return self.transition
        S = self.num_states
        one_hot = jax.nn.one_hot(self.next_states, S, dtype=self.transition.dtype)
        return jnp.einsum("sak,sakn->san", self.transition, one_hot)


TabularMDP.replace = TabularMDP._replace  # (flax's decorator installs its own replace, which kept the flag)


def validate_mdp(mdp: TabularMDP) -> None:
    """Raise ``ValueError`` if ``mdp`` is not a well-formed MDP (see :class:`TabularMDP`)."""
    T = np.asarray(mdp.transition)
    p0 = np.asarray(mdp.initial)
    if T.ndim < 3:
        raise ValueError(f"transition: expected a 3-D array (S, A, S) or (S, A, K), got shape {T.shape}")
    batch = T.shape[:-3]  # a stack of MDPs (for vmap) has leading batch axes
    S, A = T.shape[-3], T.shape[-2]
    if S < 1 or A < 1:
        raise ValueError(f"transition: need at least one state and one action, got shape {T.shape}")
    if not np.issubdtype(T.dtype, np.floating):
        raise ValueError(f"transition: expected a floating dtype, got {T.dtype}")
    if mdp.next_states is None:
        if T.shape[-1] != S:
            raise ValueError(
                f"transition: dense form must be (S, A, S) = ({S}, {A}, {S}), got {T.shape}; "
                "for the sparse form pass next_states of the same shape"
            )
    else:
        idx = np.asarray(mdp.next_states)
        if idx.shape != T.shape:
            raise ValueError(f"next_states: expected shape {T.shape} (same as transition), got {idx.shape}")
        if not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"next_states: expected an integer dtype, got {idx.dtype}")
        if idx.size and (idx.min() < 0 or idx.max() >= S):
            raise ValueError(f"next_states: indices must lie in [0, {S}), got range [{idx.min()}, {idx.max()}]")
    if not np.all(np.isfinite(T)):
        raise ValueError("transition: contains NaN or infinite values")
    if np.any(T < 0):
        raise ValueError(f"transition: probabilities must be non-negative, min is {T.min():.3g}")
    row = T.sum(-1)
    bad = np.abs(row - 1.0) > _ATOL
    if np.any(bad):
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"transition: every row T[s, a, :] must sum to 1 (non-stochastic transitions); "
            f"T[{', '.join(map(str, where))}, :] sums to {row[where]:.6g} ({int(bad.sum())} bad rows)"
        )
    if p0.shape != batch + (S,):
        raise ValueError(f"initial: expected shape {batch + (S,)} to match transition, got {p0.shape}")
    if not np.all(np.isfinite(p0)) or np.any(p0 < 0) or np.any(np.abs(p0.sum(-1) - 1.0) > _ATOL):
        raise ValueError(f"initial: must be a probability distribution over {S} states (sums to {p0.sum(-1)})")
    d = mdp.discount
    if isinstance(d, (str, bytes, bool, np.bool_)) or d is None:  # np.asarray would take '0.9' / True
        raise ValueError(f"discount: expected a scalar in [0, 1], got {d!r}")
    if _concrete(d) or isinstance(d, (int, float, np.number)):  # numpy scalars too (np.float32 is no float)
        g = np.asarray(d)
        if not (np.issubdtype(g.dtype, np.floating) or np.issubdtype(g.dtype, np.integer)):
            raise ValueError(f"discount: expected a real scalar in [0, 1], got {d!r}")
        if g.ndim > len(batch) or not np.all(np.isfinite(g)) or np.any(g < 0) or np.any(g > 1):
            raise ValueError(f"discount: expected a scalar in [0, 1], got {mdp.discount!r}")
        if mdp.horizon is None and np.any(g >= 1):
            raise ValueError("discount: an infinite-horizon MDP (horizon=None) needs discount < 1")
        if mdp.horizon is None and np.any(np.asarray(g, float_dtype(T)) >= 1):
            raise ValueError(f"discount: {d!r} rounds to 1 in the MDP's {np.dtype(float_dtype(T)).name}, and an "
                             f"infinite-horizon MDP needs discount < 1 (use a float64 MDP under jax_enable_x64)")
    if mdp.horizon is not None and (not isinstance(mdp.horizon, (int, np.integer)) or isinstance(mdp.horizon, bool)
                                    or mdp.horizon < 1):
        raise ValueError(f"horizon: expected a positive int or None (infinite horizon), got {mdp.horizon!r}")


def backup_operator(mdp: TabularMDP, layout: str = "sa") -> Callable[[jax.Array], jax.Array]:
    """Return ``v ↦ Σ_s' T(s, a, s') v(s')`` (``(S,) -> (S, A)``, or ``(A, S)`` with ``layout="as"``).

    Call it outside a loop and apply it inside. For the sparse form the arrays are laid out
    ``(K, A, S)`` so that the sum over the K successors is K contiguous vector adds, and the gather
    stays out of that fusion: XLA:CPU runs a gather fused into a minor-axis reduction several times
    slower. Loops that can work on ``(A, S)`` arrays (soft value iteration does) should ask for
    ``layout="as"``, which avoids a transpose per application (see ``benchmarks/tabular.py``).
    """
    if layout not in ("sa", "as"):
        raise ValueError(f"layout: expected 'sa' or 'as', got {layout!r}")
    if not mdp.is_sparse:
        spec = "san,n->sa" if layout == "sa" else "san,n->as"
        return lambda v: jnp.einsum(spec, mdp.transition, v)
    S, A, K = mdp.transition.shape
    probs = jnp.transpose(mdp.transition, (2, 1, 0))  # (K, A, S)
    if mdp.shared_successors:  # one gather per (s, k), shared by the A actions
        index = jnp.transpose(mdp.next_states[:, 0, :]).reshape(-1)
        shape = (K, 1, S)
    else:
        index = jnp.transpose(mdp.next_states, (2, 1, 0)).reshape(-1)
        shape = (K, A, S)

    def apply(v):
        gathered = jax.lax.optimization_barrier(v[index]).reshape(shape)
        out = probs[0] * gathered[0]
        for k in range(1, K):
            out = out + probs[k] * gathered[k]
        return out.T if layout == "sa" else out

    return apply


def forward_operator(mdp: TabularMDP) -> Callable[[jax.Array], jax.Array]:
    """Return ``d ↦ Σ_{s,a} d(s, a) T(s, a, s')`` (``(S, A) -> (S,)``), with its layout prepared once.

    The sparse form scatters one successor slot at a time (K scatter-adds of ``S·A`` values), which
    XLA:CPU runs faster than one scatter of ``S·A·K`` values; with ``shared_successors`` the actions' mass
    is summed first and each slot scatters only ``S`` values.
    """
    if not mdp.is_sparse:
        return lambda d_sa: jnp.einsum("sa,san->n", d_sa, mdp.transition)
    S, A, K = mdp.transition.shape
    if mdp.shared_successors:  # sum the actions' mass per (s, k) first, then scatter S values per slot
        index_s = jnp.transpose(mdp.next_states[:, 0, :])  # (K, S)
        probs_t = jnp.transpose(mdp.transition, (2, 1, 0))  # (K, A, S): sums over a are vector adds

        def apply_shared(d_sa):
            d_as = d_sa.T
            out = jnp.zeros(S, d_sa.dtype)
            for k in range(K):
                mass = probs_t[k, 0] * d_as[0]
                for a in range(1, A):
                    mass = mass + probs_t[k, a] * d_as[a]
                out = out.at[index_s[k]].add(mass)
            return out

        return apply_shared
    probs = jnp.transpose(mdp.transition, (2, 0, 1)).reshape(K, S * A)
    index = jnp.transpose(mdp.next_states, (2, 0, 1)).reshape(K, S * A)

    def apply(d_sa):
        flat = d_sa.reshape(-1)
        out = jnp.zeros(S, d_sa.dtype)
        for k in range(K):
            out = out.at[index[k]].add(flat * probs[k])
        return out

    return apply


def expected_next(mdp: TabularMDP, v: jax.Array) -> jax.Array:
    """``Σ_s' T(s, a, s') v(s')`` for ``v`` of shape ``(S,)``; returns ``(S, A)``."""
    return backup_operator(mdp)(v)


def push_forward(mdp: TabularMDP, d_sa: jax.Array) -> jax.Array:
    """``Σ_{s,a} d(s, a) T(s, a, s')`` for a state-action measure ``d_sa`` ``(S, A)``; returns ``(S,)``."""
    return forward_operator(mdp)(d_sa)


def expected_reward(mdp: TabularMDP, reward: jax.Array) -> jax.Array:
    """Turn a reward of shape ``(S,)``, ``(S, A)`` or ``(S, A, S)`` into its ``(S, A)`` expectation.

    ``(S,)`` is a state reward ``r(s)`` paid at the state where the decision is made; ``(S, A, S)`` is
    averaged over the next state: ``Σ_s' T(s, a, s') r(s, a, s')``.
    """
    S, A = mdp.num_states, mdp.num_actions
    if reward.shape == (S,):
        return jnp.broadcast_to(reward[:, None], (S, A))
    if reward.shape == (S, A):
        return reward
    if reward.shape == (S, A, S):
        if mdp.is_sparse:
            r_k = jnp.take_along_axis(reward, mdp.next_states, axis=-1)
            return jnp.sum(mdp.transition * r_k, axis=-1)
        return jnp.sum(mdp.transition * reward, axis=-1)
    raise ValueError(f"reward: expected shape ({S},), ({S}, {A}) or ({S}, {A}, {S}), got {tuple(reward.shape)}")


def check_reward(mdp: TabularMDP, reward) -> None:
    """Host-side check of a concrete reward: a known shape and no NaN/inf (raises ``ValueError``)."""
    if not _concrete(reward) and not isinstance(reward, (list, tuple)):
        return
    r = np.asarray(reward)
    S, A = mdp.num_states, mdp.num_actions
    if r.shape not in {(S,), (S, A), (S, A, S)}:
        raise ValueError(f"reward: expected shape ({S},), ({S}, {A}) or ({S}, {A}, {S}), got {r.shape}")
    if not np.all(np.isfinite(r)):
        raise ValueError("reward: contains NaN or infinite values")
