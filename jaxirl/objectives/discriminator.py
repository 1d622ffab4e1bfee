"""Discriminator configuration and one discriminator gradient step (any :class:`Objective`).

The loss is the objective's (by default the binary cross-entropy of
:func:`jaxirl.objectives.base.discriminator_bce`) plus ``grad_penalty × penalty``
(:mod:`jaxirl.objectives.penalty`). Adam (Kingma & Ba 2015) with global-norm clipping; the learning rate is
applied by hand so that it can be a traced (vmapped) value.
"""

from __future__ import annotations

import jax
import numpy as np
import optax
from flax import struct

from jaxirl import nets
from jaxirl.objectives import absorbing as absorbing_lib
from jaxirl.objectives import penalty as penalty_lib
from jaxirl.objectives.base import Objective, discriminator_loss
from jaxirl.reward import models

_STATIC = dict(pytree_node=False)
LOG_PI_SPACES = ("action", "pre_squash", "clipped")


@struct.dataclass
class DiscriminatorConfig:
    """Discriminator / reward-model settings. Numeric fields are traced (vmappable) except ``absorbing_scale``
    (static: one compile per value); the rest static.

    ``reward_type``: GAIL's generator reward (``"logit"``, ``"gail"``, ``"log_d"``; see
    :mod:`jaxirl.objectives.gail`); ``"auto"`` means ``"logit"`` for GAIL and ``"default"`` for AIRL.
    ``inputs``: the reward network's inputs (``"auto"``: ``"sa"`` for GAIL, ``"s"`` = state-only ``g``
    for AIRL, a registered reward kind's first; GAIL also takes ``"s"``, ``"sas"`` and ``"ss"`` — D(s, s′), GAIfO —,
    AIRL ``"sa"``, a registered kind those it lists). ``num_steps``: discriminator updates per
    generator update (K). ``replay_rollouts``: how many recent rollouts the policy batch is drawn from.
    ``entropy_weight`` β: AIRL's reward for a plain RL generator is ``f − β log π`` (β = 1: Fu et al. 2018).
    ``entropy_anneal_iterations`` N (static; 0 = off): β starts at Fu et al.'s 1 and moves linearly to
    ``entropy_weight`` over the first N iterations — a small β sharpens the final policy, but from the start it let
    the policy's entropy collapse before the reward was informative (spring halfcheetah, the GPU config's settings:
    flat at the random policy's score for 75 of 100 iterations; ``benchmarks/results/quality_halfcheetah_spring.md``).
    AIRL's shaping discount ``γ`` is the generator's discount. ``absorbing``: treat termination as entering
    an absorbing state whose reward is learned too (Kostrikov et al. 2019; :mod:`jaxirl.objectives.absorbing`)
    — without it, environments that terminate bias the generator towards ending or prolonging episodes.
    ``absorbing_scale`` (static): the absorbing state's score is this times its one parameter, so it moves
    about ``absorbing_scale × learning_rate`` per update (Adam); too slow, and the live states' scores run
    away from it — when the discriminator wins, ending the episode becomes the generator's best reply.
    ``log_pi_space`` (AIRL): where ``log π`` is measured, ``"action"`` (the policy's density of its sampled
    action, before any clip by the environment)
    or ``"pre_squash"`` (for a tanh-Gaussian policy, the Gaussian density of the pre-squash draw ``u`` — the
    policy's own, stored with its samples, or ``atanh(a)`` for demonstrations: the
    change-of-variables term ``−Σ log(1 − a²)`` dropped, in the logit and in the generator reward alike;
    AIRL with ``ppo.policy_head: tanh_gaussian`` only, anything else is a ``ValueError`` at ``make_train``),
    or ``"clipped"`` (for a plain Gaussian policy whose actions the environment clips to ``[-1, 1]``: the
    censored Gaussian's log-likelihood of the executed action, :func:`jaxirl.nets.clipped_log_prob`; AIRL with
    ``ppo.policy_head: gaussian`` only). With the raw Gaussian's ``log π`` the entropy part of AIRL's generator
    reward keeps paying for wider Gaussians whose extra spread the clip removes, so the policy's standard deviation
    runs to its ceiling and its mean, which then barely changes the executed actions, stops being trained.
    AIRL's objective ``KL(π ‖ π_E)`` is the same in either space (KL is invariant under the bijection
    ``a = tanh u``), but a state-only ``f`` cannot absorb that action-dependent term, which for near-saturated
    expert actions (``|a| → 1``) reaches ~13 nats per dimension (``−log(1 − a²)`` at the clip ``|a| = 1 − 10⁻⁶``)
    and dominates the logit.
    """

    learning_rate: float = 3e-4
    grad_penalty: float = 0.0
    max_grad_norm: float = 10.0
    entropy_weight: float = 1.0
    penalty: str = struct.field(default="none", **_STATIC)
    reward_type: str = struct.field(default="auto", **_STATIC)
    inputs: str = struct.field(default="auto", **_STATIC)
    num_steps: int = struct.field(default=1, **_STATIC)
    expert_batch_size: int = struct.field(default=256, **_STATIC)
    policy_batch_size: int = struct.field(default=256, **_STATIC)
    replay_rollouts: int = struct.field(default=1, **_STATIC)
    hidden: tuple = struct.field(default=(64, 64), **_STATIC)
    potential_hidden: tuple = struct.field(default=(64, 64), **_STATIC)
    activation: str = struct.field(default="tanh", **_STATIC)
    normalize_inputs: bool = struct.field(default=True, **_STATIC)
    absorbing: bool = struct.field(default=False, **_STATIC)
    absorbing_scale: float = struct.field(default=models.DEFAULT_ABSORBING_SCALE, **_STATIC)
    log_pi_space: str = struct.field(default="action", **_STATIC)
    entropy_anneal_iterations: int = struct.field(default=0, **_STATIC)

    def validate(self) -> "DiscriminatorConfig":
        for name, strict in (
            ("learning_rate", True), ("grad_penalty", False), ("max_grad_norm", True), ("entropy_weight", False)
        ):
            x = getattr(self, name)
            if isinstance(x, jax.core.Tracer):
                continue
            a = np.asarray(x)
            if not np.issubdtype(a.dtype, np.number) or not np.all(np.isfinite(a)) or np.any(a < 0) or (strict and np.any(a == 0)):
                raise ValueError(f"{name}: expected a finite number {'>' if strict else '>='} 0, got {x!r}")
        if self.penalty not in penalty_lib.PENALTIES:
            raise ValueError(f"penalty: expected one of {', '.join(penalty_lib.PENALTIES)}, got {self.penalty!r}")
        if self.penalty == "none" and isinstance(self.grad_penalty, jax.core.Tracer):
            raise ValueError("grad_penalty: swept (traced), but penalty: none weights no penalty: every lane would be "
                             f"the same run; expected penalty: one of "
                             f"{', '.join(p for p in penalty_lib.PENALTIES if p != 'none')}")
        if self.penalty == "none" and np.any(np.asarray(self.grad_penalty) != 0):
            raise ValueError(f"grad_penalty: {self.grad_penalty!r} with penalty: none weights no penalty; expected "
                             f"penalty: one of {', '.join(p for p in penalty_lib.PENALTIES if p != 'none')} "
                             f"(or grad_penalty: 0)")
        n = self.entropy_anneal_iterations
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ValueError(f"entropy_anneal_iterations: expected an int >= 0 (0: off), got {n!r}")
        for name in ("num_steps", "expert_batch_size", "policy_batch_size", "replay_rollouts"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name}: expected a positive int, got {v!r}")
        for name in ("hidden", "potential_hidden"):
            v = getattr(self, name)
            if not isinstance(v, (tuple, list)) or not all(isinstance(w, int) and w > 0 for w in v):
                raise ValueError(f"{name}: expected a list of positive ints (may be empty), got {v!r}")
        nets.check_activation(self.activation)
        if self.log_pi_space not in LOG_PI_SPACES:
            raise ValueError(f"log_pi_space: expected one of {', '.join(LOG_PI_SPACES)}, got {self.log_pi_space!r}")
        for name in ("normalize_inputs", "absorbing"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}: expected true or false, got {getattr(self, name)!r}")
        models.check_absorbing_scale(self.absorbing_scale)
        return self

    def resolved_reward_type(self, objective: Objective) -> str:
        rt = objective.reward_types[0] if self.reward_type == "auto" else self.reward_type
        if rt not in objective.reward_types:
            raise ValueError(
                f"reward_type: for {objective.name} expected one of auto, {', '.join(objective.reward_types)}, got {rt!r}"
            )
        return rt


