"""AIRL: adversarial inverse reinforcement learning (Fu, Luo & Levine 2018).

The discriminator has the special form (Fu et al. 2018, eq. 2, following Finn et al. 2016's GAN-GCL)::

    D(s, a, s') = exp f(s, a, s') / (exp f(s, a, s') + π(a | s))

with ``f = g(s[, a]) + γ h(s') − h(s)`` (an ``"airl"`` reward model, :mod:`jaxirl.reward.models`), so its
logit is ``ℓ = log D − log(1 − D) = f − log π(a | s)``. The generator maximises
``log D − log(1 − D) = f − log π`` (Fu et al. 2018, §5), i.e. the entropy-regularised return of ``f``.
A MaxEnt generator that already optimises entropy-regularised return (soft value iteration) receives
``f`` itself (``maxent=True``): adding ``−log π`` would count the entropy twice. Soft VI at temperature α
maximises the return of ``f − α log π``, so its temperature plays the part of the entropy weight β a plain RL
generator gets (α = 1 is Fu et al.'s game; ``TrainConfig.validate`` refuses a β other than 1 with it).

``log_pi`` must be ``log π(a | s)`` of the *current* generator policy, for expert and policy samples alike
(measured in the action space, or for a tanh-Gaussian policy before the squash:
``DiscriminatorConfig.log_pi_space``; the training step passes whichever is configured).
"""

from __future__ import annotations

import jax

from jaxirl.objectives.base import Objective
from jaxirl.reward import models

REWARD_TYPES = ("default",)


def logit(model, params, inputs, log_pi, discount):
    """``ℓ = f(s, a, s') − log π(a | s)``."""
    return models.score(model, params, inputs, discount) - log_pi


def discriminator_prob(model, params, inputs, log_pi, discount):
    """``D = exp f / (exp f + π)``, computed as ``σ(f − log π)`` (equal, and overflow-free)."""
    return jax.nn.sigmoid(logit(model, params, inputs, log_pi, discount))


def generator_reward(
    model, params, inputs, log_pi=None, discount=None, reward_type="default", maxent=False, entropy_weight=1.0
):
    """``f`` for a MaxEnt generator, ``f − β log π`` otherwise (``β = entropy_weight``; ``β = 1`` is
    exactly ``log D − log(1 − D)``, smaller ``β`` weakens the entropy bonus the plain RL generator gets)."""
    if reward_type != "default":
        raise ValueError(f"reward_type: AIRL has no reward choice, expected 'default', got {reward_type!r}")
    f = models.score(model, params, inputs, discount)
    if maxent:
        return f
    if log_pi is None:
        raise ValueError("log_pi: AIRL's reward f − log π needs the policy's log-probabilities")
    return f - entropy_weight * log_pi


def absorbing_reward(score, reward_type="default"):
    """The generator reward in the absorbing state: its ``f`` (one action there, so ``log π = 0``)."""
    del reward_type
    return score


OBJECTIVE = Objective(
    name="airl",
    reward_kind="airl",
    uses_log_prob=True,
    logit=logit,
    generator_reward=generator_reward,
    reward_types=REWARD_TYPES,
    absorbing_reward=absorbing_reward,
    uses_entropy_weight=True,  # its generator reward is f − β log π
)
