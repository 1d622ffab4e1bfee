"""State and state-action visitation by forward messages.

Finite horizon H (Ziebart et al. 2008, Algorithm 1; CS285 lecture 20, "forward messages"):

    D[0] = p0,   D[t+1](s') = Σ_{s,a} D[t](s) π_t(a|s) T(s, a, s'),   t = 0..H−1,

so ``per_step`` has H + 1 rows (the last is the state after the final decision) and each sums to one.
``state_action[t] = D[t](s) π_t(a|s)`` for the H decision times; ``discounted = Σ_{t=0..H} γ^t D[t]`` and
``discounted_state_action = Σ_{t<H} γ^t D[t] π_t``.

Infinite horizon (γ < 1): the discounted state visitation is the solution of ``(I − γ P_πᵀ) d = p0`` with
``P_π(s, s') = Σ_a π(a|s) T(s, a, s')``; it sums to 1 / (1 − γ). Dense MDPs with up to
``solve_max_states`` states use a direct linear solve; larger or sparse ones iterate
``d ← p0 + γ P_πᵀ d`` (a γ-contraction) inside ``lax.while_loop`` to a relative tolerance on one step's
change — the remaining error is up to γ/(1 − γ) times that (at γ = 0.999 the visitation sums to ~999.0 of
its 1000 with the default tol).
"""

from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp
from flax import struct

from jaxirl.tabular.mdp import TabularMDP, check_policy_rows, float_dtype, forward_operator, iteration_cap


@struct.dataclass
class VisitationResult:
    """See the module docstring. ``per_step``/``state_action`` are ``None`` for infinite horizons."""

    per_step: Optional[jax.Array]
    discounted: jax.Array
    state_action: Optional[jax.Array]
    discounted_state_action: jax.Array


def _check_policy(mdp: TabularMDP, policy) -> None:
    S, A = mdp.num_states, mdp.num_actions
    want = (mdp.horizon, S, A) if mdp.horizon is not None else (S, A)
    stationary = mdp.horizon is not None and tuple(policy.shape) == (S, A)  # allowed for finite horizons too
    if tuple(policy.shape) != want and not stationary:
        raise ValueError(f"policy: expected shape {want} for this MDP, got {tuple(policy.shape)}")
    check_policy_rows(policy)  # rows that are not distributions give visitations of any mass (inf for rows of 2.5)


def visitation(
    mdp: TabularMDP,
    policy: jax.Array,
    *,
    solve_max_states: int = 4096,
    tol: float = 1e-6,
    max_iter: Optional[int] = None,
) -> VisitationResult:
    """Visitation of ``policy`` (``(H, S, A)`` or ``(S, A)`` for finite horizons, ``(S, A)`` otherwise).

    Infinite horizon: a linear solve for dense MDPs of at most ``solve_max_states`` states, else forward messages
    until one step changes the visitation by at most ``tol`` of its largest value, or ``max_iter`` steps (``None``:
    :func:`jaxirl.tabular.mdp.iteration_cap` for the discount, at least 100 000)."""
    _check_policy(mdp, policy)
    # the MDP's precision and the policy's, whichever is wider (a float32 policy on a float64 MDP crashed the
    # finite-horizon scan and solved the infinite-horizon one in float32)
    dt = float_dtype(mdp.transition, policy)
    policy = jnp.asarray(policy, dt)
    p0 = jnp.asarray(mdp.initial, dt)
    gamma = jnp.asarray(mdp.discount, dt)
    push_forward = forward_operator(mdp)

    if mdp.horizon is not None:
        H = mdp.horizon
        pis = policy if policy.ndim == 3 else jnp.broadcast_to(policy, (H,) + policy.shape)

        def forward(d, pi_t):
            d_sa = d[:, None] * pi_t
            return push_forward(d_sa), (d, d_sa)

        d_last, (ds, dsa) = jax.lax.scan(forward, p0, pis)
        per_step = jnp.concatenate([ds, d_last[None]], axis=0)
        weights = gamma ** jnp.arange(H + 1, dtype=policy.dtype)
        discounted = jnp.einsum("t,ts->s", weights, per_step)
        disc_sa = jnp.einsum("t,tsa->sa", weights[:H], dsa)
        return VisitationResult(per_step, discounted, dsa, disc_sa)

    S = mdp.num_states
    if not mdp.is_sparse and S <= solve_max_states:
        p_pi = jnp.einsum("sa,san->sn", policy, mdp.transition)
        d = jnp.linalg.solve(jnp.eye(S, dtype=policy.dtype) - gamma * p_pi.T, p0)
    else:
        cap = iteration_cap(mdp.discount, tol, max_iter, floor=100_000)

        def cond(c):
            _, i, err, scale = c
            return (i < cap) & (err > tol * scale)

        def body(c):
            d, i, _, _ = c
            d_new = p0 + gamma * push_forward(d[:, None] * policy)
            return d_new, i + 1, jnp.max(jnp.abs(d_new - d)), jnp.max(jnp.abs(d_new))

        init = (p0, jnp.asarray(0, jnp.int32), jnp.asarray(jnp.inf, policy.dtype), jnp.max(p0))
        d, *_ = jax.lax.while_loop(cond, body, init)
    return VisitationResult(None, d, None, d[:, None] * policy)
