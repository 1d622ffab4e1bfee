"""Learned reward models: a static structure (:class:`RewardModel`) plus a params pytree (:class:`RewardParams`).

Three kinds, one code path switched by the static ``kind``:

* ``"mlp"``: a plain reward network ``r(s)``, ``r(s, a)`` or ``r(s, a, s')`` (``inputs`` = ``"s"``,
  ``"sa"``, ``"sas"``).
* ``"gail"``: the GAIL discriminator of Ho & Ermon (2016) as a *logit* network ``ℓ(s, a)`` with
  ``D = σ(ℓ)`` the probability that a sample is the expert's (same ``inputs`` choices, default ``"sa"``).
* ``"airl"``: the AIRL discriminator score of Fu et al. (2018), eq. 4 / §5::

      f(s, a, s') = g(s[, a]) + γ h(s') − h(s)

  with ``g`` the reward approximator (state-only, ``inputs="s"``, or state-action, ``inputs="sa"``) and
  ``h`` a state potential (reward shaping, Ng et al. 1999). At a *terminated* transition the next state
  is absorbing and ``h(s')`` counts as 0. The reward to re-use after training is ``g``.

Discrete actions (int indices) are one-hot encoded; continuous ones are used as given. With
``normalize=True`` observations (``s`` and ``s'``) pass through a :class:`jaxirl.nets.RunningNorm` whose
statistics live in ``RewardParams.norm`` and are updated with :func:`update_norm` (not by gradients).

With ``absorbing=True`` the model also learns one scalar, ``net["absorbing"]``: its score (GAIL logit,
AIRL ``f``) for the absorbing state that follows every terminated episode (Kostrikov et al. 2019, DAC; see
:mod:`jaxirl.objectives.absorbing`). All absorbing states look alike, so one number is the whole of what a
network with an "absorbing" input flag would learn about them. The score is ``absorbing_scale`` times that
parameter: Adam moves a bare scalar by about the learning rate per step, far slower than a network output
(which sums the moves of many weights), so the scale sets how fast the absorbing state's score can follow
the live states' scores (about ``absorbing_scale × learning rate`` per discriminator update).

Only ``RewardParams.net`` is trained; :func:`reward_fn` turns ``(model, params)`` into a plain callable
``(obs, action, next_obs) -> reward`` for user code.
"""

from __future__ import annotations

from typing import Any, Optional

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxirl import nets

KINDS = {"mlp": ("s", "sa", "sas"), "gail": ("s", "sa", "sas"), "airl": ("s", "sa")}
DEFAULT_INPUTS = {"mlp": "sa", "gail": "sa", "airl": "s"}
GAIL_REWARDS = ("gail", "logit", "log_d")
# score of the absorbing state = DEFAULT_ABSORBING_SCALE x its parameter unless a model says otherwise: the score
# has to travel a few units (log of the expert's over the policy's termination rate) within a run
DEFAULT_ABSORBING_SCALE = 10.0


@struct.dataclass
class RewardInputs:
    """Encoded model inputs with leading batch dims: float obs, float (one-hot) actions, next obs, done."""

    obs: jax.Array
    action: jax.Array
    next_obs: jax.Array
    terminated: jax.Array


@struct.dataclass
class RewardParams:
    """``net``: trainable flax params (``{"score": ..., "potential": ...}``); ``norm``: input statistics."""

    net: Any
    norm: Optional[nets.RunningNorm]


