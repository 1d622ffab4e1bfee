"""Configuration of an adversarial IRL run (:func:`jaxirl.train.make_train`).

:class:`TrainConfig` nests the discriminator settings (:class:`~jaxirl.objectives.DiscriminatorConfig`)
and the generator's config; the generator is chosen by that config's type (``PPOConfig`` → PPO,
``SoftVIConfig`` → exact soft value iteration on a tabular env). Numeric fields of the nested configs are
traced (vmappable); counts and names are static. :func:`make_config` builds one from plain dicts (the
sections of a YAML file).
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import jax
import numpy as np
from flax import struct

from jaxirl.bc import BCConfig, has_term
from jaxirl.generators import GENERATOR_NAMES
from jaxirl.objectives import DiscriminatorConfig, get_objective
from jaxirl.rl.ppo import PPOConfig
from jaxirl.rl.ppo_config import check_anneal, check_config
from jaxirl.rl.soft_vi import SoftVIConfig

_STATIC = dict(pytree_node=False)


@struct.dataclass
class TrainConfig:
    """Top-level settings.

    ``algorithm``: ``"gail"`` or ``"airl"``. ``num_iterations``: iterations of :meth:`Trainer.train`
    (one iteration = one rollout of all envs, ``discriminator.num_steps`` discriminator updates, one
    generator update). ``eval_every``: evaluate the deterministic and the stochastic policy on the true
    reward every that many iterations inside the scan (``0``: never inside; call
    :meth:`Trainer.evaluate`). ``eval_steps``: steps of every eval env per evaluation (``0`` = the env's
    episode length, so each env completes one episode). ``stagger_resets``: start the training envs' time
    limits at random steps (:meth:`jaxirl.envs.VecEnv.reset` with ``stagger=True``), so that envs whose
    policy survives to the time limit are not all truncated, and restarted, together. ``bc``: behavioural
    cloning of the demonstrations into the PPO policy before the first iteration (a warm start, inside
    ``init``; :mod:`jaxirl.bc`; ``bc.steps = 0``, the default, starts from a random policy) and, with ``bc.coef > 0``,
    a behavioural-cloning term in the generator's loss at every iteration.
    """

    algorithm: str = struct.field(default="gail", **_STATIC)
    num_iterations: int = struct.field(default=100, **_STATIC)
    eval_every: int = struct.field(default=10, **_STATIC)
    eval_steps: int = struct.field(default=0, **_STATIC)
    stagger_resets: bool = struct.field(default=False, **_STATIC)
    discriminator: DiscriminatorConfig = struct.field(default_factory=DiscriminatorConfig)
    generator: Any = struct.field(default_factory=PPOConfig)
    bc: BCConfig = struct.field(default_factory=BCConfig)

    def validate(self) -> "TrainConfig":
        get_objective(self.algorithm)
        gen_section = "ppo" if isinstance(self.generator, PPOConfig) else "soft_vi"  # the YAML section's name
        for section, cfg in (("train", self), ("discriminator", self.discriminator), (gen_section, self.generator),
                             ("bc", self.bc)):
            _refuse_traced_static(cfg, section)
        for name, lo in (("num_iterations", 1), ("eval_every", 0), ("eval_steps", 0)):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < lo:
                raise ValueError(f"{name}: expected an int >= {lo}, got {v!r}")
        if not isinstance(self.stagger_resets, bool):
            raise ValueError(f"stagger_resets: expected true or false, got {self.stagger_resets!r}")
        if not isinstance(self.discriminator, DiscriminatorConfig):
            raise ValueError(f"discriminator: expected a DiscriminatorConfig, got {type(self.discriminator).__name__}")
        self.discriminator.validate()
        self.discriminator.resolved_reward_type(get_objective(self.algorithm))
        if type(self.generator) not in GENERATOR_NAMES.values():
            raise ValueError(
                f"generator: expected one of {', '.join(c.__name__ for c in GENERATOR_NAMES.values())}, "
                f"got {type(self.generator).__name__}"
            )
        self._check_entropy_weight()
        try:  # the generator's own values, before any env is built (make_train checks them against the env too)
            if isinstance(self.generator, PPOConfig):
                check_config(self.generator)
            else:
                self.generator.validate()
        except ValueError as e:
            raise ValueError(f"{gen_section}.{e}") from None
        if isinstance(self.generator, PPOConfig):  # one generator update per iteration
            check_anneal(self.generator.anneal_lr_updates, self.num_iterations)
        if not isinstance(self.bc, BCConfig):
            raise ValueError(f"bc: expected a jaxirl.bc.BCConfig, got {type(self.bc).__name__}")
        self.bc.validate()
        if self.bc.validation_fraction != 0:  # the warm start's metrics are not kept: it would only drop data
            raise ValueError(f"bc.validation_fraction: a training run keeps no held-out score of its warm start (it "
                             f"would only leave the demonstrations' last part out of the cloning); expected 0, got "
                             f"{self.bc.validation_fraction!r} (`jaxirl bc` reports a held-out NLL)")
        if self.bc.steps > 0 and not isinstance(self.generator, PPOConfig):
            raise ValueError(f"bc.steps: behavioural cloning warm-starts a PPO policy; the generator is "
                             f"{type(self.generator).__name__} (set bc.steps=0)")
        if has_term(self.bc) and not isinstance(self.generator, PPOConfig):
            raise ValueError(f"bc.coef: the behavioural-cloning term is added to PPO's loss; the generator is "
                             f"{type(self.generator).__name__} (set bc.coef=0)")
        return self

    def _check_entropy_weight(self) -> None:
        """``discriminator.entropy_weight`` β other than 1 where nothing reads it is refused, not ignored: GAIL's
        generator reward has no ``log π`` term, and AIRL with the soft-VI generator receives ``f`` itself — soft VI
        at temperature α maximises the return of ``f`` plus α × entropy, i.e. ``f − α log π``, so there α is β."""
        beta = self.discriminator.entropy_weight
        swept = isinstance(beta, jax.core.Tracer)  # its values are unknown here, but that it is swept is known
        reads_beta = get_objective(self.algorithm).uses_entropy_weight  # AIRL (and objectives declaring it)
        if self.discriminator.entropy_anneal_iterations > 0:
            if not reads_beta or isinstance(self.generator, SoftVIConfig):
                raise ValueError("discriminator.entropy_anneal_iterations: anneals AIRL's β of f − β log π for a PPO "
                                 "generator; nothing reads it here: expected 0")
            if not swept and np.all(np.asarray(beta) == 1.0):
                raise ValueError("discriminator.entropy_anneal_iterations: anneals β from 1 to entropy_weight, which "
                                 "is 1: nothing to anneal (set entropy_weight, or 0 here)")
        if not swept and np.all(np.asarray(beta) == 1.0):
            return
        if swept and (not reads_beta or isinstance(self.generator, SoftVIConfig)):
            who = f"{self.algorithm.upper()} with the soft_vi generator" if reads_beta else self.algorithm
            raise ValueError(f"discriminator.entropy_weight: swept (traced), but {who} does not use it: every lane "
                             "would be the same run")
        if swept:
            return
        if not reads_beta:
            raise ValueError(f"discriminator.entropy_weight: only AIRL's generator reward f − β log π uses it; "
                             f"{self.algorithm} would ignore it: expected 1.0, got {beta!r}")
        if isinstance(self.generator, SoftVIConfig):
            raise ValueError(f"discriminator.entropy_weight: with the soft_vi generator AIRL's entropy weight is the "
                             f"generator's temperature (soft VI maximises f − temperature × log π; set "
                             f"temperature instead): expected 1.0, got {beta!r}")


def _refuse_traced_static(cfg, section: str) -> None:
    """A static field (the program's shapes or structure: counts, sizes, names, switches) holding a tracer — set
    from a value swept by ``jax.vmap`` — is a ``ValueError`` saying so, not a type error about the tracer."""
    import dataclasses

    if not dataclasses.is_dataclass(cfg):
        return
    for f in dataclasses.fields(cfg):
        if f.metadata.get("pytree_node", True) is False and isinstance(getattr(cfg, f.name), jax.core.Tracer):
            raise ValueError(f"{section}.{f.name}: a static setting (fixed when the program is compiled: a count, "
                             f"size, switch or constant of it) cannot be traced or swept with jax.vmap; give it a "
                             f"plain value (sweep it with a Python loop over separate programs)")


def make_config(
    algorithm: str = "gail",
    generator: str = "ppo",
    *,
    discriminator: Optional[Mapping] = None,
    generator_config: Optional[Mapping] = None,
    bc: Optional[Mapping] = None,
    **train: Any,
) -> TrainConfig:
    """Build and validate a :class:`TrainConfig` from plain values (e.g. YAML sections).

    ``generator`` is ``"ppo"`` or ``"soft_vi"``; ``discriminator`` and ``generator_config`` are dicts of
    the fields of :class:`DiscriminatorConfig` and of the generator's config; ``bc`` those of
    :class:`~jaxirl.bc.BCConfig` (the warm start and the BC term; both off by default); ``train`` holds the
    remaining :class:`TrainConfig` fields. Unknown names raise ``ValueError`` listing the valid ones.
    """
    get_objective(algorithm)  # an unknown name: a ValueError listing the known ones
    if not isinstance(generator, str) or generator not in GENERATOR_NAMES:
        hint = " (its settings go in generator_config)" if isinstance(generator, Mapping) else ""
        raise ValueError(f"generator: expected one of {', '.join(GENERATOR_NAMES)}, got {generator!r}{hint}")
    disc = _build(DiscriminatorConfig, discriminator or {}, "discriminator")
    gen = _build(GENERATOR_NAMES[generator], generator_config or {}, generator)
    allowed = ("num_iterations", "eval_every", "eval_steps", "stagger_resets")
    for key in train:
        if key not in allowed:
            raise ValueError(f"unknown train setting {key!r}; valid: {', '.join(allowed)}")
    return TrainConfig(algorithm=algorithm, discriminator=disc, generator=gen, bc=_build(BCConfig, bc or {}, "bc"),
                       **train).validate()


def _build(cls, values: Mapping, section: str):
    import dataclasses

    fields = {f.name for f in dataclasses.fields(cls)}
    for key in values:
        if key not in fields:
            raise ValueError(f"unknown key '{section}.{key}'; valid keys: {', '.join(sorted(fields))}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return cls(**values)
