"""Adversarial objectives: GAIL (Ho & Ermon 2016) and AIRL (Fu et al. 2018), their discriminator step,
gradient penalties and the policy-sample replay buffer. Add an algorithm by writing a module that
builds an :class:`Objective` (its logit, generator reward and, optionally, its discriminator loss) and passing it
to :func:`register_objective`."""

from jaxirl.objectives import absorbing, airl, gail, penalty, replay
from jaxirl.objectives.base import Objective, discriminator_bce, discriminator_metrics
from jaxirl.objectives.discriminator import DiscriminatorConfig

OBJECTIVES = {"gail": gail.OBJECTIVE, "airl": airl.OBJECTIVE}
_ORIGINS: dict = {}  # name -> (module, file) of the code that registered it (register_objective)


def register_objective(objective: Objective, replace: bool = False) -> Objective:
    """Make ``objective`` a valid ``train.algorithm`` (:data:`OBJECTIVES`) for configs, ``make_config`` /
    ``make_train`` and the ``jaxirl`` command run in this process (from a script that registers it and then
    calls ``jaxirl.cli.main``, or from a module that a config's top-level ``imports`` lists). Its fields are checked here; a name already taken by an objective that other code
    registered (or one of jaxirl's own) is refused unless ``replace``; the same module registering it again (a
    reload) replaces it. Returns ``objective``."""
    if not isinstance(objective, Objective):
        raise ValueError(f"objective: expected a jaxirl.objectives.Objective, got {type(objective).__name__}")
    if not isinstance(objective.name, str) or not objective.name.isidentifier():
        raise ValueError(f"name: expected an identifier (letters, digits, '_'), got {objective.name!r}")
    from jaxirl.reward import models

    kinds = [k for k in models.kind_names() if k != "mlp"]
    if objective.reward_kind not in kinds:
        raise ValueError(f"reward_kind: expected 'gail' (a logit network), 'airl' (g + γh(s′) − h(s)) or a reward kind "
                         f"registered with jaxirl.reward.register_reward_kind (register it first; now: "
                         f"{', '.join(kinds)}), got {objective.reward_kind!r}")
    for flag in ("uses_log_prob", "uses_entropy_weight"):
        if not isinstance(getattr(objective, flag), bool):
            raise ValueError(f"{flag}: expected True or False, got {getattr(objective, flag)!r}")
    rt = objective.reward_types
    if not isinstance(rt, tuple) or not rt or not all(isinstance(t, str) for t in rt) or "auto" in rt:
        raise ValueError(f"reward_types: expected a non-empty tuple of names (not 'auto'; the first is the "
                         f"default), got {rt!r}")
    for field in ("logit", "generator_reward", "absorbing_reward", "expert_loss", "policy_loss", "metrics"):
        if not callable(getattr(objective, field)):
            raise ValueError(f"{field}: expected a function, got {getattr(objective, field)!r}")
    from jaxirl.plugins import register

    register(OBJECTIVES, _ORIGINS, objective.name, objective, replace, "an objective", own=("gail", "airl"))
    return objective


def get_objective(name: str) -> Objective:
    """The objective called ``name``; unknown names raise ``ValueError`` listing the valid ones."""
    if name not in OBJECTIVES:
        from jaxirl.plugins import imported_registrations

        imported = imported_registrations("objectives")
        hint = (f" (register it there: jaxirl.objectives.register_objective with name={name!r})" if imported else
                " (an objective of one's own is known only once jaxirl.objectives.register_objective has run in the "
                "process: for the jaxirl command, in a module that the config's `imports` lists)")
        raise ValueError(f"algorithm: expected one of {', '.join(OBJECTIVES)}, got {name!r}{imported}{hint}")
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
    "register_objective",
    "penalty",
    "replay",
]
