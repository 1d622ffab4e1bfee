"""Plain-NumPy reference of the tabular recursions, for benchmarks and agreement checks.

The same equations as :mod:`jaxirl.tabular.soft_vi`, :mod:`jaxirl.tabular.visitation` and
:mod:`jaxirl.tabular.maxent` (Ziebart et al. 2008) on sparse ``(S, A, K)`` transitions, infinite horizon:
soft value iteration to the relative tolerance ``tol · (1 + max|V|)``, the discounted visitation by the
fixed-point iteration ``d ← p0 + γ P_πᵀ d`` to ``tol · max d``, and MaxEnt IRL with a tabular reward and the
Adam (Kingma & Ba 2015; optax defaults) or plain gradient-descent update, warm-starting soft VI from the previous values.
"""

from __future__ import annotations

import numpy as np


def _logsumexp(x: np.ndarray) -> np.ndarray:
    m = x.max(-1)
    return m + np.log(np.exp(x - m[..., None]).sum(-1))


def soft_value_iteration(T, nxt, reward, gamma, temperature=1.0, tol=1e-6, max_iter=10_000, v0=None):
    """Returns ``(v (S,), q (S, A), policy (S, A), iterations)`` for a state reward ``(S,)``."""
    r = np.broadcast_to(reward[:, None], T.shape[:2])
    a = temperature
    v = a * _logsumexp(r / a) if v0 is None else v0.copy()
    it = 0
    while it < max_iter:
        v_new = a * _logsumexp((r + gamma * (T * v[nxt]).sum(-1)) / a)
        err, scale = np.abs(v_new - v).max(), np.abs(v_new).max()
        v, it = v_new, it + 1
        if err <= tol * (1.0 + scale):
            break
    q = r + gamma * (T * v[nxt]).sum(-1)
    v = a * _logsumexp(q / a)
    policy = np.exp((q - v[:, None]) / a)
    return v, q, policy / policy.sum(-1, keepdims=True), it


def discounted_visitation(T, nxt, p0, policy, gamma, tol=1e-6, max_iter=100_000):
    """Solves ``d = p0 + γ P_πᵀ d`` by iteration; returns ``d (S,)``."""
    S = p0.shape[0]
    flat_next = nxt.reshape(-1)
    d = p0.copy()
    for _ in range(max_iter):
        mass = ((d[:, None] * policy)[..., None] * T).reshape(-1)
        d_new = p0 + gamma * np.bincount(flat_next, weights=mass, minlength=S)
        err, scale = np.abs(d_new - d).max(), np.abs(d_new).max()
        d = d_new
        if err <= tol * scale:
            break
    return d


def maxent_irl(T, nxt, p0, gamma, expert_svf, num_steps, learning_rate=0.1, temperature=1.0,
               optimizer="adam", b1=0.9, b2=0.999, eps=1e-8):
    """Tabular-reward MaxEnt IRL with Adam or SGD; returns ``(reward (S,), loss (num_steps,))``."""
    S = p0.shape[0]
    r = np.zeros(S, expert_svf.dtype)
    m = np.zeros_like(r)
    s2 = np.zeros_like(r)
    v = np.zeros_like(r)
    losses = []
    for t in range(1, num_steps + 1):
        v, _, policy, _ = soft_value_iteration(T, nxt, r, gamma, temperature, v0=v)
        losses.append(p0 @ v - expert_svf @ r)
        grad = discounted_visitation(T, nxt, p0, policy, gamma) - expert_svf
        if optimizer == "sgd":
            r = r - learning_rate * grad
            continue
        m = b1 * m + (1 - b1) * grad
        s2 = b2 * s2 + (1 - b2) * grad**2
        m_hat, s_hat = m / (1 - b1**t), s2 / (1 - b2**t)
        r = r - learning_rate * m_hat / (np.sqrt(s_hat) + eps)
    return r, np.asarray(losses)
