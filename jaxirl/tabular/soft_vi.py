"""Soft (maximum-entropy) value iteration.

The soft Bellman backup of maximum causal entropy control (Ziebart et al. 2008, 2010; Haarnoja et al.
2017 for the temperature form; CS285 lecture 20):

    Q(s, a) = r(s, a) + γ Σ_s' T(s, a, s') V(s'),   V(s) = α log Σ_a exp(Q(s, a) / α),
    π(a | s) = exp((Q(s, a) − V(s)) / α).

Finite horizon H (H decisions, t = 0..H−1): ``Q[H−1] = r`` and the recursion runs backwards; ``V[0]`` is the
maximum causal entropy value ``max_π E[Σ γ^t (r − α log π)]`` — with deterministic dynamics and γ = 1 also α
times the log-partition function of p(τ) ∝ exp(Σ r / α) (Ziebart 2008); with stochastic dynamics the two
differ, and the causal form is the one computed (Ziebart 2010). Infinite horizon (``mdp.horizon is None``,
γ < 1): the fixed point, iterated inside a ``lax.while_loop`` until the sup-norm change of one backup falls
below ``tol · max|V|`` (a relative tolerance, so that float32 runs can meet it whatever the scale of the
values; until 2026-11-29 ``tol · (1 + max|V|)``, absolute for values below 1: a reward and temperature of scale 1e-6
stopped after one backup) or ``max_iter`` backups. That bounds the last step, not the error: a γ-contraction leaves
``|V − V*| ≤ γ/(1 − γ) · tol · max|V|`` (about 9× the step at γ = 0.9, 99× at 0.99); the policy is far
less sensitive (a constant error in V cancels in ``Q − V``). The step shrinks by about γ per backup, so reaching
the tolerance takes ~``ln(1/tol) / (1 − γ)`` backups: ``max_iter=None`` (the default) allows
:func:`iteration_cap` of them (10 000 up to γ ≈ 0.997 with ``tol = 1e-6``, more above: at γ = 0.9999 a fixed
10 000 stopped 37 % short of V; at most 10⁷), computed from a traced γ too — inside the jitted MaxEnt IRL,
apprenticeship learning, the soft-VI generator, under ``jax.vmap``. A solve that reaches its cap shows it as
``result.iterations`` equal to the cap (``result.residual`` is the last step). For float64 accuracy pass a smaller
``tol`` too (the default 1e-6 is relative, ~float32's resolution).

Derivatives: the finite-horizon recursion is a ``lax.scan`` that ``jax.grad`` differentiates directly. The
infinite-horizon fixed point ``V* = B(V*)`` is differentiated by the implicit function theorem
(``jax.lax.custom_root``): ``dV* = (I − ∂B/∂V)⁻¹ ∂B``, with ``∂B/∂V = γ P_π`` solved by the same kind of
iteration, so ``jax.grad`` and ``jax.jacfwd`` work in the reward, the temperature, the discount and the
transitions (e.g. the gradient of ``p0 · V*`` in a state reward is the discounted state visitation).
"""

from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp
from flax import struct

from jaxirl.tabular.mdp import (TabularMDP, backup_operator, check_reward, expected_reward, iteration_cap,
                                positive_number, unit_scale)


@struct.dataclass
class SoftVIResult:
    """Soft values, Q-values and the soft-optimal policy.

    Finite horizon: ``v (H, S)``, ``q (H, S, A)``, ``policy (H, S, A)`` indexed by decision time.
    Infinite horizon: stationary ``v (S,)``, ``q (S, A)``, ``policy (S, A)``; ``iterations`` is the number
    of backups run and ``residual`` the last sup-norm change (both ``None``-free scalars; ``0`` for finite).
    """

    v: jax.Array
    q: jax.Array
    policy: jax.Array
    iterations: jax.Array
    residual: jax.Array


def soft_backup_v(q: jax.Array, temperature) -> jax.Array:
    """``V = α logsumexp(Q / α)`` over the last axis."""
    return temperature * jax.nn.logsumexp(q / temperature, axis=-1)


def soft_policy(q: jax.Array, v: jax.Array, temperature) -> jax.Array:
    """``π = exp((Q − V) / α)``; rows sum to one (computed as a softmax for stability)."""
    del v
    return jax.nn.softmax(q / temperature, axis=-1)