@struct.dataclass
class RewardModel:
    """Static description of a reward model (no array leaves; hashable, safe to close over in jit)."""

    kind: str = struct.field(pytree_node=False)
    obs_size: int = struct.field(pytree_node=False)
    action_size: int = struct.field(pytree_node=False)  # width of the encoded action
    discrete: bool = struct.field(pytree_node=False, default=False)
    inputs: str = struct.field(pytree_node=False, default="sa")
    hidden: tuple = struct.field(pytree_node=False, default=(64, 64))
    potential_hidden: tuple = struct.field(pytree_node=False, default=(64, 64))
    activation: str = struct.field(pytree_node=False, default="relu")
    normalize: bool = struct.field(pytree_node=False, default=False)
    absorbing: bool = struct.field(pytree_node=False, default=False)
    absorbing_scale: float = struct.field(pytree_node=False, default=DEFAULT_ABSORBING_SCALE)

    def validate(self) -> "RewardModel":
        if self.kind not in KINDS:
            raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.inputs not in KINDS[self.kind]:
            raise ValueError(
                f"inputs: for a {self.kind!r} reward expected one of {', '.join(KINDS[self.kind])}, got {self.inputs!r}"
            )
        for name in ("obs_size", "action_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name}: expected a positive int, got {v!r}")
        for name in ("hidden", "potential_hidden"):
            v = getattr(self, name)
            if not isinstance(v, tuple) or not all(isinstance(w, int) and w > 0 for w in v):
                raise ValueError(f"{name}: expected a tuple of positive ints (may be empty), got {v!r}")
        nets.check_activation(self.activation)
        check_absorbing_scale(self.absorbing_scale)
        return self


def check_absorbing_scale(x):
    """A finite number > 0 (a static setting: the model's structure), else a ``ValueError`` naming it."""
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not np.isfinite(x) or x <= 0:
        raise ValueError(f"absorbing_scale: expected a finite number > 0, got {x!r}")


def make_reward_model(
    kind: str,
    env: Any = None,
    *,
    inputs: Optional[str] = None,
    obs_size: Optional[int] = None,
    action_size: Optional[int] = None,
    num_actions: Optional[int] = None,
    hidden=(64, 64),
    potential_hidden=None,
    activation: str = "relu",
    normalize: bool = False,
    absorbing: bool = False,
    absorbing_scale: float = DEFAULT_ABSORBING_SCALE,
) -> RewardModel:
    """Build and validate a :class:`RewardModel`; sizes come from ``env`` (a ``VecEnv``) or the keywords.

    For a discrete action space pass ``num_actions`` (or an env with ``discrete=True``): actions are then
    one-hot encoded. ``potential_hidden`` (AIRL's ``h``) defaults to ``hidden``. ``absorbing``: also learn
    the score of the absorbing state after termination, ``absorbing_scale`` times its parameter (see the
    module docstring).
    """
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    if env is not None:
        obs_size = env.observation_size
        num_actions = env.num_actions if env.discrete else None
        action_size = env.action_size
    if num_actions is not None:
        discrete, action_size = True, num_actions
    else:
        discrete = False
    hidden = tuple(hidden)
    model = RewardModel(
        kind=kind,
        obs_size=obs_size,
        action_size=action_size,
        discrete=discrete,
        inputs=DEFAULT_INPUTS[kind] if inputs is None else inputs,
        hidden=hidden,
        potential_hidden=hidden if potential_hidden is None else tuple(potential_hidden),
        activation=activation,
        normalize=bool(normalize),
        absorbing=bool(absorbing),
        absorbing_scale=absorbing_scale,
    )
    return model.validate()


def _score_net(model: RewardModel) -> nets.MLP:
    return nets.MLP(hidden=model.hidden, out_dim=1, activation=model.activation)


def _potential_net(model: RewardModel) -> nets.MLP:
    return nets.MLP(hidden=model.potential_hidden, out_dim=1, activation=model.activation)


def _score_width(model: RewardModel) -> int:
    width = {"s": model.obs_size, "sa": model.obs_size + model.action_size, "sas": 2 * model.obs_size}
    extra = model.action_size if model.inputs == "sas" else 0
    return width[model.inputs] + extra


def init(model: RewardModel, key: jax.Array) -> RewardParams:
    """Initial parameters (and identity input statistics when ``model.normalize``)."""
    k_score, k_pot = jax.random.split(key)
    net = {"score": _score_net(model).init(k_score, jnp.zeros((1, _score_width(model))))}
    if model.kind == "airl":
        net["potential"] = _potential_net(model).init(k_pot, jnp.zeros((1, model.obs_size)))
    if model.absorbing:
        net["absorbing"] = jnp.zeros((), jnp.float32)
    norm = nets.RunningNorm.create(model.obs_size) if model.normalize else None
    return RewardParams(net=net, norm=norm)


