"""Adversarial objectives: GAIL (Ho & Ermon 2016) and AIRL (Fu et al. 2018), their discriminator step,
gradient penalties and the policy-sample replay buffer. Add an algorithm by writing a module that
builds an :class:`Objective` and registering it in :data:`OBJECTIVES`."""

from jaxirl.objectives import absorbing, airl, gail, penalty, replay
from jaxirl.objectives.base import Objective, discriminator_bce, discriminator_metrics
from jaxirl.objectives.discriminator import DiscriminatorConfig

OBJECTIVES = {"gail": gail.OBJECTIVE, "airl": airl.OBJECTIVE}


def get_objective(name: str) -> Objective:
    """The objective called ``name``; unknown names raise ``ValueError`` listing the valid ones."""
    if name not in OBJECTIVES:
        raise ValueError(f"algorithm: expected one of {', '.join(OBJECTIVES)}, got {name!r}")
    return OBJECTIVES[name]


__all__ = [
    "OBJECTIVES",
    "absorbing",
    "DiscriminatorConfig",
    "Objective",
    "airl",
    "discriminator_bce",
    "discriminator_metrics",
    "gail",
    "get_objective",
    "penalty",
    "replay",
]
