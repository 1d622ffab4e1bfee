"""Hyperparameters of :mod:`jaxirl.rl.ppo` and their validation.

Numeric fields are traced pytree leaves, so ``jax.vmap`` over e.g. the learning rate works; shapes,
counts, network sizes and names are static. :func:`check_config` raises ``ValueError`` naming the field.
"""

from __future__ import annotations

import jax
import numpy as np
from flax import struct

from jaxirl import nets
from jaxirl.config import finite_number
from jaxirl.envs.base import VecEnv

_STATIC = dict(pytree_node=False)


@struct.dataclass
class PPOConfig:
    """PPO hyperparameters. The numeric fields of :func:`traced_fields` are traced (vmappable); the rest are static
    (counts, sizes, names, switches, and the numbers ``adam_eps`` and ``init_log_std``).

    ``policy_head="auto"`` picks ``categorical`` for discrete envs and ``tanh_gaussian`` otherwise.
    ``anneal_lr_updates > 0`` decays the learning rate linearly to 0 over that many updates.
    ``actor_warmup_updates = W > 0`` scales the policy's parameter steps by ``min(1, u / W)`` at update ``u``
    (0, 1, ...): the actor stays put at first and joins in linearly, while the critic learns at the full rate
    (Adam's statistics see every gradient; only the applied step is scaled) — for a policy that starts
    good (a behavioural-cloning warm start, :mod:`jaxirl.bc`) and a critic and reward that start untrained.
    ``shuffle_groups = G`` draws every minibatch in equal parts from ``G`` consecutive blocks of envs, each
    block shuffled on its own (1: one shuffle over the whole batch). With a run's envs split over ``G``
    devices (:func:`jaxirl.parallel.shard_envs`) each device's part of every minibatch is then its own envs'
    data, and the PPO epochs divide among the devices instead of being repeated on each.
    """

    learning_rate: float = 3e-4
    discount: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    reward_scale: float = 1.0
    num_steps: int = struct.field(default=64, **_STATIC)
    num_minibatches: int = struct.field(default=4, **_STATIC)
    update_epochs: int = struct.field(default=4, **_STATIC)
    hidden: tuple = struct.field(default=(64, 64), **_STATIC)
    activation: str = struct.field(default="tanh", **_STATIC)
    policy_head: str = struct.field(default="auto", **_STATIC)
    normalize_obs: bool = struct.field(default=True, **_STATIC)
    normalize_advantages: bool = struct.field(default=True, **_STATIC)
    state_dependent_std: bool = struct.field(default=False, **_STATIC)
    init_log_std: float = struct.field(default=0.0, **_STATIC)
    anneal_lr_updates: int = struct.field(default=0, **_STATIC)
    actor_warmup_updates: int = struct.field(default=0, **_STATIC)
    adam_eps: float = struct.field(default=1e-5, **_STATIC)
    shuffle_groups: int = struct.field(default=1, **_STATIC)


# (field, lower bound, upper bound, lower bound allowed) for the traced fields, checked when concrete.
_RANGES = (
    ("learning_rate", 0.0, None, False),
    ("discount", 0.0, 1.0, True),
    ("gae_lambda", 0.0, 1.0, True),
    ("clip_eps", 0.0, 1.0, False),
    ("ent_coef", 0.0, None, True),
    ("vf_coef", 0.0, None, True),
    ("max_grad_norm", 0.0, None, False),
    ("reward_scale", 0.0, None, False),
)


def traced_fields() -> tuple[str, ...]:
    """Names of the numeric (traced, vmappable) fields of :class:`PPOConfig`."""
    return tuple(name for name, *_ in _RANGES)


def stack_lanes(config: PPOConfig, num_lanes: int, sweep: dict | None = None) -> PPOConfig:
    """``config`` with every traced field an array of ``num_lanes`` values (for ``jax.vmap``): the swept
    fields take their listed values, the others are repeated."""
    import jax.numpy as jnp

    sweep = dict(sweep or {})
    updates = {}
    for name in traced_fields():
        values = sweep.pop(name, None)
        if values is None:
            values = [getattr(config, name)] * num_lanes
        if len(values) != num_lanes:
            raise ValueError(f"{name}: expected {num_lanes} values to sweep, got {len(values)}")
        updates[name] = jnp.asarray(values, jnp.float32)
    if sweep:
        raise ValueError(f"sweep: {sorted(sweep)} are not traced PPO fields; expected some of {traced_fields()}")
    out = config.replace(**updates)
    check_config(out)
    return out


def _is_pos_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x > 0