def make_model(config: DiscriminatorConfig, objective: Objective, env) -> models.RewardModel:
    """The reward model ``objective`` trains, sized for ``env``."""
    return models.make_reward_model(
        objective.reward_kind,
        env,
        inputs=None if config.inputs == "auto" else config.inputs,
        hidden=tuple(config.hidden),
        potential_hidden=tuple(config.potential_hidden),
        activation=config.activation,
        normalize=config.normalize_inputs,
        absorbing=config.absorbing,
        absorbing_scale=config.absorbing_scale,
    )


def check_objective(objective: Objective, model: models.RewardModel, reward_type: str, maxent: bool) -> None:
    """For an objective of one's own (not GAIL's or AIRL's record): trace (``jax.eval_shape``: nothing runs or
    compiles) its ``logit``, ``generator_reward``, per-sample losses and ``absorbing_reward`` on a batch of two
    samples, as the training step calls them, so that a mistake in them — an output that is not one float per sample,
    a missing argument, a failing function — is a ``ValueError`` (or its own error) when the trainer is made rather
    than deep inside the first compilation."""
    from jaxirl.objectives import airl, gail

    if objective is gail.OBJECTIVE or objective is airl.OBJECTIVE:
        return
    import jax.numpy as jnp

    params, inputs = models.example_batch(model)
    log_pi = jnp.zeros((2,))

    def check(field, fn, *args, shape=(2,)):
        out = jax.eval_shape(fn, *args)
        if getattr(out, "shape", None) != shape or not jnp.issubdtype(out.dtype, jnp.floating):
            what = f"one float per sample, shape {shape}" if shape else "one float, shape ()"
            raise ValueError(f"{field}: objective {objective.name!r} must return {what}, got "
                             f"{getattr(out, 'shape', type(out).__name__)} of dtype {getattr(out, 'dtype', None)}")

    lp = log_pi if objective.uses_log_prob else None
    check("logit", lambda p: objective.logit(model, p, inputs, lp, 0.99), params)
    check("generator_reward", lambda p: objective.generator_reward(model, p, inputs, log_pi, 0.99, reward_type,
                                                                   maxent, 1.0), params)
    check("expert_loss", objective.expert_loss, log_pi)
    check("policy_loss", objective.policy_loss, log_pi)
    check("absorbing_reward", lambda x: objective.absorbing_reward(x, reward_type), jnp.zeros(()), shape=())