def _iterate(update, x0, max_iter: int, threshold):
    """``x ← update(x)`` inside a ``lax.while_loop`` until one step's sup-norm change is at most
    ``threshold(max|x|)`` or ``max_iter`` steps; returns ``(x, steps, last change)``."""
    def cond(carry):
        _, i, err, scale = carry
        return (i < max_iter) & (err > threshold(scale))

    def body(carry):
        x, i, _, _ = carry
        x_new = update(x)
        return x_new, i + 1, jnp.max(jnp.abs(x_new - x)), jnp.max(jnp.abs(x_new))

    init = (x0, jnp.asarray(0, jnp.int32), jnp.asarray(jnp.inf, x0.dtype), jnp.max(jnp.abs(x0)))
    x, steps, err, _ = jax.lax.while_loop(cond, body, init)
    return x, steps, err


def soft_value_iteration(
    mdp: TabularMDP,
    reward: jax.Array,
    temperature=1.0,
    *,
    tol: float = 1e-6,
    max_iter: Optional[int] = None,
    init_v: Optional[jax.Array] = None,
) -> SoftVIResult:
    """Soft value iteration for ``reward`` of shape ``(S,)``, ``(S, A)`` or ``(S, A, S)``.

    ``temperature`` (α > 0) and ``mdp.discount`` are traced, so ``jax.vmap`` over them works; as α → 0 the
    result approaches hard value iteration. ``init_v`` warm-starts the infinite-horizon iteration.
    See the module docstring for the equations (Ziebart et al. 2008).
    """
    check_reward(mdp, reward)
    positive_number("temperature", temperature)
    max_iter = iteration_cap(mdp.discount, tol, max_iter)
    reward = jnp.asarray(reward)
    r = expected_reward(mdp, reward.astype(jnp.result_type(reward.dtype, mdp.transition.dtype, jnp.float32)))
    gamma = jnp.asarray(mdp.discount, r.dtype)
    alpha = jnp.asarray(temperature, r.dtype)
    # The loops work on (A, S) arrays: the soft maximum is then a reduction over the leading axis and the
    # sparse backup needs no transpose per iteration (≈3x faster on XLA:CPU than (S, A) at 64x64).
    r_t = jnp.asarray(r.T)
    expected_next_t = backup_operator(mdp, layout="as")

    def soft_v(q_t):
        # α·logsumexp(Q/α) over actions, written out: jax.nn.logsumexp's extra inf handling costs ~20% here.
        m = jax.lax.stop_gradient(jnp.max(q_t, axis=0))
        return m + alpha * jnp.log(jnp.sum(jnp.exp((q_t - m) / alpha), axis=0))

    if mdp.horizon is not None:
        H = mdp.horizon
        v_last = soft_v(r_t)

        def backward(v_next, _):
            q_t = r_t + gamma * expected_next_t(v_next)
            v = soft_v(q_t)
            return v, (v, q_t)

        _, (vs, qs_t) = jax.lax.scan(backward, v_last, None, length=H - 1)
        # scan produced t = H-2, ..., 0; put them in time order and append t = H-1.
        v = jnp.concatenate([vs[::-1], v_last[None]], axis=0)
        q = jnp.swapaxes(jnp.concatenate([qs_t[::-1], r_t[None]], axis=0), -1, -2)
        zero = jnp.zeros((), r.dtype)
        return SoftVIResult(v, q, soft_policy(q, v, alpha), jnp.asarray(H, jnp.int32), zero)

    v0 = soft_v(r_t) if init_v is None else jnp.asarray(init_v, r.dtype)

    def backup(v):
        return soft_v(r_t + gamma * expected_next_t(v))

    def solve(_, v_start):  # the forward iteration (custom_root differentiates the fixed point, not this loop)
        v, iters, err = _iterate(backup, v_start, max_iter, lambda scale: tol * scale)
        return v, jax.lax.stop_gradient((iters.astype(r.dtype), err))  # (a float count: custom_root's aux)

    def iterate(g, y):
        # x with g(x) = y for g = (∂B/∂V − I) or its transpose: iterate x ← g(x) + x − y, a contraction
        # (rate γ) since ∂B/∂V = γ P_π (rows sum to γ; its transpose's columns do). The stop is relative to x
        # (a linear solve is scale-free: grad(c·L) = c·grad(L) however small c); y = 0 stops at once.
        tiny = jnp.finfo(y.dtype).tiny
        return _iterate(lambda x: g(x) + x - y, -y, max_iter, lambda scale: tol * jnp.maximum(scale, tiny))[0]

    def tangent_solve(g, y):  # a linear solve JAX can transpose (reverse mode) without differentiating the loop
        return jax.lax.custom_linear_solve(g, y, solve=iterate, transpose_solve=iterate)

    # V* = B(V*): reverse- and forward-mode derivatives by the implicit function theorem (jax.grad through the
    # while loop itself is not defined); the forward values are the loop's
    v, (iters, err) = jax.lax.custom_root(lambda v: backup(v) - v, v0, solve, tangent_solve, has_aux=True)
    iters = iters.astype(jnp.int32)
    q = (r_t + gamma * expected_next_t(v)).T
    v = soft_backup_v(q, alpha)  # consistent with q exactly
    return SoftVIResult(v, q, soft_policy(q, v, alpha), iters, err)


