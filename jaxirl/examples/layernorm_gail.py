"""GAIL whose discriminator has layer normalisation (Ba et al. 2016) after each hidden layer: a reward network of
one's own (``jaxirl.reward.register_reward_kind``) and the objective that trains it (``register_objective``).

    jaxirl train configs/gail_pointmass.yaml 'imports=[jaxirl.examples.layernorm_gail]' train.algorithm=gail_ln
"""

import flax.linen as nn
import jax.numpy as jnp

from jaxirl.objectives import gail, register_objective
from jaxirl.reward import RewardKind, input_vector, input_width, register_reward_kind


class LayerNormLogit(nn.Module):
    hidden: tuple

    @nn.compact
    def __call__(self, x):
        for width in self.hidden:
            x = nn.tanh(nn.LayerNorm()(nn.Dense(width)(x)))
        return nn.Dense(1)(x)[..., 0]


def init(model, key):  # model: the RewardModel (sizes, inputs, discriminator.hidden, ...)
    return {"score": LayerNormLogit(model.hidden).init(key, jnp.zeros((1, input_width(model))))}


def score(model, net, inputs, discount):  # the logit; inputs arrive encoded and normalised
    return LayerNormLogit(model.hidden).apply(net["score"], input_vector(model, inputs))


register_reward_kind(RewardKind(name="layernorm_logit", init=init, score=score))
register_objective(gail.OBJECTIVE._replace(name="gail_ln", reward_kind="layernorm_logit"))
