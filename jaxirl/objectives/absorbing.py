"""Absorbing states for episodes that terminate (Kostrikov et al. 2019, "Discriminator-Actor-Critic:
Addressing Sample Inefficiency and Reward Bias in Adversarial Imitation Learning", §4.2).

Without it, an adversarial reward has a built-in bias where episodes can *terminate* (a hopper falls, a
pendulum tips over): ending the episode earns exactly 0 from then on, so a learned reward that is mostly
negative for the policy (AIRL's ``f − log π``, GAIL's ``logit`` or ``log D``) teaches the generator to end
episodes as early as possible, and a mostly positive one (GAIL's ``−log(1 − D)``) to survive, whatever
the expert did. DAC makes termination a transition into an absorbing state ``s_a`` that loops on itself
forever, and lets the discriminator learn its reward like any other:

* discriminator: every terminated transition in a batch brings one absorbing self-transition with it
  (expert and policy side alike), weighted as one more sample. With ``τ`` the fraction of terminated
  transitions in a batch, the two halves of the loss become::

      (E[softplus(−ℓ)] + τ_E softplus(−ℓ_a)) / (1 + τ_E)   and   (E[softplus(ℓ)] + τ_P softplus(ℓ_a)) / (1 + τ_P)

  with ``ℓ_a`` the learned logit of the absorbing state (one scalar: all absorbing states are alike).
  An expert that never falls and a policy that often does drive ``ℓ_a`` down, i.e. make ending costly.
* generator: after termination the agent would collect ``r_a`` forever, worth ``r_a / (1 − γ)``; the
  terminated transition's reward gets ``γ r_a / (1 − γ)`` added, with ``r_a`` the objective's generator
  reward at the absorbing state (GAIL: of ``ℓ_a``; AIRL: ``f_a`` — ``s_a`` has a single action, so
  ``log π = 0``). The generator still does not bootstrap past termination: the added term *is* the value
  of what follows.

Time-limit truncations are not terminations and get neither term.
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxirl.objectives.base import expert_bce, policy_bce


def discriminator_loss(expert_logit, policy_logit, absorbing_logit, expert_terminated, policy_terminated,
                       expert_loss=expert_bce, policy_loss=policy_bce):
    """The discriminator's loss over the batches augmented with absorbing transitions: each side's mean
    per-sample loss (``expert_loss``, ``policy_loss``: an objective's, binary cross-entropy by default), with
    the absorbing state's loss weighted as that side's fraction ``τ`` of terminated transitions."""
    tau_e = jnp.mean(expert_terminated)
    tau_p = jnp.mean(policy_terminated)
    expert = (jnp.mean(expert_loss(expert_logit)) + tau_e * expert_loss(absorbing_logit)) / (1.0 + tau_e)
    policy = (jnp.mean(policy_loss(policy_logit)) + tau_p * policy_loss(absorbing_logit)) / (1.0 + tau_p)
    return expert + policy


def discriminator_bce(expert_logit, policy_logit, absorbing_logit, expert_terminated, policy_terminated):
    """Binary cross-entropy (expert label 1) over the batches augmented with absorbing transitions."""
    return discriminator_loss(expert_logit, policy_logit, absorbing_logit, expert_terminated, policy_terminated)


def terminal_bonus(absorbing_reward, terminated, discount):
    """``terminated · γ r_a / (1 − γ)``: the discounted value of staying in the absorbing state forever."""
    return terminated * (discount * absorbing_reward / (1.0 - discount))
