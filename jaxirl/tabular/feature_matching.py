"""Apprenticeship learning by feature matching (Abbeel & Ng 2004), projection and max-margin methods.

The reward is linear, ``r = F w``. Each iteration i computes an optimal policy ``π_i`` for ``r = F w_i``
and its exact feature expectations ``μ_i = Σ_s d_γ(s) f(s)`` (``d_γ`` the discounted state visitation
over the decision times), then picks the next ``w``:

* max-margin (Abbeel & Ng 2004, Sec. 3, Eq. 10–12): ``t_i = max_{‖w‖≤1} min_{j<=i} wᵀ(μ_E − μ_j)``. By
  duality this is the distance from ``μ_E`` to the convex hull of ``{μ_j}``; we solve it as the min-norm
  point ``z* = μ_E − Σ_j λ_j μ_j`` over the simplex (accelerated projected gradient, FISTA), so
  ``w = z*/‖z*‖`` and ``t = ‖z*‖`` (no QP solver needed).
* projection (Sec. 3.1): ``μ̄_i = μ̄_{i−1} + β (μ_i − μ̄_{i−1})`` with
  ``β = (μ_i − μ̄_{i−1})ᵀ(μ_E − μ̄_{i−1}) / ‖μ_i − μ̄_{i−1}‖²``, ``w_{i+1} = μ_E − μ̄_i``, ``t_i = ‖w_{i+1}‖``.
  One departure from the paper: β is clipped to [0, 1], so that μ̄ stays a mixture of the μ_j. With an exact,
  achievable μ_E and hard-optimal policies β lies in [0, 1] anyway (the clip never acts); with an estimated μ_E
  or soft policies (``temperature``) it can, and a β clipped to 0 leaves μ̄, ``w`` and so the next policy
  unchanged: the method stays there for the remaining iterations (``t`` constant).

Both track mixture weights ``λ`` with ``Σ_j λ_j μ_j = μ̄``: the mixed policy (pick ``π_j`` with probability
``λ_j`` at the start of an episode) has feature expectations ``μ̄``, within ``t`` of the expert's.
"""

from __future__ import annotations

from functools import partial
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxirl.tabular.mdp import TabularMDP, _concrete, positive_number
from jaxirl.tabular.soft_vi import optimal_policy
from jaxirl.tabular.visitation import visitation

__all__ = ["FeatureMatchingResult", "apprenticeship_learning", "policy_feature_expectations", "min_norm_point"]

METHODS = ("projection", "max_margin")


@struct.dataclass
class FeatureMatchingResult:
    """``weights (I, F)``: the ``w_i`` that produced ``π_i`` (i = 1..I); ``gap (I,)``: ``t_i`` after
    iteration i (``‖μ_E − μ̄_i‖``, the margin for max-margin); ``feature_expectations (I+1, F)``: ``μ_0..μ_I``
    (``μ_0`` is the uniform random policy); ``mixture (I+1,)``: final ``λ``; ``policies (I+1, ...)``."""

    weights: jax.Array
    gap: jax.Array
    feature_expectations: jax.Array
    mixture: jax.Array
    policies: jax.Array


def policy_feature_expectations(mdp: TabularMDP, policy: jax.Array, features: jax.Array) -> jax.Array:
    """Exact ``μ(π) = E[Σ_t γ^t f(s_t)]`` over the decision times (Abbeel & Ng 2004, Eq. 2)."""
    if np.ndim(features) != 2 or np.shape(features)[0] != mdp.num_states:
        raise ValueError(f"features: expected shape ({mdp.num_states}, F), got {tuple(np.shape(features))}")
    d = visitation(mdp, policy).discounted_state_action.sum(-1)
    return d @ features


def _project_simplex(v: jax.Array) -> jax.Array:
    """Euclidean projection onto the probability simplex (sort-based; Held et al. 1974)."""
    u = jnp.sort(v)[::-1]
    css = jnp.cumsum(u) - 1.0
    k = jnp.arange(1, v.shape[0] + 1, dtype=v.dtype)
    rho = jnp.max(jnp.where(u - css / k > 0, k, 0.0))
    theta = css[rho.astype(jnp.int32) - 1] / rho
    return jnp.maximum(v - theta, 0.0)


