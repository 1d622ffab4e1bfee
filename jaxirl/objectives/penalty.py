"""Gradient penalties on the discriminator's score, with respect to its inputs.

The penalised function is the learned score ``s(x)`` of the reward model (:func:`jaxirl.reward.score`:
GAIL's logit ``ℓ``, AIRL's ``f``). For AIRL this is a choice: its logit is ``f − log π``, and a penalty on
the gradient of the whole logit would add a policy-dependent cross term to the parameters' gradient; the
penalty here smooths the learned reward network alone. ``x`` are the encoded inputs ``(s, a, s')`` (one-hot for
discrete actions); the gradient norm is per sample over all of them. The gradient is taken with respect to the
raw inputs, before the reward model's input normalisation (``normalize_inputs``): the score itself does not
depend on the observations' units, but the penalty does (WGAN-GP's target norm 1, R1's strength), and it moves
as the running statistics move. The shipped coefficients were chosen in the envs' own units. A constant input
dimension (running variance ≤ 1e-6) is centred, not scaled, by the normaliser (:func:`jaxirl.nets.normalize`), so it
does not multiply the penalty by 10⁸ as dividing by ``sqrt(0 + 1e-8)`` did.

* ``"wgan_gp"`` (Gulrajani et al. 2017, eq. 3): on random interpolates ``x̂ = ε x_E + (1 − ε) x_π``,
  ``ε ~ U[0, 1]`` per sample, ``E[(‖∇_x̂ s(x̂)‖ − 1)²]`` (used for adversarial imitation by
  Kostrikov et al. 2019, DAC). The first ``min(B_E, B_π)`` samples of each batch are paired.
* ``"r1"`` (Mescheder et al. 2018, eq. 9): on expert inputs only, ``E[‖∇_x s(x_E)‖²]``; the paper's
  ``γ/2`` factor is the user's coefficient.

The discriminator loss adds ``grad_penalty × penalty``.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

PENALTIES = ("none", "wgan_gp", "r1")


def _per_sample_grad_norm(score_fn: Callable, inputs) -> jax.Array:
    """``‖∇_x s(x)‖`` per sample; samples are independent, so the gradient of the sum splits per sample."""

    def total(obs, action, next_obs):
        return jnp.sum(score_fn(inputs.replace(obs=obs, action=action, next_obs=next_obs)))

    grads = jax.grad(total, argnums=(0, 1, 2))(inputs.obs, inputs.action, inputs.next_obs)
    sq = sum(jnp.sum(g.reshape(g.shape[0], -1) ** 2, axis=-1) for g in grads)
    return jnp.sqrt(sq + 1e-12)


def interpolate(expert, policy, key: jax.Array):
    """``ε x_E + (1 − ε) x_π`` leaf by leaf with one ``ε ~ U[0, 1]`` per paired sample."""
    n = min(expert.obs.shape[0], policy.obs.shape[0])
    eps = jax.random.uniform(key, (n,))

    def mix(a, b):
        e = eps.reshape((n,) + (1,) * (a.ndim - 1))
        return e * a[:n] + (1.0 - e) * b[:n]

    return jax.tree.map(mix, expert, policy)


def gradient_penalty(kind: str, score_fn: Callable, expert, policy, key: jax.Array) -> jax.Array:
    """The penalty ``kind`` (see the module docstring) of ``score_fn: RewardInputs -> (B,)``."""
    if kind == "none":
        return jnp.zeros((), jnp.float32)
    if kind == "wgan_gp":
        norm = _per_sample_grad_norm(score_fn, interpolate(expert, policy, key))
        return jnp.mean((norm - 1.0) ** 2)
    if kind == "r1":
        return jnp.mean(_per_sample_grad_norm(score_fn, expert) ** 2)
    raise ValueError(f"penalty: expected one of {', '.join(PENALTIES)}, got {kind!r}")