def _dce():
    """JAX's dead-code elimination of a jaxpr (``dce_jaxpr(jaxpr, used_outputs) -> (jaxpr, used_inputs)``), or
    ``None`` where this jax does not have it where we look (then :func:`reads_actions` probes with NaN)."""
    try:
        from jax._src.interpreters.partial_eval import dce_jaxpr
    except ImportError:
        return None
    return dce_jaxpr


def reads_actions(objective: Objective, model: models.RewardModel, discount=0.99) -> str | None:
    """Which of the expert side's functions depends on the expert's actions: ``"logit"`` (the objective's, with no
    ``log π``) or ``"score"`` (the network's output, which the gradient penalty differentiates), else ``None``.

    For demonstrations without actions (:func:`jaxirl.data.without_actions`), whose expert batch holds zero
    placeholders. Decided on the traced program, nothing run: an input that dead-code elimination keeps is read (a
    value multiplied by 0 is read too — NaN × 0 is NaN). Without that pass (a jax that moved it), the functions run
    once on NaN actions, which misses a read that does no arithmetic on them (e.g. ``argmax``)."""
    import jax.numpy as jnp

    if isinstance(discount, jax.core.Tracer):  # a swept γ: what reads the actions does not depend on its value
        discount = 0.99
    lp = np.zeros((2,), np.float32) if objective.uses_log_prob else None  # (numpy: never a tracer)
    fns = {"logit": lambda p, x, a: objective.logit(model, p, x.replace(action=a), lp, discount),
           "score": lambda p, x, a: models.score(model, p, x.replace(action=a), discount)}
    dce = _dce()
    if dce is not None:
        params, inputs = models.example_batch(model)
        for name, fn in fns.items():
            closed = jax.make_jaxpr(lambda p, a: fn(p, inputs, a))(params, inputs.action)
            _, used = dce(closed.jaxpr, [True] * len(closed.jaxpr.outvars))
            if used[-1]:  # the action is the last input (after the parameters' leaves)
                return name
        return None
    with jax.ensure_compile_time_eval():  # concrete values, also where this is called while tracing (a sweep)
        params = models.init(model, jax.random.PRNGKey(0))
        inputs = models.example_batch(model)[1]
        for name, fn in fns.items():
            if np.isnan(np.asarray(fn(params, inputs, jnp.full_like(inputs.action, jnp.nan)))).any():
                return name
    return None


def optimizer(config: DiscriminatorConfig) -> optax.GradientTransformation:
    return optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.scale_by_adam())


def step(
    objective: Objective,
    model: models.RewardModel,
    config: DiscriminatorConfig,
    params: models.RewardParams,
    opt_state,
    expert: models.RewardInputs,
    policy: models.RewardInputs,
    expert_log_pi,
    policy_log_pi,
    discount,
    key: jax.Array,
):
    """One gradient step on the discriminator loss; returns ``(params, opt_state, metrics)``."""

    def loss_fn(net):
        p = params.replace(net=net)
        le = objective.logit(model, p, expert, expert_log_pi, discount)
        lp = objective.logit(model, p, policy, policy_log_pi, discount)
        la = models.absorbing_score(model, p) if model.absorbing else None
        if la is None:
            loss = discriminator_loss(le, lp, objective.expert_loss, objective.policy_loss)
        else:
            loss = absorbing_lib.discriminator_loss(le, lp, la, expert.terminated, policy.terminated,
                                                    objective.expert_loss, objective.policy_loss)
        pen = penalty_lib.gradient_penalty(
            config.penalty, lambda x: models.score(model, p, x, discount), expert, policy, key
        )
        metrics = {**objective.metrics(le, lp), "disc_loss": loss, "disc_penalty": pen}
        if la is not None:
            metrics["disc_absorbing_score"] = la
        return loss + config.grad_penalty * pen, metrics

    (_, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(params.net)
    updates, opt_state = optimizer(config).update(grads, opt_state, params.net)
    net = optax.apply_updates(params.net, jax.tree.map(lambda u: -config.learning_rate * u, updates))
    metrics["disc_grad_norm"] = optax.tree.norm(grads)
    return params.replace(net=net), opt_state, metrics