def min_norm_point(points: jax.Array, num_steps: int = 10_000, tol: float = 1e-4, patience: int = 1000) -> jax.Array:
    """Simplex weights ``λ`` minimising ``‖Σ_j λ_j points_j‖`` (FISTA; Beck & Teboulle 2009).

    Stops when the Frank–Wolfe duality gap ``max_j zᵀ(z − p_j)`` of ``z = Σ_j λ_j p_j`` — 0 at the optimum
    and an upper bound on ``(‖z‖² − ‖z*‖²) / 2`` — is at most ``tol · ‖z‖²`` (so ``‖z‖`` is within a relative
    ``tol`` of the minimum); when ``‖z‖`` is below float32's resolution of the points (``1e-6 · max_j ‖p_j‖``:
    the minimum is 0 there); when ``‖z‖²`` has not fallen by a relative 1e-4 in ``patience`` steps (slow progress
    near the minimum, where float32 cannot resolve the gap itself: ``‖z‖`` is then within a few 1e-5 of the
    points' scale); or after ``num_steps`` steps. (A fixed 500 steps had left
    the max-margin gap 50× its true value on a 5×5 objectworld: 3.1e-4 where the hull is 6.5e-6 away. A patience of
    300 steps stopped FISTA's non-monotone descent during a slow stretch on the same problem compiled by jax 0.5.3
    with XLA's cheapest code generation: a gap of 6.9e-4 for a distance of 5.4e-6; 1000 steps: within 1.3e-4.)
    """
    gram = points @ points.T
    n = points.shape[0]
    lip = jnp.linalg.eigvalsh(gram)[-1] + 1e-12
    lam0 = jnp.full((n,), 1.0 / n, points.dtype)
    floor = 1e-6 * jnp.sqrt(jnp.max(jnp.diag(gram)))

    def gap(lam):
        z = lam @ points
        return jnp.max((z[None, :] - points) @ z), jnp.dot(z, z)

    def cond(carry):
        _, _, _, i, (g, zz), best, since = carry
        return (i < num_steps) & (g > tol * zz) & (zz > floor**2) & (i - since < patience)

    def step(carry):
        lam, y, t, i, _, best, since = carry
        lam_new = _project_simplex(y - gram @ y / lip)
        t_new = 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * t * t))
        y_new = lam_new + (t - 1.0) / t_new * (lam_new - lam)
        g, zz = gap(lam_new)
        better = zz < best * (1.0 - 1e-4)
        return (lam_new, y_new, t_new, i + 1, (g, zz), jnp.where(better, zz, best), jnp.where(better, i + 1, since))

    g0 = gap(lam0)
    zero = jnp.asarray(0, jnp.int32)
    init = (lam0, lam0, jnp.asarray(1.0, points.dtype), zero, g0, g0[1], zero)
    lam, *_ = jax.lax.while_loop(cond, step, init)
    return lam


