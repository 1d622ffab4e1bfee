"""Learned reward models (plain MLP rewards, the GAIL discriminator, the AIRL ``g + γh' − h`` score)."""

from jaxirl.reward.models import (
    GAIL_REWARDS,
    KINDS,
    RewardInputs,
    RewardModel,
    RewardParams,
    absorbing_score,
    airl_terms,
    default_which,
    encode,
    encode_transition,
    init,
    learned_reward,
    make_reward_model,
    reward_fn,
    score,
    update_norm,
)

__all__ = [
    "GAIL_REWARDS",
    "KINDS",
    "RewardInputs",
    "RewardModel",
    "RewardParams",
    "absorbing_score",
    "airl_terms",
    "default_which",
    "encode",
    "encode_transition",
    "init",
    "learned_reward",
    "make_reward_model",
    "reward_fn",
    "score",
    "update_norm",
]
