"""GAIL: generative adversarial imitation learning (Ho & Ermon 2016).

The discriminator is a logit network ``ℓ(s, a)`` (a ``"gail"`` reward model), ``D = σ(ℓ)`` the probability
that ``(s, a)`` came from the expert. It minimises the binary cross-entropy of
:func:`jaxirl.objectives.base.discriminator_bce`; the generator maximises a reward derived from ``D``
(``reward_type``), each written with log-sigmoids so it is finite for any logit:

* ``"gail"``: ``−log(1 − D) = softplus(ℓ)`` (Ho & Ermon 2016, Algorithm 1, whose cost ``log D`` of the policy
  sample is ours with the labels flipped to expert-is-1; always positive, a "survival bonus", Kostrikov et al.
  2019). It is the minimax, *saturating* form of Goodfellow et al. 2014: its slope in ``ℓ`` is ``σ(ℓ)``, which
  vanishes where the discriminator confidently rejects the policy's samples.
* ``"logit"``: ``log D − log(1 − D) = ℓ`` (the AIRL-style reward, Fu et al. 2018; zero-centred).
* ``"log_d"``: ``log D = −softplus(−ℓ)`` (always negative, a "per-step penalty"): Goodfellow et al. 2014's
  *non-saturating* generator objective, steepest (slope ``1 − σ(ℓ)``) where the policy's samples are rejected.

``log_pi`` is ignored: GAIL's discriminator does not involve the policy density.
"""

from __future__ import annotations

import jax

from jaxirl.objectives.base import Objective
from jaxirl.reward import models

REWARD_TYPES = ("logit", "gail", "log_d")


def logit(model, params, inputs, log_pi=None, discount=None):
    """``ℓ(s, a)``: the discriminator network's output (``D = σ(ℓ)``); ``discount``, the run's γ, is passed on to the
    network (GAIL's own does not read it; a reward kind of one's own needs it)."""
    del log_pi
    return models.score(model, params, inputs, discount)


def reward_from_logit(logit_value, reward_type: str = "logit"):
    """The generator reward of ``reward_type`` for a logit ``ℓ`` (see the module docstring)."""
    if reward_type == "gail":
        return jax.nn.softplus(logit_value)
    if reward_type == "logit":
        return logit_value
    if reward_type == "log_d":
        return jax.nn.log_sigmoid(logit_value)
    raise ValueError(f"reward_type: for GAIL expected one of {', '.join(REWARD_TYPES)}, got {reward_type!r}")


def generator_reward(
    model, params, inputs, log_pi=None, discount=None, reward_type="logit", maxent=False, entropy_weight=1.0
):
    """Reward for the generator; identical for MaxEnt and plain generators (``maxent``,
    ``entropy_weight`` are ignored)."""
    del maxent, entropy_weight
    return reward_from_logit(logit(model, params, inputs, log_pi, discount), reward_type)


OBJECTIVE = Objective(
    name="gail",
    reward_kind="gail",
    uses_log_prob=False,
    logit=logit,
    generator_reward=generator_reward,
    reward_types=REWARD_TYPES,
    absorbing_reward=reward_from_logit,  # in the absorbing state: the reward_type form of its logit
)