def apprenticeship_learning(
    mdp: TabularMDP,
    features: jax.Array,
    expert_features: jax.Array,
    *,
    method: str = "projection",
    num_iterations: int = 20,
    temperature: Optional[float] = None,
) -> FeatureMatchingResult:
    """Abbeel & Ng (2004) apprenticeship learning; see the module docstring.

    Args:
      features: ``(S, F)`` state features (the paper assumes ``f ∈ [0, 1]^F``).
      expert_features: ``μ_E (F,)`` on the same scale as :func:`policy_feature_expectations`, e.g.
        :func:`~jaxirl.tabular.demos.feature_expectations` of demonstrations with ``discount = γ`` and
        length = horizon (finite horizons).
      method: ``"projection"`` or ``"max_margin"``.
      temperature: ``None`` → hard-optimal policies (the paper's RL step); a number → soft-optimal ones, for the
        reward ``F w / ‖w‖`` (the temperature then acts on a reward of unit scale at every iteration; traced,
        so ``jax.vmap`` over it works).
    """
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    if isinstance(num_iterations, bool) or not isinstance(num_iterations, (int, np.integer)) or num_iterations < 1:
        raise ValueError(f"num_iterations: expected a positive int, got {num_iterations!r}")
    features = jnp.asarray(features, mdp.dtype)
    if features.ndim != 2 or features.shape[0] != mdp.num_states:
        raise ValueError(f"features: expected shape ({mdp.num_states}, F), got {tuple(features.shape)}")
    mu_e = jnp.asarray(expert_features, mdp.dtype)
    if mu_e.shape != (features.shape[1],):
        raise ValueError(f"expert_features: expected shape ({features.shape[1]},), got {tuple(mu_e.shape)}")
    for name, x in (("features", features), ("expert_features", mu_e)):
        if _concrete(x) and not np.all(np.isfinite(np.asarray(x))):
            raise ValueError(f"{name}: contains NaN or infinite values")
    if temperature is not None:
        positive_number("temperature", temperature)
    soft = temperature is not None  # static: which RL step; the temperature itself is traced (vmap over it)
    return _run(mdp, features, mu_e, method, int(num_iterations), temperature if soft else 0.0, soft)


@partial(jax.jit, static_argnums=(3, 4, 6))
def _run(mdp, features, mu_e, method, num_iterations, temperature, soft):
    S, A = mdp.num_states, mdp.num_actions
    shape = (mdp.horizon, S, A) if mdp.horizon is not None else (S, A)
    pi0 = jnp.full(shape, 1.0 / A, mdp.dtype)
    mu0 = policy_feature_expectations(mdp, pi0, features)
    n = num_iterations + 1
    buffer = jnp.broadcast_to(mu0, (n, mu0.shape[0]))  # unfilled slots repeat μ_0: the hull is unchanged
    lam = jnp.zeros((n,), mdp.dtype).at[0].set(1.0)
    w = mu_e - mu0
    if method == "max_margin":
        w = w / jnp.maximum(jnp.linalg.norm(w), 1e-12)

    def iteration(carry, i):
        w, mu_bar, lam, buffer = carry
        # the soft RL step at the reward's unit scale: projection's w = μ_E − μ̄ shrinks with the gap, and a
        # soft-optimal policy for a vanishing reward drifts to uniform (the hard one, optimal_policy, rescales the
        # reward itself: unscaled, greedy ties mixed in worse actions and the projection method stalled)
        w_rl = w / jnp.maximum(jnp.linalg.norm(w), 1e-12) if soft else w
        pi = optimal_policy(mdp, features @ w_rl, temperature if soft else None)
        mu = policy_feature_expectations(mdp, pi, features)
        buffer = buffer.at[i].set(mu)
        if method == "projection":
            d = mu - mu_bar
            dd = jnp.dot(d, d)  # (no absolute floor: 1e-12 stalled features of scale 1e-6)
            beta = jnp.clip(jnp.dot(d, mu_e - mu_bar) / jnp.where(dd > 0, dd, 1.0), 0.0, 1.0)
            mu_bar = mu_bar + beta * d
            lam = (1.0 - beta) * lam
            lam = lam.at[i].add(beta)
            w_next = mu_e - mu_bar
            gap = jnp.linalg.norm(w_next)
        else:
            lam = min_norm_point(mu_e[None, :] - buffer)
            filled = jnp.arange(n) <= i
            lam = jnp.where(filled, lam, 0.0).at[0].add(jnp.sum(jnp.where(filled, 0.0, lam)))
            mu_bar = lam @ buffer
            z = mu_e - mu_bar
            gap = jnp.linalg.norm(z)
            w_next = z / jnp.maximum(gap, 1e-12)
        return (w_next, mu_bar, lam, buffer), (w, gap, pi)

    carry = (w, mu0, lam, buffer)
    (_, _, lam, buffer), (weights, gaps, pis) = jax.lax.scan(iteration, carry, jnp.arange(1, n))
    policies = jnp.concatenate([pi0[None], pis], axis=0)
    return FeatureMatchingResult(weights, gaps, buffer, lam, policies)
