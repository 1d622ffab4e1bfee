"""Reward-learning metrics: expected value difference, Pearson correlation, EPIC, normalised score.

* Expected value difference (EVD; Levine et al. 2011, Sec. 6; Wulfmeier et al. 2016): how much true value
  is lost by acting optimally for the learned reward instead of the true one.
* EPIC (Gleave et al. 2021, "Quantifying differences in reward functions"): a pseudometric between
  rewards that is invariant to potential shaping (Ng et al. 1999) and positive rescaling.
"""

from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

from jaxirl.tabular.mdp import (TabularMDP, _concrete, check_reward, expected_reward, float_dtype, known_scalar,
                                unit_scale)
# greedy_policy and optimal_policy live beside value iteration (jaxirl.tabular imports them, and this module
# imports jaxirl.tabular); they stay part of this module's API.
from jaxirl.tabular.soft_vi import greedy_policy, optimal_policy
from jaxirl.tabular.visitation import visitation

__all__ = [
    "greedy_policy",
    "optimal_policy",
    "policy_value",
    "expected_value_difference",
    "pearson",
    "canonicalize",
    "epic_distance",
    "normalized_score",
]


def policy_value(mdp: TabularMDP, policy: jax.Array, reward: jax.Array) -> jax.Array:
    """Exact ``E_{s0~p0}[V^π(s0)] = Σ_{s,a} d_γ(s, a) r(s, a)`` with ``d_γ`` the discounted visitation."""
    d = visitation(mdp, policy).discounted_state_action
    return jnp.sum(d * expected_reward(mdp, jnp.asarray(reward, d.dtype)))


def expected_value_difference(
    mdp: TabularMDP, true_reward: jax.Array, learned_reward: jax.Array, temperature: Optional[float] = None
) -> jax.Array:
    """``EVD = E_p0[V^{π*}_{r}] − E_p0[V^{π̂}_{r}]`` under the true reward ``r``.

    ``π*`` is optimal for ``true_reward`` and ``π̂`` optimal for ``learned_reward``; both are evaluated
    exactly under ``true_reward`` (policy evaluation through the discounted visitation) and averaged over
    the initial distribution. With ``temperature=None`` (default) both policies are hard-optimal: greedy
    in the Q of hard value iteration, ties split uniformly (:func:`greedy_policy`). With a temperature α
    both are the soft-optimal policies at α. EVD ≥ 0 for hard policies; 0 means no value is lost.
    """
    check_reward(mdp, true_reward)
    check_reward(mdp, learned_reward)
    pi_star = optimal_policy(mdp, true_reward, temperature)
    pi_hat = optimal_policy(mdp, learned_reward, temperature)
    return policy_value(mdp, pi_star, true_reward) - policy_value(mdp, pi_hat, true_reward)


def _check_finite(name: str, x) -> None:
    if _concrete(x) and not np.all(np.isfinite(np.asarray(x))):
        raise ValueError(f"{name}: contains NaN or infinite values")


def _weighted_pearson(a: jax.Array, b: jax.Array, w: jax.Array) -> jax.Array:
    w = w / jnp.sum(w)
    a = a - jnp.sum(w * a)
    b = b - jnp.sum(w * b)
    # unit scale before the products: var (∝ scale⁴) overflowed float32 above ~3e9 and underflowed below ~3e-10
    a, b = unit_scale(a), unit_scale(b)
    cov = jnp.sum(w * a * b)
    var = jnp.sum(w * a * a) * jnp.sum(w * b * b)
    return jnp.where(var > 0, cov / jnp.sqrt(jnp.where(var > 0, var, 1.0)), 0.0)


def pearson(a: jax.Array, b: jax.Array) -> jax.Array:
    """Pearson correlation of the flattened arrays; 0 when either is constant (correlation undefined)."""
    dt = float_dtype(a, b)  # float32, or float64 inputs' float64 (jax_enable_x64)
    a, b = jnp.ravel(jnp.asarray(a, dt)), jnp.ravel(jnp.asarray(b, dt))
    if a.shape != b.shape:
        raise ValueError(f"pearson: a and b need the same number of elements, got {a.shape} and {b.shape}")
    _check_finite("a", a)
    _check_finite("b", b)
    return _weighted_pearson(a, b, jnp.ones_like(a))