def encode(model: RewardModel, obs, action, next_obs=None, terminated=None) -> RewardInputs:
    """Encode raw ``(obs, action, next_obs, terminated)`` (leading batch dims) as float model inputs."""
    obs = jnp.asarray(obs, jnp.float32)
    action = jnp.asarray(action)
    if model.discrete:
        if action.ndim == obs.ndim:  # (..., 1) index arrays
            action = action[..., 0]
        action = jax.nn.one_hot(action.astype(jnp.int32), model.action_size, dtype=jnp.float32)
    else:
        action = action.astype(jnp.float32)
    next_obs = obs if next_obs is None else jnp.asarray(next_obs, jnp.float32)
    if terminated is None:
        terminated = jnp.zeros(obs.shape[:-1], jnp.float32)
    return RewardInputs(obs, action, next_obs, jnp.asarray(terminated, jnp.float32))


def encode_transition(model: RewardModel, transition) -> RewardInputs:
    """:func:`encode` applied to a :class:`jaxirl.envs.base.Transition`."""
    return encode(model, transition.obs, transition.action, transition.next_obs, transition.terminated)


def update_norm(model: RewardModel, params: RewardParams, inputs: RewardInputs) -> RewardParams:
    """Fold the observations of a batch into the input statistics (no-op without ``normalize``)."""
    if not model.normalize:
        return params
    norm = nets.update(params.norm, jnp.concatenate([inputs.obs, inputs.next_obs], axis=0))
    return params.replace(norm=norm)


def _norm_obs(model: RewardModel, params: RewardParams, x):
    return nets.normalize(params.norm, x) if model.normalize else x


def _apply(module, variables, x):
    lead = x.shape[:-1]
    return module.apply(variables, x.reshape((-1, x.shape[-1])))[:, 0].reshape(lead)


def _score_input(model: RewardModel, s, a, s_next):
    parts = {"s": (s,), "sa": (s, a), "sas": (s, a, s_next)}[model.inputs]
    return jnp.concatenate(parts, axis=-1)


def airl_terms(model: RewardModel, params: RewardParams, inputs: RewardInputs, discount) -> dict:
    """AIRL's pieces ``g``, ``h(s)``, ``h(s')`` and ``f = g + γ (1 − terminated) h(s') − h(s)`` (Fu et al. 2018)."""
    if model.kind != "airl":
        raise ValueError(f"airl_terms: needs an 'airl' reward model, got kind {model.kind!r}")
    s = _norm_obs(model, params, inputs.obs)
    s_next = _norm_obs(model, params, inputs.next_obs)
    g = _apply(_score_net(model), params.net["score"], _score_input(model, s, inputs.action, s_next))
    pot = _potential_net(model)
    h = _apply(pot, params.net["potential"], s)
    h_next = _apply(pot, params.net["potential"], s_next)
    f = g + discount * (1.0 - inputs.terminated) * h_next - h
    return {"g": g, "h": h, "h_next": h_next, "f": f}


def score(model: RewardModel, params: RewardParams, inputs: RewardInputs, discount=0.99) -> jax.Array:
    """The network's output: ``r`` (``"mlp"``), the logit ``ℓ`` (``"gail"``) or ``f`` (``"airl"``).

    ``discount`` is only used by ``"airl"`` (the shaping ``γ``; a traced value).
    """
    if model.kind == "airl":
        return airl_terms(model, params, inputs, discount)["f"]
    s = _norm_obs(model, params, inputs.obs)
    s_next = _norm_obs(model, params, inputs.next_obs)
    return _apply(_score_net(model), params.net["score"], _score_input(model, s, inputs.action, s_next))


def absorbing_score(model: RewardModel, params: RewardParams) -> jax.Array:
    """The learned score of the absorbing state (GAIL: its logit; AIRL: ``f``, with ``h`` of it fixed at 0)."""
    if not model.absorbing:
        raise ValueError("absorbing_score: the reward model was built with absorbing=False")
    return model.absorbing_scale * params.net["absorbing"]