def hard_value_iteration(mdp: TabularMDP, reward: jax.Array, *, tol: float = 1e-6, max_iter: Optional[int] = None):
    """Standard (hard-max) value iteration; returns ``(v, q)`` with the same time indexing as soft VI.

    The α → 0 limit of :func:`soft_value_iteration`; used for metrics (EVD) and tests. Infinite horizon: stops when
    one sweep changes no value by more than ``tol · max|v|`` (relative: the result scales with the reward), or after
    ``max_iter`` sweeps (``None``: :func:`iteration_cap`).
    """
    check_reward(mdp, reward)
    max_iter = iteration_cap(mdp.discount, tol, max_iter)
    reward = jnp.asarray(reward)
    r = expected_reward(mdp, reward.astype(jnp.result_type(reward.dtype, mdp.transition.dtype, jnp.float32)))
    gamma = jnp.asarray(mdp.discount, r.dtype)
    expected_next = backup_operator(mdp)
    if mdp.horizon is not None:
        def backward(v_next, _):
            q = r + gamma * expected_next(v_next)
            return q.max(-1), (q.max(-1), q)

        _, (vs, qs) = jax.lax.scan(backward, r.max(-1), None, length=mdp.horizon - 1)
        v = jnp.concatenate([vs[::-1], r.max(-1)[None]], axis=0)
        q = jnp.concatenate([qs[::-1], r[None]], axis=0)
        return v, q

    # relative stopping rule: the values' scale is the reward's (an absolute tol * (1 + scale) stopped a reward of
    # scale 1e-6 after one sweep)
    v, _, _ = _iterate(lambda v: (r + gamma * expected_next(v)).max(-1), r.max(-1), max_iter,
                       lambda scale: tol * scale)
    q = r + gamma * expected_next(v)
    return q.max(-1), q


def greedy_policy(q: jax.Array, rtol: float = 1e-5) -> jax.Array:
    """Uniform over the actions whose ``q`` is within ``rtol · (1 + max|q|)`` of the row maximum.

    Spreading ties uniformly (rather than ``argmax``'s first index) makes a constant reward give the
    uniform policy instead of "always action 0".
    """
    tol = rtol * (1.0 + jnp.max(jnp.abs(q), axis=-1, keepdims=True))
    best = (q >= q.max(-1, keepdims=True) - tol).astype(q.dtype)
    return best / best.sum(-1, keepdims=True)


def optimal_policy(mdp: TabularMDP, reward: jax.Array, temperature: Optional[float] = None) -> jax.Array:
    """The optimal policy for ``reward``: greedy in the hard Q (``temperature=None``), else soft-optimal.

    Shape ``(H, S, A)`` for finite horizons, ``(S, A)`` otherwise. The hard policy does not depend on the
    reward's scale or offset (every trajectory of a ``TabularMDP`` has the same length, so ``r + c`` has ``r``'s
    optimal policies): it is solved for the reward centred on its mid-range and divided by its half-range.
    :func:`greedy_policy`'s tie tolerance, ``1e-5 · (1 + max|q|)``, is set by the values' magnitude, so a reward of
    scale 1e-6 tied every action (EVD of ``1e-6 · r`` against ``r``: 4.4 instead of 0, 8×8 gridworld) and so did
    ``1 + 1e-4 · r`` (4.0).
    """
    if temperature is None:
        reward = jnp.asarray(reward)
        reward = reward.astype(jnp.result_type(reward.dtype, mdp.dtype))
        _, q = hard_value_iteration(mdp, unit_scale(reward - 0.5 * (jnp.max(reward) + jnp.min(reward))))
        return greedy_policy(q)
    return soft_value_iteration(mdp, reward, temperature).policy