def _as_sas(name: str, r, S: Optional[int], A: Optional[int]) -> jax.Array:
    r = jnp.asarray(r, float_dtype(r))
    _check_finite(name, r)
    if r.ndim == 3 and r.shape[0] == r.shape[2] and (S is None or r.shape[:2] == (S, A)):
        return r
    if S is None:
        raise ValueError(f"{name}: expected shape (S, A, S) (pass mdp= to use (S,) or (S, A) rewards), got {r.shape}")
    if r.shape == (S,):
        return jnp.broadcast_to(r[:, None, None], (S, A, S))
    if r.shape == (S, A):
        return jnp.broadcast_to(r[:, :, None], (S, A, S))
    raise ValueError(f"{name}: expected shape ({S},), ({S}, {A}) or ({S}, {A}, {S}), got {tuple(r.shape)}")


def _dist(name: str, d, n: int) -> jax.Array:
    if d is None:
        return jnp.full((n,), 1.0 / n, jnp.float32)
    d = jnp.asarray(d, float_dtype(d))
    if d.shape != (n,):
        raise ValueError(f"{name}: expected shape ({n},), got {tuple(d.shape)}")
    if _concrete(d):
        dn = np.asarray(d)
        if not np.all(np.isfinite(dn)) or np.any(dn < 0) or abs(dn.sum() - 1.0) > 1e-4:
            raise ValueError(f"{name}: must be a probability distribution over {n} elements")
    return d


def canonicalize(r: jax.Array, discount, state_dist: jax.Array, action_dist: jax.Array) -> jax.Array:
    """EPIC canonical shaping (Gleave et al. 2021, Def. 4.1) of ``r (S, A, S)``:

    ``C(r)(s,a,s') = r(s,a,s') + E[γ r(s',A,S') − r(s,A,S') − γ r(S,A,S')]``, ``S, S' ~ D_S``, ``A ~ D_A``,
    computed exactly: with ``m(x) = E_{A,S'} r(x, A, S')``, ``C = r + γ m(s') − m(s) − γ E_S m(S)``.
    """
    m = jnp.einsum("xay,a,y->x", r, action_dist, state_dist)
    return r + discount * m[None, None, :] - m[:, None, None] - discount * jnp.dot(state_dist, m)


