"""What every adversarial objective shares: the :class:`Objective` record and the discriminator loss.

An objective (GAIL, AIRL, ...) is a small module that fills an :class:`Objective` with pure functions:

* ``logit(model, params, inputs, log_pi, discount)``: the discriminator logit ``ℓ`` with
  ``D = σ(ℓ) = P(expert | sample)``;
* ``generator_reward(model, params, inputs, log_pi, discount, reward_type, maxent, entropy_weight)``: the reward the
  generator is trained on (``maxent=True`` for a generator that already maximises entropy, such as
  soft value iteration; ``log_pi`` may then be ``None``);
* ``absorbing_reward(score, reward_type)``: the generator reward in the absorbing state after termination,
  given its learned score (:mod:`jaxirl.objectives.absorbing`);

and, optionally (the defaults are GAIL's and AIRL's):

* ``expert_loss(ℓ)`` and ``policy_loss(ℓ)``: the discriminator's loss per sample, elementwise, on the expert's
  and on the policy's side; the loss is ``E_expert[expert_loss(ℓ)] + E_policy[policy_loss(ℓ)]`` (with absorbing
  states, each absorbing transition is one more sample of its side: :mod:`jaxirl.objectives.absorbing`);
* ``metrics(expert_logit, policy_logit)``: the discriminator's diagnostics, a dict of scalars (beside the step's
  own ``disc_loss`` and ``disc_penalty``, which it cannot replace);
* ``uses_entropy_weight``: its ``generator_reward`` reads ``entropy_weight`` β (AIRL's ``f − β log π``), so
  ``discriminator.entropy_weight`` ≠ 1 and its anneal are accepted for it (refused for the others: nothing
  reads them).

The default loss is the binary cross-entropy on logits with the expert labelled 1
(Goodfellow et al. 2014; Ho & Ermon 2016, eq. 17)::

    L(ψ) = −E_expert[log D] − E_policy[log(1 − D)] = E_expert[softplus(−ℓ)] + E_policy[softplus(ℓ)]

written with ``softplus`` (``log(1 + e^x)``) so that it is finite for any logit. A least-squares GAN
discriminator (Mao et al. 2017), for instance, is ``expert_loss = lambda l: (l - 1) ** 2``,
``policy_loss = jnp.square``. Register a new objective with :func:`jaxirl.objectives.register_objective`; it
is then a valid ``train.algorithm`` (configs, ``make_config``, the ``jaxirl`` command in that process).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp


def expert_bce(logit: jax.Array) -> jax.Array:
    """The cross-entropy of an expert sample (label 1), per sample: ``−log D = softplus(−ℓ)``."""
    return jax.nn.softplus(-logit)


def policy_bce(logit: jax.Array) -> jax.Array:
    """The cross-entropy of a policy sample (label 0), per sample: ``−log(1 − D) = softplus(ℓ)``."""
    return jax.nn.softplus(logit)


def discriminator_loss(expert_logit: jax.Array, policy_logit: jax.Array, expert_loss=expert_bce,
                       policy_loss=policy_bce) -> jax.Array:
    """``E_expert[expert_loss(ℓ)] + E_policy[policy_loss(ℓ)]``: an objective's discriminator loss (see the module
    docstring; with absorbing states :func:`jaxirl.objectives.absorbing.discriminator_loss`)."""
    return jnp.mean(expert_loss(expert_logit)) + jnp.mean(policy_loss(policy_logit))


def discriminator_bce(expert_logit: jax.Array, policy_logit: jax.Array) -> jax.Array:
    """Binary cross-entropy of the discriminator, expert label 1 (see the module docstring)."""
    return discriminator_loss(expert_logit, policy_logit)


def discriminator_metrics(expert_logit: jax.Array, policy_logit: jax.Array) -> dict:
    """Accuracies (threshold ``D = ½``, i.e. ``ℓ = 0``) and mean ``D`` on each side."""
    return {
        "disc_acc_expert": jnp.mean((expert_logit > 0).astype(jnp.float32)),
        "disc_acc_policy": jnp.mean((policy_logit < 0).astype(jnp.float32)),
        "disc_d_expert": jnp.mean(jax.nn.sigmoid(expert_logit)),
        "disc_d_policy": jnp.mean(jax.nn.sigmoid(policy_logit)),
    }


class Objective(NamedTuple):
    """An adversarial IRL/imitation objective (see the module docstring)."""

    name: str
    reward_kind: str  # which jaxirl.reward model kind it trains ("gail", "airl" or one of jaxirl.reward.register_reward_kind)
    uses_log_prob: bool  # the logit needs log π(a|s) of the current policy
    logit: Callable
    generator_reward: Callable
    reward_types: tuple  # allowed values of ``reward_type`` ("default" only when there is no choice)
    absorbing_reward: Callable
    expert_loss: Callable = expert_bce
    policy_loss: Callable = policy_bce
    metrics: Callable = discriminator_metrics
    uses_entropy_weight: bool = False
