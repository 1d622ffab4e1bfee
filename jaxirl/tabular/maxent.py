"""Maximum-entropy IRL on tabular MDPs (Ziebart et al. 2008), with linear or deep rewards (Wulfmeier et al. 2016).

The reward is a state reward ``r = model(params, F)``. With ``V_0`` the soft value of
:func:`~jaxirl.tabular.soft_vi.soft_value_iteration` at temperature α, we minimise the maximum causal entropy
dual (Ziebart 2010)

    loss(r) = Σ_s p0(s) V_0(s) − Σ_s μ_E(s) r(s)

With deterministic dynamics (and γ = 1) ``V_0 = α log Z`` and this is exactly α times the negative
log-likelihood of the demonstrations under ``p(τ) ∝ exp(Σ_t r(s_t) / α)`` (Ziebart 2008), up to a constant.
With stochastic dynamics it is the causal-entropy objective (Ziebart 2010): α times the causal negative
log-likelihood ``−Σ_t γ^t log π(a_t | s_t)`` of the demonstrated actions with each realised next state's soft
value replaced by its expectation under the dynamics — not the likelihood of the demonstrated trajectories
(for finitely many demonstrations the two differ by a term that depends on ``r``; see
:mod:`jaxirl.tabular.soft_vi`). Either way its gradient is ``∂loss/∂r(s) = μ_π(s) − μ_E(s)`` (Ziebart et al.
2008, Eq. 6; Wulfmeier et al. 2016, Eq. 9): expected minus expert (discounted) state visitation,
``μ(s) = Σ_t γ^t P(s_t = s)`` over the H
decisions (finite horizon) or all t (infinite horizon; the discounted analogue of the likelihood, whose
normaliser is the discounted soft value). ``μ_π`` is exact (soft VI + forward messages,
:func:`~jaxirl.tabular.visitation.visitation`) in :func:`maxent_irl`, and estimated from trajectories
sampled from the current soft policy in :func:`maxent_irl_sampled` (the "sampling version" of CS285
lecture 20). The reward gradient is pulled back to the parameters with ``jax.vjp`` and applied with
optax; the whole optimisation is one jitted ``lax.scan``, so ``jax.vmap`` over keys, learning rates,
temperatures or MDPs (same shapes) works.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Optional, Sequence, Union

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from jaxirl.tabular.demos import Trajectories, empirical_visitation, sample_trajectories
from jaxirl.tabular.mdp import TabularMDP, _concrete, positive_number
from jaxirl.tabular.soft_vi import soft_value_iteration
from jaxirl.tabular.visitation import visitation

__all__ = ["MaxEntResult", "RewardMLP", "maxent_irl", "maxent_irl_sampled", "expert_state_visitation", "maxent_loss",
           "check_arguments"]

MODELS = ("tabular", "linear", "mlp")
OPTIMIZERS = {"adam": optax.adam, "sgd": optax.sgd}


@struct.dataclass
class MaxEntResult:
    """``params`` of the reward model, final ``reward (S,)``, per-step ``loss``/``grad_norm (num_steps,)``
    (the loss is evaluated at the parameters *before* that step's update) and ``reward_history
    (num_steps // log_every, S)``, the reward after every ``log_every`` steps (``None`` if not asked for)."""

    params: Any
    reward: jax.Array
    loss: jax.Array
    grad_norm: jax.Array
    reward_history: Optional[jax.Array] = None


class RewardMLP(nn.Module):
    """State-reward network over features (Wulfmeier et al. 2016): ReLU MLP, scalar output per state."""

    hidden: Sequence[int] = (64, 64)

    @nn.compact
    def __call__(self, features):
        x = features
        for width in self.hidden:
            x = nn.relu(nn.Dense(width)(x))
        return nn.Dense(1)(x)[..., 0]


def _model_fns(model: str, hidden: tuple, num_states: int):
    """``(init(key, F) -> params, apply(params, F) -> r (S,))`` for a model name; parameters in the features'
    float dtype (float64 features: a float64 reward)."""
    if model == "tabular":
        return (lambda key, f: jnp.zeros((num_states,), f.dtype)), (lambda p, f: p)
    if model == "linear":
        return (lambda key, f: jnp.zeros((f.shape[1],), f.dtype)), (lambda p, f: f @ p)
    net = RewardMLP(hidden)
    return (lambda key, f: jax.tree.map(lambda x: x.astype(f.dtype), net.init(key, f))), net.apply


def expert_state_visitation(mdp: TabularMDP, expert: Union[Trajectories, jax.Array]) -> jax.Array:
    """Expert (discounted) state visitation ``μ_E (S,)`` from trajectories or a given visitation.

    ``expert`` may be :class:`~jaxirl.tabular.demos.Trajectories` (finite horizon: exactly ``H`` actions
    each; infinite horizon: any length L, the truncated ``Σ_{t<L} γ^t`` counts rescaled to the total mass
    ``1/(1−γ)`` of the exact discounted visitation — **biased**: the rescaling gives the missing tail
    ``Σ_{t≥L}`` the early steps' state distribution, so even unlimited demonstrations of length L do not give the
    exact ``μ_E``; a review measured (S = 3, γ = 0.9) a linear reward recovered as [−83.6, 124.5] from L = 5 and
    [−5.5, 9.0] from L = 20 against the true [1, −0.5], exact with the exact ``μ_E``: use L ≫ 1/(1−γ), or pass the
    visitation), a state visitation ``(S,)`` or a state-action one
    ``(S, A)`` (summed over actions), e.g. from :func:`~jaxirl.tabular.demos.empirical_visitation` with
    ``discount=mdp.discount``. A given visitation must have the exact one's total mass, ``Σ_{t<H} γ^t`` (finite
    horizon, within 0.1 %) or ``1/(1−γ)`` (infinite; within 0.1 %, or ``1e-5/(1−γ)`` near γ = 1, at most 25 %)
    when concrete: with any other the loss has no minimum (its gradient ``μ_π − μ_E`` never vanishes, so a
    tabular reward drifts without bound).
    """
    S, A = mdp.num_states, mdp.num_actions
    if isinstance(expert, Trajectories):
        if mdp.horizon is not None and expert.length != mdp.horizon:
            raise ValueError(f"expert: trajectories need length == horizon = {mdp.horizon}, got {expert.length}")
        mu = empirical_visitation(expert, S, A, discount=mdp.discount).sum(-1)
        if mdp.horizon is None:
            gamma = jnp.asarray(mdp.discount, mdp.dtype)
            mu = mu * (1.0 - gamma**expert.length) ** -1  # Σ_{t<L} γ^t = (1 − γ^L)/(1 − γ)
        return mu.astype(mdp.dtype)
    mu = jnp.asarray(expert, mdp.dtype)
    if mu.shape == (S, A):
        mu = mu.sum(-1)
    if mu.shape != (S,):
        raise ValueError(f"expert: expected Trajectories, a state visitation ({S},) or ({S}, {A}), got {tuple(mu.shape)}")
    if _concrete(mu) and (not np.all(np.isfinite(np.asarray(mu))) or np.any(np.asarray(mu) < 0)):
        raise ValueError("expert: the visitation must be finite and non-negative")
    if _concrete(mu) and not isinstance(mdp.discount, jax.core.Tracer) and np.ndim(mdp.discount) == 0:
        g = float(mdp.discount)
        if mdp.horizon is not None:
            mass, what = float(sum(g**t for t in range(mdp.horizon))), f"sum of gamma^t over the horizon {mdp.horizon}"
            rtol = 1e-3
        else:
            mass, what = 1.0 / (1.0 - g), f"1/(1 - gamma) with gamma = {g:.6g}"
            # an iterated visitation stops at a tolerance whose error grows like 1/(1 - gamma): 1e-3 of the mass
            # at gamma = 0.999 (a check for gross errors, e.g. undiscounted counts, not for rounding)
            rtol = min(0.25, max(1e-3, 1e-5 / (1.0 - g)))
        total = float(np.sum(np.asarray(mu, np.float64)))
        if abs(total - mass) > rtol * mass:
            raise ValueError(f"expert: a visitation of total mass {total:.6g}; MaxEnt needs the exact visitation's "
                             f"{mass:.6g} ({what}): e.g. empirical_visitation(..., discount=mdp.discount) of "
                             f"trajectories of the horizon's length, or pass the Trajectories themselves (then "
                             f"truncated infinite-horizon counts are rescaled)")
    return mu


def maxent_loss(mdp: TabularMDP, reward: jax.Array, expert_svf: jax.Array, temperature=1.0) -> jax.Array:
    """``Σ_s p0(s) V_0(s) − Σ_s μ_E(s) r(s)`` for a state reward (see the module docstring)."""
    sol = soft_value_iteration(mdp, reward, temperature)
    v0 = sol.v[0] if mdp.horizon is not None else sol.v
    return jnp.dot(mdp.initial, v0) - jnp.dot(expert_svf, reward)


def _check_args(mdp, features, model, hidden, learning_rate, num_steps, temperature, log_every, optimizer):
    if not isinstance(mdp, TabularMDP):
        raise ValueError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    if model not in MODELS:
        raise ValueError(f"model: expected one of {MODELS}, got {model!r}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer: expected one of {tuple(OPTIMIZERS)}, got {optimizer!r}")
    features = jnp.asarray(features, mdp.dtype)
    if features.ndim != 2 or features.shape[0] != mdp.num_states:
        raise ValueError(f"features: expected shape ({mdp.num_states}, F), got {tuple(features.shape)}")
    if _concrete(features) and not np.all(np.isfinite(np.asarray(features))):
        raise ValueError("features: contains NaN or infinite values")
    hidden = tuple(hidden)
    if not all(isinstance(h, (int, np.integer)) and h > 0 for h in hidden):
        raise ValueError(f"hidden: expected a sequence of positive ints, got {hidden!r}")
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 1:
        raise ValueError(f"num_steps: expected a positive int, got {num_steps!r}")
    for name, value in (("learning_rate", learning_rate), ("temperature", temperature)):
        positive_number(name, value)
    if log_every is not None and (
        isinstance(log_every, bool) or not isinstance(log_every, (int, np.integer))
        or log_every < 1 or num_steps % log_every
    ):
        raise ValueError(f"log_every: expected a positive int dividing num_steps={num_steps}, got {log_every!r}")
    return features, hidden


def check_arguments(mdp, features, model="linear", hidden=(32, 32), learning_rate=0.1, num_steps=100, temperature=1.0,
                    log_every=None, optimizer="adam", l2=0.0) -> None:
    """The checks :func:`maxent_irl` makes of its arguments, alone: a job calls it before any compiling."""
    _check_args(mdp, features, model, hidden, learning_rate, num_steps, temperature, log_every, optimizer)
    _check_l2(l2)


def maxent_irl(
    mdp: TabularMDP,
    features: jax.Array,
    expert: Union[Trajectories, jax.Array],
    key: jax.Array,
    *,
    model: str = "linear",
    learning_rate=0.1,
    num_steps: int = 100,
    temperature=1.0,
    hidden: Sequence[int] = (64, 64),
    optimizer: str = "adam",
    l2=0.0,
    log_every: Optional[int] = None,
) -> MaxEntResult:
    """MaxEnt IRL with the exact expected visitation (Ziebart et al. 2008; Wulfmeier et al. 2016).

    Args:
      mdp: the known dynamics (finite or infinite horizon, dense or sparse).
      features: ``(S, F)`` state features (ignored by ``model="tabular"``).
      expert: demonstrations, see :func:`expert_state_visitation`.
      key: initialises the MLP (the linear and tabular models start at zero reward).
      model: ``"linear"`` (``r = F ψ``), ``"mlp"`` (``r = MLP(F)``, :class:`RewardMLP`) or ``"tabular"``
        (one free reward per state; same as linear with one-hot features, without building them).
      learning_rate, temperature: traced (vmap-able); ``temperature`` is the soft-VI α.
      optimizer: ``"adam"`` (default) or ``"sgd"``.
      l2: traced weight of ``(l2/2)‖params‖²`` added to the loss (a Gaussian prior, i.e. MAP; Wulfmeier
        et al. 2016 use weight decay). The unregularised loss is bounded below only when ``μ_E`` is a
        feasible visitation of the MDP; an empirical one from few demonstrations usually is not (its
        start states and transitions do not match ``p0`` and ``T`` exactly), so with a flexible model
        (MLP, many steps) the reward can drift without bound. Two remedies: use the demonstrations'
        start states as the MDP's initial distribution (``mdp.replace(initial=empirical_initial(...))``,
        exact feasibility for deterministic dynamics) and/or a small ``l2``.
      log_every: if set (dividing ``num_steps``), also return the reward every ``log_every`` steps.
    """
    features, hidden = _check_args(mdp, features, model, hidden, learning_rate, num_steps, temperature, log_every, optimizer)
    _check_l2(l2)
    mu_e = expert_state_visitation(mdp, expert)
    return _run(mdp, features, mu_e, key, learning_rate, temperature, l2, model, hidden, optimizer, num_steps,
                log_every, 0, 0)


def maxent_irl_sampled(
    mdp: TabularMDP,
    features: jax.Array,
    expert: Union[Trajectories, jax.Array],
    key: jax.Array,
    *,
    num_samples: int = 64,
    sample_length: Optional[int] = None,
    model: str = "linear",
    learning_rate=0.1,
    num_steps: int = 100,
    temperature=1.0,
    hidden: Sequence[int] = (64, 64),
    optimizer: str = "adam",
    l2=0.0,
    log_every: Optional[int] = None,
) -> MaxEntResult:
    """MaxEnt IRL whose expected visitation ``μ_π`` is estimated from ``num_samples`` trajectories
    sampled each step from the current soft-optimal policy (CS285 lecture 20, "sampling version"; the
    expectation term of Ziebart et al. 2008, Eq. 6, by Monte Carlo). ``sample_length`` defaults to the
    horizon (required for infinite horizons; the truncated counts are rescaled as in
    :func:`expert_state_visitation`, with the same bias: the gradient's estimate is then biased too — a review
    measured [−8.70, −5.69] against the exact [−3.88, −2.62] at L = 2, and still ~4 standard errors off at L = 30,
    with γ = 0.9; with a finite horizon it is unbiased). No importance weights: plain Monte Carlo under the
    current policy. The loss reported is still the exact one. Other arguments as in
    :func:`maxent_irl`.
    """
    features, hidden = _check_args(mdp, features, model, hidden, learning_rate, num_steps, temperature, log_every, optimizer)
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
        raise ValueError(f"num_samples: expected a positive int, got {num_samples!r}")
    if sample_length is None:
        if mdp.horizon is None:
            raise ValueError("sample_length: required for an infinite-horizon MDP")
        sample_length = mdp.horizon
    if mdp.horizon is not None and sample_length != mdp.horizon:
        raise ValueError(f"sample_length: must equal the horizon {mdp.horizon} for a finite-horizon MDP, got {sample_length}")
    if isinstance(sample_length, bool) or not isinstance(sample_length, (int, np.integer)) or sample_length < 1:
        raise ValueError(f"sample_length: expected a positive int, got {sample_length!r}")
    _check_l2(l2)
    mu_e = expert_state_visitation(mdp, expert)
    return _run(mdp, features, mu_e, key, learning_rate, temperature, l2, model, hidden, optimizer, num_steps,
                log_every, int(num_samples), int(sample_length))


def _check_l2(l2) -> None:
    if isinstance(l2, jax.core.Tracer):  # traced (vmapped): checked nowhere, as every traced hyperparameter
        return
    if isinstance(l2, bool) or not (np.all(np.isfinite(np.asarray(l2, np.float64))) and np.all(np.asarray(l2) >= 0)):
        raise ValueError(f"l2: expected a non-negative number, got {l2!r}")


@partial(jax.jit, static_argnums=(7, 8, 9, 10, 11, 12, 13))
def _run(mdp, features, mu_e, key, learning_rate, temperature, l2, model, hidden, optimizer, num_steps, log_every,
         num_samples, sample_length) -> MaxEntResult:
    S = mdp.num_states
    init, apply = _model_fns(model, hidden, S)
    k_init, k_run = jax.random.split(key)
    params = init(k_init, features)
    opt = optax.inject_hyperparams(OPTIMIZERS[optimizer])(learning_rate=learning_rate)
    opt_state = opt.init(params)
    gamma = jnp.asarray(mdp.discount, mdp.dtype)
    finite = mdp.horizon is not None

    def step(carry, k):
        params, opt_state, v_warm = carry
        reward, pullback = jax.vjp(lambda p: apply(p, features), params)
        sol = soft_value_iteration(mdp, reward, temperature, init_v=None if finite else v_warm)
        v0 = sol.v[0] if finite else sol.v
        sq = sum(jnp.sum(x**2) for x in jax.tree.leaves(params))
        loss = jnp.dot(mdp.initial, v0) - jnp.dot(mu_e, reward) + 0.5 * l2 * sq
        if num_samples:
            traj = sample_trajectories(mdp, sol.policy, k, num_samples, sample_length)
            mu_pi = empirical_visitation(traj, S, mdp.num_actions, discount=gamma).sum(-1)
            if not finite:
                mu_pi = mu_pi / (1.0 - gamma**sample_length)
        else:
            mu_pi = visitation(mdp, sol.policy).discounted_state_action.sum(-1)
        (grad,) = pullback(mu_pi - mu_e)
        grad = jax.tree.map(lambda g, p: g + l2 * p, grad, params)
        updates, opt_state = opt.update(grad, opt_state, params)
        params = optax.apply_updates(params, updates)
        return (params, opt_state, v0 if not finite else v_warm), (loss, optax.tree.norm(grad))

    v_init = jnp.zeros((S,), mdp.dtype)
    keys = jax.random.split(k_run, num_steps)
    carry = (params, opt_state, v_init)
    if log_every is None:
        carry, (loss, gnorm) = jax.lax.scan(step, carry, keys)
        history = None
    else:
        def block(carry, block_keys):
            carry, out = jax.lax.scan(step, carry, block_keys)
            return carry, (out, apply(carry[0], features))

        blocks = keys.reshape((num_steps // log_every, log_every) + keys.shape[1:])
        carry, ((loss, gnorm), history) = jax.lax.scan(block, carry, blocks)
        loss, gnorm = loss.reshape(-1), gnorm.reshape(-1)
    params = carry[0]
    return MaxEntResult(params, apply(params, features), loss, gnorm, history)