def epic_distance(
    r1: jax.Array,
    r2: jax.Array,
    discount=None,
    *,
    mdp: Optional[TabularMDP] = None,
    state_dist: Optional[jax.Array] = None,
    action_dist: Optional[jax.Array] = None,
    coverage: Optional[jax.Array] = None,
) -> jax.Array:
    """EPIC pseudometric (Gleave et al. 2021, §4), the Pearson distance of the canonicalised rewards:
    ``sqrt((1 − ρ(C(r1), C(r2))) / 2)`` in [0, 1].

    Args:
      r1, r2: rewards ``(S, A, S)``; with ``mdp`` given also ``(S,)`` or ``(S, A)`` (broadcast to triples).
      discount: γ of the canonicalisation (default: ``mdp.discount``).
      state_dist, action_dist: coverage distributions ``D_S (S,)``, ``D_A (A,)``; uniform by default.
      coverage: weights ``(S, A, S)`` of the Pearson correlation ρ over transitions; uniform by default.
        ρ is computed exactly as a weighted sum over all triples (no sampling). A reward equivalent to 0 (a
        constant or a potential shaping) is at distance 0 from another such one and ``1/√2`` from any other.
    """
    S = A = None
    if isinstance(r1, TabularMDP) or isinstance(r2, TabularMDP):
        raise ValueError("r1, r2: got a TabularMDP; epic_distance(r1, r2, discount=None, *, mdp=None) takes the MDP "
                         "as a keyword, mdp=... (expected_value_difference takes it first)")
    if mdp is not None:
        S, A = mdp.num_states, mdp.num_actions
        discount = mdp.discount if discount is None else discount
    if discount is None:
        raise ValueError("discount: required when no mdp is given")
    if isinstance(discount, bool) or (known_scalar(discount) and not 0.0 <= float(discount) <= 1.0):
        raise ValueError(f"discount: expected a number in [0, 1], got {discount!r}")
    r1 = _as_sas("r1", r1, S, A)
    S, A = r1.shape[0], r1.shape[1]
    r2 = _as_sas("r2", r2, S, A)
    if r2.shape != r1.shape:
        raise ValueError(f"r2: expected shape {r1.shape} like r1, got {tuple(r2.shape)}")
    d_s = _dist("state_dist", state_dist, S)
    d_a = _dist("action_dist", action_dist, A)
    if coverage is None:
        w = jnp.ones((S, A, S), r1.dtype)
    else:
        w = jnp.asarray(coverage, float_dtype(coverage))
        if w.shape != (S, A, S):
            raise ValueError(f"coverage: expected shape ({S}, {A}, {S}), got {tuple(w.shape)}")
        if _concrete(w) and (np.any(np.asarray(w) < 0) or not np.asarray(w).sum() > 0):
            raise ValueError("coverage: expected non-negative weights with a positive sum")
    dt = float_dtype(r1, r2)
    r1, r2, gamma = r1.astype(dt), r2.astype(dt), jnp.asarray(discount, dt)
    # EPIC is invariant to positive rescaling: compute at unit scale (1e-20 · r read as the zero reward, 1e20 · r NaN)
    r1, r2 = unit_scale(r1), unit_scale(r2)
    c1, c2 = canonicalize(r1, gamma, d_s.astype(dt), d_a.astype(dt)), canonicalize(r2, gamma, d_s.astype(dt), d_a.astype(dt))
    w = w.astype(dt)
    zero1, zero2 = _equivalent_to_zero(c1, r1, w), _equivalent_to_zero(c2, r2, w)
    rho = jnp.where(zero1 & zero2, 1.0, jnp.where(zero1 | zero2, 0.0, _weighted_pearson(c1, c2, w)))
    return jnp.sqrt(jnp.clip((1.0 - rho) / 2.0, 0.0, 1.0))


def _equivalent_to_zero(c: jax.Array, r: jax.Array, w: jax.Array) -> jax.Array:
    """Whether the canonical reward ``c`` of ``r`` is 0 up to rounding (``r`` a constant or a potential shaping):
    its weighted spread is below ``2 ε · max|r|`` (ε the dtype's machine epsilon; float32 rounding leaves ~0.4 ε).
    Such a reward has no Pearson correlation with anything; EPIC is then 0 between two of them (both equivalent to the zero reward) and
    ``1/√2``, the distance of uncorrelated rewards, between one and a reward that is not (a convention, as
    :func:`pearson`'s 0 for a constant; Gleave et al. 2021 leave ρ undefined there)."""
    w = w / jnp.sum(w)
    spread = jnp.sqrt(jnp.sum(w * (c - jnp.sum(w * c)) ** 2))
    return spread <= 2 * jnp.finfo(c.dtype).eps * jnp.max(jnp.abs(r))


def normalized_score(ret, random_ret, expert_ret):
    """``(ret − random) / (expert − random)``: 0 = random policy, 1 = expert (e.g. Ho & Ermon 2016)."""
    ret, random_ret, expert_ret = (jnp.asarray(x, jnp.float32) for x in (ret, random_ret, expert_ret))
    if _concrete(expert_ret) and _concrete(random_ret) and np.any(np.asarray(expert_ret) == np.asarray(random_ret)):
        raise ValueError("expert_ret: must differ from random_ret (the normalisation divides by their difference)")
    return (ret - random_ret) / (expert_ret - random_ret)