def check_config(config: PPOConfig, env: VecEnv | None = None) -> None:
    """Raise ``ValueError`` naming the field for bad values (traced fields only when concrete)."""
    for name, lo, hi, closed in _RANGES:
        x = getattr(config, name)
        if isinstance(x, jax.core.Tracer):
            continue
        a = np.asarray(x)
        if not np.issubdtype(a.dtype, np.number) or not np.all(np.isfinite(a)):
            raise ValueError(f"{name}: expected a finite number, got {x!r}")
        if lo is not None and (np.any(a < lo) or (not closed and np.any(a == lo))):
            raise ValueError(f"{name}: expected a value {'>=' if closed else '>'} {lo}, got {x!r}")
        if hi is not None and np.any(a > hi):
            raise ValueError(f"{name}: expected a value <= {hi}, got {x!r}")
    for name in ("num_steps", "num_minibatches", "update_epochs", "shuffle_groups"):
        if not _is_pos_int(getattr(config, name)):
            raise ValueError(f"{name}: expected a positive int, got {getattr(config, name)!r}")
    for name in ("anneal_lr_updates", "actor_warmup_updates"):
        v = getattr(config, name)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"{name}: expected an int >= 0, got {v!r}")
    for name in ("normalize_obs", "normalize_advantages", "state_dependent_std"):
        if not isinstance(getattr(config, name), bool):
            raise ValueError(f"{name}: expected true or false, got {getattr(config, name)!r}")
    lo, hi = nets.LOG_STD_MIN, nets.LOG_STD_MAX
    if not finite_number(config.init_log_std) or not lo <= config.init_log_std <= hi:
        raise ValueError(f"init_log_std: expected a number in [{lo}, {hi}] (the policy's log-std bounds), "
                         f"got {config.init_log_std!r}")
    if not finite_number(config.adam_eps) or not config.adam_eps > 0:
        raise ValueError(f"adam_eps: expected a finite number > 0, got {config.adam_eps!r}")
    if not isinstance(config.hidden, (tuple, list)) or not all(_is_pos_int(h) for h in config.hidden):
        raise ValueError(f"hidden: expected a tuple of positive ints, got {config.hidden!r}")
    nets.check_activation(config.activation)
    if config.policy_head != "auto":
        nets.check_head(config.policy_head)
    if env is not None:
        if resolve_head(config, env) == "categorical":  # no Gaussian spread to initialise or to make per-state
            if config.state_dependent_std:
                raise ValueError("state_dependent_std: a categorical policy (discrete actions) has no std; expected "
                                 "false")
            if config.init_log_std != 0.0:
                raise ValueError(f"init_log_std: a categorical policy (discrete actions) has no std; expected 0.0 "
                                 f"(the default), got {config.init_log_std!r}")
        if (config.num_steps * env.num_envs) % config.num_minibatches:
            raise ValueError(
                f"num_minibatches: must divide num_steps * num_envs = {config.num_steps * env.num_envs}, "
                f"got {config.num_minibatches}"
            )
        check_shuffle_groups(config.shuffle_groups, config.num_steps, env.num_envs, config.num_minibatches)
        if config.normalize_advantages and config.num_steps * env.num_envs < 2 * config.num_minibatches:
            raise ValueError(
                f"num_minibatches: minibatches of one sample have advantage 0 after normalize_advantages (no policy "
                f"gradient); expected at most num_steps * num_envs / 2 = {config.num_steps * env.num_envs // 2}, "
                f"got {config.num_minibatches}"
            )


def check_anneal(anneal_lr_updates: int, num_updates: int, name: str = "anneal_lr_updates") -> None:
    """A learning rate annealed to 0 before the run's last update (``0 < anneal_lr_updates < num_updates``) would
    leave the remaining updates at rate 0: a ``ValueError`` naming ``name`` (also for anything but an int >= 0: a
    count is static, and a swept one crashed here with JAX's TracerBoolConversionError)."""
    if isinstance(anneal_lr_updates, bool) or not isinstance(anneal_lr_updates, (int, np.integer)) or anneal_lr_updates < 0:
        raise ValueError(f"{name}: expected an int >= 0 (a static count: it cannot be swept), got {anneal_lr_updates!r}")
    if 0 < anneal_lr_updates < num_updates:
        raise ValueError(f"{name}: the learning rate would reach 0 after {anneal_lr_updates} of the run's "
                         f"{num_updates} updates; expected 0 (no annealing) or >= {num_updates}")


def check_shuffle_groups(groups: int, num_steps: int, num_envs: int, num_minibatches: int,
                         name: str = "shuffle_groups") -> None:
    """``groups`` must divide the envs and each minibatch into equal parts (a ``ValueError`` naming ``name``)."""
    minibatch = num_steps * num_envs // num_minibatches
    if num_envs % groups or minibatch % groups:
        raise ValueError(f"{name}: must divide num_envs = {num_envs} and the minibatch size "
                         f"num_steps * num_envs / num_minibatches = {minibatch}, got {groups}")


def resolve_head(config: PPOConfig, env: VecEnv) -> str:
    """The policy head for ``env``; a continuous head on a discrete env (or vice versa) is an error."""
    if config.policy_head == "auto":
        return "categorical" if env.discrete else "tanh_gaussian"
    if (config.policy_head == "categorical") != env.discrete:
        kind = "discrete" if env.discrete else "continuous"
        allowed = "categorical" if env.discrete else "gaussian or tanh_gaussian"
        raise ValueError(f"policy_head: {env.name} has {kind} actions, expected {allowed}, got {config.policy_head!r}")
    return config.policy_head