def default_which(reward_type: str, source: str) -> str:
    """The re-usable form of a logit network's reward: the one its generator was trained with,
    ``reward_type``, which must be one this module computes (:data:`GAIL_REWARDS`). An objective of one's own
    with another reward type is refused rather than silently replaced by the logit: name a form with
    ``which``. ``source`` names the run or objective in the message."""
    if reward_type not in GAIL_REWARDS:
        raise ValueError(f"which: {source} trained its generator on reward_type {reward_type!r}, which the "
                         f"re-usable reward does not compute; name one of {', '.join(GAIL_REWARDS)} (a form of the "
                         "discriminator's logit: which= in Python, train.reward_which= for jaxirl expert), or "
                         "compute yours from which='logit'")
    return reward_type


def _check_which(model: RewardModel, which: Optional[str]) -> str:
    allowed = {"mlp": ("r",), "airl": ("g",), "gail": GAIL_REWARDS}[model.kind]
    which = allowed[0] if which is None and model.kind != "gail" else which
    which = "logit" if which is None else which
    if which not in allowed:
        raise ValueError(f"which: for a {model.kind!r} reward model expected one of {', '.join(allowed)}, got {which!r}")
    return which


def learned_reward(model: RewardModel, params: RewardParams, inputs: RewardInputs, which: Optional[str] = None):
    """The reward to re-use after training (see :func:`reward_fn` for ``which``)."""
    which = _check_which(model, which)
    if model.kind == "mlp":
        return score(model, params, inputs)
    if model.kind == "airl":
        return airl_terms(model, params, inputs, 0.0)["g"]
    logit = score(model, params, inputs)
    return {"gail": jax.nn.softplus(logit), "logit": logit, "log_d": jax.nn.log_sigmoid(logit)}[which]


def _check_shapes(model: RewardModel, obs, action, next_obs) -> None:
    """Shapes (static, so also under jit) of a learned reward's inputs: ``obs (..., obs_size)``, ``action
    (..., action_size)`` (discrete: ``(...)`` or ``(..., 1)`` indices), ``next_obs`` like ``obs``."""
    obs_shape, act_shape = tuple(jnp.shape(obs)), tuple(jnp.shape(action))
    if len(obs_shape) < 1 or obs_shape[-1] != model.obs_size:
        raise ValueError(f"obs: expected shape (..., {model.obs_size}), got {obs_shape}")
    lead = obs_shape[:-1]
    wanted = [lead, lead + (1,)] if model.discrete else [lead + (model.action_size,)]
    if act_shape not in wanted:
        raise ValueError(f"action: expected shape {' or '.join(map(str, wanted))} for obs of shape {obs_shape}, "
                         f"got {act_shape}")
    if next_obs is not None and tuple(jnp.shape(next_obs)) != obs_shape:
        raise ValueError(f"next_obs: expected the shape of obs {obs_shape}, got {tuple(jnp.shape(next_obs))}")
    if model.discrete:  # indices: a float would be truncated, one out of range one-hot encodes to all zeros
        if not jnp.issubdtype(jnp.result_type(action), jnp.integer):
            raise ValueError(f"action: discrete actions are integer indices, got dtype {jnp.result_type(action)}")
        if not isinstance(action, jax.core.Tracer):  # values known: check them (not under jit)
            from jaxirl.data import index_problem

            if problem := index_problem(action, model.action_size):
                raise ValueError(f"action: {problem}")


def reward_fn(model: RewardModel, params: RewardParams, which: Optional[str] = None):
    """A plain callable ``(obs, action, next_obs=None) -> reward`` (leading batch dims allowed).

    ``"mlp"``: the network ``r``. ``"airl"``: the disentangled reward ``g(s[, a])`` of Fu et al. (2018).
    ``"gail"``: a reward derived from the discriminator, ``which`` = ``"logit"`` (default, ``log D −
    log(1 − D)``), ``"gail"`` (``−log(1 − D)``) or ``"log_d"`` (``log D``); GAIL does not recover a
    reward, this is the signal its generator was trained on.
    """
    _check_which(model, which)

    def fn(obs, action, next_obs=None):
        if next_obs is None and model.inputs == "sas" and model.kind != "airl":
            raise ValueError("next_obs: this reward model takes (s, a, s') inputs; pass next_obs")
        _check_shapes(model, obs, action, next_obs)
        return learned_reward(model, params, encode(model, obs, action, next_obs), which)

    return fn
